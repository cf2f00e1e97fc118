//! `flux create image update`: [`ImageUpdateFlags`] and the
//! `ImageUpdateAutomation` builder.

use super::{
    Error, IMAGE_V1, Meta, assemble, duration, map, name_ref, nonempty, put_opt, s, validate,
};
use crate::value::{Map, Value};

/// Flags of `flux create image update`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageUpdateFlags {
    /// `--git-repo-ref`.
    pub git_repo_ref: String,
    /// `--git-repo-namespace`.
    pub git_repo_namespace: Option<String>,
    /// `--git-repo-path`.
    pub git_repo_path: Option<String>,
    /// `--checkout-branch`.
    pub checkout_branch: String,
    /// `--push-branch`.
    pub push_branch: Option<String>,
    /// `--commit-template`.
    pub commit_template: Option<String>,
    /// `--author-name`.
    pub author_name: String,
    /// `--author-email`.
    pub author_email: String,
    /// `--signing-key-secret`.
    pub signing_key_secret: Option<String>,
    /// `--signing-key-type` (`gpg` or `ssh`).
    pub signing_key_type: Option<String>,
}

/// An `ImageUpdateAutomation` (`flux create image update NAME …`).
pub fn image_update(meta: &Meta, o: &ImageUpdateFlags) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    let missing = |flag, message| Err(Error::Flags { flag, message });
    if o.git_repo_ref.is_empty() {
        return missing(
            "git-repo-ref",
            "a reference to a GitRepository is required (--git-repo-ref)",
        );
    }
    if o.checkout_branch.is_empty() {
        return missing(
            "checkout-branch",
            "the Git repository branch is required (--checkout-branch)",
        );
    }
    if o.author_name.is_empty() {
        return missing("author-name", "the author name is required (--author-name)");
    }
    if o.author_email.is_empty() {
        return missing(
            "author-email",
            "the author email is required (--author-email)",
        );
    }
    let key_type = nonempty(&o.signing_key_type);
    let key_secret = nonempty(&o.signing_key_secret);
    if key_type.is_some() && key_secret.is_none() {
        return missing(
            "signing-key-type",
            "--signing-key-type requires --signing-key-secret",
        );
    }
    if key_type.is_some_and(|t| t != "gpg" && t != "ssh") {
        return missing(
            "signing-key-type",
            "--signing-key-type must be one of: gpg, ssh",
        );
    }
    let labels = validate::labels(&meta.labels)?;

    let mut source = Map::new();
    source.insert("kind", s("GitRepository"));
    source.insert("name", s(&o.git_repo_ref));
    put_opt(&mut source, "namespace", o.git_repo_namespace.as_deref());

    let mut author = Map::new();
    author.insert("name", s(&o.author_name));
    author.insert("email", s(&o.author_email));
    let mut commit = Map::new();
    commit.insert("author", Value::Map(author));
    if let Some(secret) = key_secret {
        let mut k = Map::new();
        k.insert("secretRef", name_ref(secret));
        put_opt(&mut k, "type", key_type);
        commit.insert("signingKey", Value::Map(k));
    }
    put_opt(&mut commit, "messageTemplate", o.commit_template.as_deref());

    let mut git = Map::new();
    git.insert(
        "checkout",
        map(vec![("ref", map(vec![("branch", s(&o.checkout_branch))]))]),
    );
    git.insert("commit", Value::Map(commit));
    if let Some(b) = nonempty(&o.push_branch) {
        git.insert("push", map(vec![("branch", s(b))]));
    }

    let mut spec = Map::new();
    spec.insert("sourceRef", Value::Map(source));
    spec.insert("git", Value::Map(git));
    spec.insert("interval", duration(meta.interval));
    if let Some(p) = nonempty(&o.git_repo_path) {
        spec.insert(
            "update",
            map(vec![("strategy", s("Setters")), ("path", s(p))]),
        );
    }
    Ok(assemble(
        IMAGE_V1,
        "ImageUpdateAutomation",
        meta,
        &labels,
        spec,
    ))
}
