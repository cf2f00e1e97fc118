//! `.sourceignore` rules: which files of a checkout go into an artifact.
//!
//! Patterns use gitignore syntax. Like source-controller, a [`Filter`] is made
//! of, from lowest to highest priority:
//!
//! 1. the VCS patterns [`VCS_PATTERNS`] (`.git/`, `.gitignore`, …), always;
//! 2. the default patterns [`DEFAULT_PATTERNS`] (images, archives, CI files,
//!    `**/.sops.yaml`…), **only when there is no user pattern at all**;
//! 3. every `.sourceignore` file of the tree, each scoped to its directory,
//!    shallower directories first;
//! 4. the spec's `ignore` text, scoped to the root.
//!
//! For a path, the highest-priority rule set with a match decides, and inside
//! one set the last matching pattern wins (so `!keep.yaml` re-includes).
//!
//! ```
//! use gitops_source::sourceignore::Filter;
//!
//! let f = Filter::from_patterns(None)?;
//! assert!(f.is_ignored("logo.png", false));
//! assert!(f.is_ignored(".git", true));
//! assert!(!f.is_ignored("deploy.yaml", false));
//!
//! // A user pattern replaces the defaults (but never the VCS patterns).
//! let f = Filter::from_patterns(Some("*.md\n"))?;
//! assert!(f.is_ignored("README.md", false));
//! assert!(!f.is_ignored("logo.png", false));
//! assert!(f.is_ignored(".git", true));
//! # Ok::<(), gitops_source::sourceignore::Error>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Name of the per-directory ignore file.
pub const IGNORE_FILE: &str = ".sourceignore";

/// Patterns that always apply (fluxcd/pkg `sourceignore.ExcludeVCS`).
pub const VCS_PATTERNS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Patterns that apply only when the user gave none (fluxcd/pkg
/// `ExcludeExt`, `ExcludeCI`, `ExcludeExtra`).
pub const DEFAULT_PATTERNS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// Why ignore rules could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `.sourceignore` file or a directory could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A pattern is not valid gitignore syntax.
    #[error("invalid ignore pattern {pattern:?} in {origin}")]
    Pattern {
        /// Where the pattern came from (a file path or `spec.ignore`).
        origin: String,
        /// The pattern.
        pattern: String,
        /// The cause.
        #[source]
        source: Box<ignore::Error>,
    },
}

/// One rule set scoped to a directory (`""` = the root).
#[derive(Debug, Clone)]
struct Scoped {
    dir: String,
    rules: Gitignore,
}

/// Decides which paths of a tree are left out of an artifact.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Lowest priority first.
    sets: Vec<Scoped>,
}

fn build(dir: &str, origin: &str, lines: &[&str]) -> Result<Scoped, Error> {
    let mut b = GitignoreBuilder::new("");
    for line in lines {
        // Flux skips comment lines and blank lines itself.
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        b.add_line(None, line).map_err(|source| Error::Pattern {
            origin: origin.to_owned(),
            pattern: (*line).to_owned(),
            source: Box::new(source),
        })?;
    }
    let rules = b.build().map_err(|source| Error::Pattern {
        origin: origin.to_owned(),
        pattern: String::new(),
        source: Box::new(source),
    })?;
    Ok(Scoped {
        dir: dir.to_owned(),
        rules,
    })
}

impl Filter {
    /// Rules from the defaults plus `spec_ignore` only (no `.sourceignore`
    /// files): what applies to a tree without ignore files.
    pub fn from_patterns(spec_ignore: Option<&str>) -> Result<Filter, Error> {
        Filter::assemble(Vec::new(), spec_ignore)
    }

    /// Load every `.sourceignore` below `root` (VCS directories are not
    /// entered, symlinks are not followed) and add `spec_ignore`.
    pub fn load(root: &Path, spec_ignore: Option<&str>) -> Result<Filter, Error> {
        let mut found = Vec::new();
        collect(root, "", &mut found)?;
        Filter::assemble(found, spec_ignore)
    }

    fn assemble(files: Vec<Scoped>, spec_ignore: Option<&str>) -> Result<Filter, Error> {
        let spec = match spec_ignore {
            Some(text) => {
                let lines: Vec<&str> = text.lines().collect();
                Some(build("", "spec.ignore", &lines)?)
            }
            None => None,
        };
        let user_patterns = files.iter().any(|s| !s.rules.is_empty())
            || spec.as_ref().is_some_and(|s| !s.rules.is_empty());
        let mut sets = vec![build("", "VCS defaults", VCS_PATTERNS)?];
        if !user_patterns {
            sets.push(build("", "defaults", DEFAULT_PATTERNS)?);
        }
        sets.extend(files);
        sets.extend(spec);
        Ok(Filter { sets })
    }

    /// Whether `path` (relative, `/`-separated) is excluded. Parents are
    /// taken into account: a file inside an ignored directory is ignored.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        for set in self.sets.iter().rev() {
            let rel = if set.dir.is_empty() {
                path
            } else {
                match path
                    .strip_prefix(set.dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(r) => r,
                    None => continue,
                }
            };
            match set.rules.matched_path_or_any_parents(rel, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

fn collect(root: &Path, rel: &str, out: &mut Vec<Scoped>) -> Result<(), Error> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let file = dir.join(IGNORE_FILE);
    match std::fs::symlink_metadata(&file) {
        Ok(m) if m.is_file() => {
            let text = std::fs::read_to_string(&file).map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
            let lines: Vec<&str> = text.lines().collect();
            out.push(build(rel, &file.display().to_string(), &lines)?);
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(Error::Read { path: file, source }),
    }
    let mut subdirs = Vec::new();
    let rd = std::fs::read_dir(&dir).map_err(|source| Error::Read {
        path: dir.clone(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        let ft = entry.file_type().map_err(|source| Error::Read {
            path: entry.path(),
            source,
        })?;
        if !ft.is_dir() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == ".git" {
            continue;
        }
        subdirs.push(name);
    }
    subdirs.sort();
    for name in subdirs {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        collect(root, &child, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_user_patterns() {
        let f = Filter::from_patterns(None).unwrap();
        for (p, d) in [
            ("a/b/pic.jpg", false),
            (".github", true),
            (".github/workflows/ci.yaml", false),
            ("deep/.sops.yaml", false),
            (".gitmodules", false),
            ("x/.git", true),
        ] {
            assert!(f.is_ignored(p, d), "{p} should be ignored");
        }
        assert!(!f.is_ignored("apps/deploy.yaml", false));
        assert!(!f.is_ignored("apps", true));
    }

    #[test]
    fn scoped_files_and_spec_priority() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/dev")).unwrap();
        std::fs::write(dir.path().join(".sourceignore"), "*.md\n# comment\n\n").unwrap();
        std::fs::write(
            dir.path().join("apps/.sourceignore"),
            "/secret.yaml\n!KEEP.md\n",
        )
        .unwrap();
        let f = Filter::load(dir.path(), Some("apps/dev/\n")).unwrap();
        assert!(f.is_ignored("README.md", false));
        assert!(f.is_ignored("apps/x.md", false));
        assert!(
            !f.is_ignored("apps/KEEP.md", false),
            "deeper file re-includes"
        );
        assert!(f.is_ignored("apps/secret.yaml", false));
        assert!(!f.is_ignored("secret.yaml", false), "anchored to apps/");
        assert!(!f.is_ignored("apps/dev2/secret.yaml", false));
        assert!(f.is_ignored("apps/dev", true));
        assert!(f.is_ignored("apps/dev/a.yaml", false));
        // User patterns exist, so the image default is off.
        assert!(!f.is_ignored("logo.png", false));
        assert!(f.is_ignored(".git", true));
    }

    #[test]
    fn bad_pattern_names_origin() {
        let err = Filter::from_patterns(Some("{a\n")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid ignore pattern \"{a\" in spec.ignore"),
            "{err}"
        );
    }
}
