//! The loop of [`run`](crate::run), step by step: fetch the branch the
//! objects are read from, pick and check the automation, choose the branch
//! to update, select the images, compute the change (and either show it or
//! push it), and fold the setters' changes into the [`Report`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gitops_core::flux::{FluxObject, GitSpec, ImagePolicy, ImageRepository, ImageUpdateAutomation};
use gitops_core::fs::{MemTree, RelPath};
use gitops_core::git::{GitTransport, Signature};
use gitops_core::registry::TagLister;
use gitops_core::url::redact;
use gitops_core::{ImageRef, Tag};
use gitops_image::{Exclusions, Policy};
use gitops_setters::apply::{self, Policies};
use gitops_setters::marker::{Field, PolicyId};
use gitops_setters::message::{self, AutomationObject, TemplateData};
use gitops_setters::report::ChangeSource;
use gitops_setters::v1::TagChooser;

use crate::chain;
use crate::secrets::{Scrubbed, secrets_of};
use crate::{
    ChangeLine, DEFAULT_NAMESPACE, Error, Found, LabelSelector, Options, Outcome, PolicyReport,
    Progress, RegistryChooser, Report, WorkloadChange, read_objects, writeback,
};

/// The loop. See the [crate docs](crate).
///
/// # Errors
/// [`Error`]; per-policy failures are in the report instead.
pub fn run<G, R>(
    git: &G,
    registry: &R,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, Error>
where
    G: GitTransport,
    R: TagLister + Sync,
{
    let url = opts.url.as_str();
    let first: Vec<String> = match &opts.branch {
        Some(b) => vec![b.clone()],
        None => vec!["main".to_owned(), "master".to_owned()],
    };
    let mut checkout = fetch(git, url, &first, progress)?;
    let mut found = read_objects(&checkout.tree);
    found.merge(opts.objects.iter().cloned());
    if found.automations.is_empty() {
        return Err(Error::NoAutomation {
            url: redact(url),
            branch: checkout.branch,
        });
    }
    let auto = pick_automation(&found, opts.automation.as_deref())?;
    if auto.spec.suspend == Some(true) {
        return Ok(suspended(&auto, url, checkout, found.warnings));
    }
    let spec = Checked::new(&auto)?;
    let wanted = spec.branch_to_update(opts.branch.as_deref(), &found, &checkout.branch)?;
    if wanted != checkout.branch {
        checkout = fetch(git, url, std::slice::from_ref(&wanted), progress)?;
    }
    let push_branch = spec.push_branch(&checkout.branch);

    let policies = spec.policies(&found);
    progress(Progress::Automation {
        name: spec.name.clone(),
        policies: policies.len(),
    });
    let repositories: Vec<&ImageRepository> = found.repositories.iter().collect();
    let selection = select(
        registry,
        &policies,
        &repositories,
        &spec.namespace,
        progress,
    );
    let chooser = opts.flux_v1.then(|| RegistryChooser::new(registry));
    let change = Change::new(&spec, &selection.policies, chooser.as_ref());

    progress(Progress::Updating {
        path: spec.dir.to_string(),
    });
    let (outcome, last) = if opts.dry_run {
        let (outcome, last) = dry_run(git, url, &checkout, &push_branch, &change)?;
        (outcome, Some(last))
    } else {
        push(
            git,
            url,
            opts,
            &checkout.branch,
            &push_branch,
            &change,
            progress,
        )?
    };

    let (edits, setters_report, msg) = last.unwrap_or_default();
    let up_to_date = !matches!(outcome, Outcome::Pushed { .. } | Outcome::WouldPush { .. });
    let mut reports = selection.reports;
    let workloads = if up_to_date {
        Vec::new()
    } else {
        fold_changes(&setters_report, &mut reports)
    };
    let mut warnings: BTreeSet<String> = found.warnings.iter().cloned().collect();
    warnings.extend(setters_report.warnings.iter().map(|w| w.to_string()));
    Ok(Report {
        automation: spec.name.clone(),
        url: redact(url),
        checkout_branch: checkout.branch,
        checkout_commit: checkout.head,
        push_branch,
        policies: reports.into_iter().map(|(_, r)| r).collect(),
        workloads,
        files_changed: if up_to_date {
            Vec::new()
        } else {
            edits.keys().map(|p| p.to_string()).collect()
        },
        message: (!up_to_date).then_some(msg),
        warnings: warnings.into_iter().collect(),
        diff: (opts.dry_run && !up_to_date).then(|| unified_diff(&edits)),
        outcome,
    })
}

/// The report of a suspended automation: nothing scanned, changed or pushed.
fn suspended(
    auto: &ImageUpdateAutomation,
    url: &str,
    checkout: Checkout,
    warnings: Vec<String>,
) -> Report {
    Report {
        automation: name_of(auto, DEFAULT_NAMESPACE),
        url: redact(url),
        checkout_branch: checkout.branch,
        checkout_commit: checkout.head,
        push_branch: String::new(),
        outcome: Outcome::Suspended,
        policies: Vec::new(),
        workloads: Vec::new(),
        files_changed: Vec::new(),
        message: None,
        warnings,
        diff: None,
    }
}

/// An automation whose spec the loop can carry out.
struct Checked<'a> {
    auto: &'a ImageUpdateAutomation,
    /// `namespace/name`.
    name: String,
    namespace: String,
    git: &'a GitSpec,
    /// `spec.update.path`.
    dir: RelPath,
    selector: LabelSelector,
}

impl<'a> Checked<'a> {
    /// Refuse what cannot work or is not implemented, in the order Flux
    /// checks it.
    fn new(auto: &'a ImageUpdateAutomation) -> Result<Checked<'a>, Error> {
        let name = name_of(auto, DEFAULT_NAMESPACE);
        let namespace = auto
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let invalid = |field: &'static str, reason: String| Error::InvalidAutomation {
            automation: name.clone(),
            field,
            reason,
        };
        if auto.spec.source_ref.kind != "GitRepository" {
            return Err(invalid(
                "spec.sourceRef.kind",
                format!(
                    "source kind {:?} is not supported, only GitRepository",
                    auto.spec.source_ref.kind
                ),
            ));
        }
        let Some(git) = &auto.spec.git else {
            return Err(invalid(
                "spec.git",
                "a GitRepository source needs spec.git".to_owned(),
            ));
        };
        message::check(git.commit.message_template.as_deref()).map_err(|source| {
            Error::Message {
                automation: name.clone(),
                source,
            }
        })?;
        if let Some(push) = &git.push {
            if push.refspec.as_deref().is_some_and(|r| !r.is_empty()) {
                return Err(Error::Unsupported {
                    automation: name.clone(),
                    field: "spec.git.push.refspec",
                });
            }
            if push.options.as_ref().is_some_and(|o| !o.is_empty()) {
                return Err(Error::Unsupported {
                    automation: name.clone(),
                    field: "spec.git.push.options",
                });
            }
        }
        if let Some(strategy) = auto
            .spec
            .update
            .as_ref()
            .and_then(|u| u.strategy.as_deref())
            && !strategy.is_empty()
            && strategy != "Setters"
        {
            return Err(invalid(
                "spec.update",
                format!("update strategy {strategy:?} is not supported, only Setters"),
            ));
        }
        let update_path = auto
            .spec
            .update
            .as_ref()
            .and_then(|u| u.path.as_deref())
            .unwrap_or("");
        let dir =
            RelPath::new(update_path).map_err(|e| invalid("spec.update.path", e.to_string()))?;
        let selector = LabelSelector::from_json(auto.spec.policy_selector.as_ref())
            .map_err(|e| invalid("spec.policySelector", e))?;
        Ok(Checked {
            auto,
            name,
            namespace,
            git,
            dir,
            selector,
        })
    }

    /// The branch to update: `--branch`, else the checkout ref's branch
    /// (the automation's, else its GitRepository's), else `read`, the
    /// branch the objects were read from. Only branches can be updated.
    fn branch_to_update(
        &self,
        given: Option<&str>,
        found: &Found,
        read: &str,
    ) -> Result<String, Error> {
        let checkout_ref = match &self.git.checkout {
            Some(c) => Some(c.r#ref.clone()),
            None => found
                .git_repository(&self.auto.spec.source_ref, &self.namespace)
                .and_then(|g| g.spec.r#ref.clone()),
        };
        Ok(match (given, &checkout_ref) {
            (Some(b), _) => b.to_owned(),
            (None, Some(r)) => {
                if let Some((what, v)) = [
                    ("commit", &r.commit),
                    ("name", &r.name),
                    ("tag", &r.tag),
                    ("semver", &r.semver),
                ]
                .into_iter()
                .find_map(|(w, v)| non_empty(v).map(|v| (w, v)))
                {
                    return Err(Error::UnsupportedCheckout {
                        automation: self.name.clone(),
                        reference: format!("{what} {v}"),
                    });
                }
                non_empty(&r.branch)
                    .map(str::to_owned)
                    .unwrap_or_else(|| read.to_owned())
            }
            (None, None) => read.to_owned(),
        })
    }

    /// `spec.git.push.branch`, else the checkout branch.
    fn push_branch(&self, checkout_branch: &str) -> String {
        self.git
            .push
            .as_ref()
            .and_then(|p| p.branch.clone())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| checkout_branch.to_owned())
    }

    /// Policies of the automation's namespace that the selector matches.
    fn policies<'f>(&self, found: &'f Found) -> Vec<&'f ImagePolicy> {
        found
            .policies
            .iter()
            .filter(|p| {
                p.metadata.namespace.as_deref().unwrap_or(&self.namespace) == self.namespace
            })
            .filter(|p| self.selector.matches(p.metadata.labels.as_ref()))
            .collect()
    }

    /// `spec.git.commit.author` (the e-mail address when there is no name).
    fn author(&self) -> Signature {
        let commit = &self.git.commit;
        Signature {
            name: commit
                .author
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| commit.author.email.clone()),
            email: commit.author.email.clone(),
        }
    }
}

/// What a computed change leaves for the report: the edits, the setters'
/// report and the commit message (empty when nothing changed).
type Last = (Edits, gitops_setters::Report, String);

/// Computes the change on a tree and its commit message.
struct Change<'a, C> {
    spec: &'a Checked<'a>,
    policies: &'a Policies,
    chooser: Option<&'a C>,
    automation: AutomationObject,
}

impl<'a, C: TagChooser + Sync> Change<'a, C> {
    fn new(spec: &'a Checked<'a>, policies: &'a Policies, chooser: Option<&'a C>) -> Self {
        let automation = AutomationObject::new(
            spec.namespace.clone(),
            spec.auto.metadata.name.clone().unwrap_or_default(),
        );
        Change {
            spec,
            policies,
            chooser,
            automation,
        }
    }

    /// The edits of the setters (and the Flux v1 workloads) on `tree`.
    fn edits(&self, tree: &MemTree) -> Result<(Edits, gitops_setters::Report), Error> {
        update(tree, &self.spec.dir, self.policies, self.chooser)
    }

    /// The commit message for `report`, from `spec.git.commit`.
    fn message(&self, report: &gitops_setters::Report) -> Result<String, Error> {
        let commit = &self.spec.git.commit;
        let mut data = TemplateData::new(report, self.automation.clone());
        data.values = commit.message_template_values.clone().unwrap_or_default();
        message::render(commit.message_template.as_deref(), &data).map_err(|source| {
            Error::Message {
                automation: self.spec.name.clone(),
                source,
            }
        })
    }
}

/// Compute the change on what the push would build on (the push branch
/// when it exists, else the checkout branch) and push nothing.
fn dry_run<G: GitTransport, C: TagChooser + Sync>(
    git: &G,
    url: &str,
    checkout: &Checkout,
    push_branch: &str,
    change: &Change<'_, C>,
) -> Result<(Outcome, Last), Error> {
    let fetched = if push_branch != checkout.branch {
        match git.resolve_branch(url, push_branch).map_err(git_err(url))? {
            Some(h) => {
                let t = git.fetch_tree(url, &h).map_err(git_err(url))?;
                Some((h, t))
            }
            None => None,
        }
    } else {
        None
    };
    let (base_head, base_tree) = match &fetched {
        Some((h, t)) => (h, t),
        None => (&checkout.head, &checkout.tree),
    };
    let (edits, report) = change.edits(base_tree)?;
    if edits.is_empty() {
        let outcome = Outcome::UpToDate {
            head: base_head.clone(),
        };
        Ok((outcome, (edits, report, String::new())))
    } else {
        let msg = change.message(&report)?;
        let outcome = Outcome::WouldPush {
            branch: push_branch.to_owned(),
            head: base_head.clone(),
        };
        Ok((outcome, (edits, report, msg)))
    }
}

/// Commit the change on `push_branch` (created from `branch` when missing)
/// and push it, re-applying it when another writer moved the branch.
fn push<G: GitTransport, C: TagChooser + Sync>(
    git: &G,
    url: &str,
    opts: &Options,
    branch: &str,
    push_branch: &str,
    change: &Change<'_, C>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Outcome, Option<Last>), Error> {
    let mut wopts = writeback::Options::new(branch, change.spec.author());
    wopts.push_branch = (push_branch != branch).then(|| push_branch.to_owned());
    wopts.max_attempts = opts.max_attempts.max(1);
    let mut last = None;
    let result = writeback::commit_and_push(git, url, &wopts, |t: &MemTree| {
        let (edits, report) = change.edits(t)?;
        let msg = if edits.is_empty() {
            String::new()
        } else {
            change.message(&report)?
        };
        let files = edits
            .iter()
            .map(|(p, (_, new))| (p.clone(), new.clone().into_bytes()))
            .collect();
        if !edits.is_empty() {
            progress(Progress::Pushing {
                branch: push_branch.to_owned(),
            });
        }
        last = Some((edits, report, msg.clone()));
        Ok::<_, Error>(writeback::Change {
            files,
            message: msg,
        })
    });
    let outcome = match result {
        Ok(writeback::Outcome::Pushed {
            commit,
            branch,
            attempts,
        }) => Outcome::Pushed {
            commit,
            branch,
            attempts,
        },
        Ok(writeback::Outcome::UpToDate { head }) => Outcome::UpToDate { head },
        Err(e) => return Err(push_error(url, e)),
    };
    Ok((outcome, last))
}

/// The loop's error for a failed write-back.
fn push_error<T: std::error::Error + Send + Sync + 'static>(
    url: &str,
    e: writeback::Error<T, Error>,
) -> Error {
    match e {
        writeback::Error::Apply(e) => e,
        writeback::Error::Transport { source, .. } => git_err(url)(source),
        writeback::Error::BranchNotFound { branch, .. } => Error::BranchNotFound {
            url: redact(url),
            tried: vec![branch],
        },
        writeback::Error::Exhausted {
            branch, attempts, ..
        } => Error::PushExhausted {
            url: redact(url),
            branch,
            attempts,
        },
    }
}

/// Fold the setters' changes into the policy reports (previous tags,
/// files, lines); the Flux v1 workload changes are returned.
fn fold_changes(
    setters_report: &gitops_setters::Report,
    reports: &mut [(PolicyId, PolicyReport)],
) -> Vec<WorkloadChange> {
    let mut workloads = Vec::new();
    for c in &setters_report.changes {
        match &c.setter {
            ChangeSource::Marker(s) => {
                let Some((_, r)) = reports.iter_mut().find(|(id, _)| *id == s.policy) else {
                    continue;
                };
                let prev = match s.field {
                    Field::Tag => Some(c.old_value.clone()),
                    Field::Image => ImageRef::parse(&c.old_value)
                        .ok()
                        .and_then(|i| i.tag().map(|t| t.as_str().to_owned())),
                    _ => None,
                };
                if let Some(p) = prev
                    && !r.previous.contains(&p)
                {
                    r.previous.push(p);
                }
                let f = c.file.to_string();
                if !r.files.contains(&f) {
                    r.files.push(f.clone());
                }
                r.changes.push(ChangeLine {
                    file: f,
                    line: c.line,
                    old: c.old_value.clone(),
                    new: c.new_value.clone(),
                });
            }
            other => workloads.push(WorkloadChange {
                object: c.object.to_string(),
                container: other.to_string(),
                file: c.file.to_string(),
                line: c.line,
                old: c.old_value.clone(),
                new: c.new_value.clone(),
            }),
        }
    }
    workloads
}

fn git_err<E: std::error::Error + Send + Sync + 'static>(url: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Git {
        url: redact(url),
        source: Box::new(Scrubbed::new(Box::new(e), &secrets_of(url))),
    }
}

/// A fetched branch: its name, head and tree.
struct Checkout {
    branch: String,
    head: String,
    tree: MemTree,
}

/// Fetch the first of `branches` that exists.
fn fetch<G: GitTransport>(
    git: &G,
    url: &str,
    branches: &[String],
    progress: &mut dyn FnMut(Progress),
) -> Result<Checkout, Error> {
    for b in branches {
        progress(Progress::Fetching { branch: b.clone() });
        if let Some(head) = git.resolve_branch(url, b).map_err(git_err(url))? {
            let tree = git.fetch_tree(url, &head).map_err(git_err(url))?;
            progress(Progress::Fetched {
                branch: b.clone(),
                commit: head.clone(),
                files: tree.len(),
            });
            return Ok(Checkout {
                branch: b.clone(),
                head,
                tree,
            });
        }
    }
    Err(Error::BranchNotFound {
        url: redact(url),
        tried: branches.to_vec(),
    })
}

/// The policy ids and images selected, plus their reports.
struct Selection {
    policies: Policies,
    reports: Vec<(PolicyId, PolicyReport)>,
}

fn select<R: TagLister>(
    registry: &R,
    policies: &[&ImagePolicy],
    repositories: &[&ImageRepository],
    default_ns: &str,
    progress: &mut dyn FnMut(Progress),
) -> Selection {
    let ns_of = |m: &gitops_core::flux::ObjectMeta| {
        m.namespace.clone().unwrap_or_else(|| default_ns.to_owned())
    };
    // Images to scan, in policy order, each once.
    let mut wanted: Vec<(String, &ImageRepository)> = Vec::new();
    for p in policies {
        let repo_ns = p
            .spec
            .image_repository_ref
            .namespace
            .clone()
            .unwrap_or_else(|| ns_of(&p.metadata));
        let key = format!("{repo_ns}/{}", p.spec.image_repository_ref.name);
        if wanted.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if let Some(r) = repositories.iter().find(|r| {
            ns_of(&r.metadata) == repo_ns
                && r.metadata.name.as_deref() == Some(&p.spec.image_repository_ref.name)
        }) {
            wanted.push((key, r));
        }
    }
    let total = wanted.len();
    let mut scans: HashMap<String, Result<(ImageRef, Vec<String>), String>> = HashMap::new();
    for (i, (key, repo)) in wanted.iter().enumerate() {
        progress(Progress::Scanning {
            image: repo.spec.image.clone(),
            index: i + 1,
            total,
        });
        let result = (|| {
            let image = ImageRef::parse(&repo.spec.image)
                .map_err(|e| format!("invalid image {:?}: {e}", repo.spec.image))?
                .without_tag_and_digest();
            let exclusions = Exclusions::from_spec(&repo.spec)
                .map_err(|e| format!("invalid exclusionList: {}", chain(&e)))?;
            let tags = registry
                .list_tags(&image)
                .map_err(|e| format!("cannot list tags of {}: {}", image.name(), chain(&e)))?;
            let kept = tags
                .into_iter()
                .filter(|t| !exclusions.is_excluded(t))
                .collect();
            Ok((image, kept))
        })();
        scans.insert(key.clone(), result);
    }
    let mut out = Selection {
        policies: Policies::new(),
        reports: Vec::new(),
    };
    for p in policies {
        let ns = ns_of(&p.metadata);
        let name = p.metadata.name.clone().unwrap_or_default();
        let id = PolicyId::new(ns.clone(), name);
        let repo_ns = p
            .spec
            .image_repository_ref
            .namespace
            .clone()
            .unwrap_or_else(|| ns.clone());
        let key = format!("{repo_ns}/{}", p.spec.image_repository_ref.name);
        let mut report = PolicyReport {
            policy: id.to_string(),
            image: String::new(),
            latest: None,
            tag: None,
            digest: None,
            previous: Vec::new(),
            files: Vec::new(),
            changes: Vec::new(),
            error: None,
        };
        let picked = (|| {
            let (image, tags) = match scans.get(&key) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return Err(e.clone()),
                None => return Err(format!("ImageRepository {key} not found")),
            };
            report.image = image.name().to_owned();
            let policy =
                Policy::from_spec(&p.spec).map_err(|e| format!("invalid policy: {}", chain(&e)))?;
            let tag = policy
                .select(tags)
                .map_err(|e| format!("no tag selected by {policy}: {}", chain(&e)))?;
            let tag = Tag::parse(tag).map_err(|e| format!("invalid tag {tag:?}: {e}"))?;
            let mut latest = image.clone().with_tag(tag.clone());
            let reflect = p
                .spec
                .digest_reflection_policy
                .as_deref()
                .unwrap_or("Never");
            match reflect {
                "" | "Never" => {}
                "IfNotPresent" | "Always" => {
                    let info = registry.tag_info(image, tag.as_str()).map_err(|e| {
                        format!("cannot look up the digest of {latest}: {}", chain(&e))
                    })?;
                    if let Some(d) = info.digest {
                        latest = latest.with_digest(d);
                    }
                }
                other => {
                    return Err(format!(
                        "invalid digestReflectionPolicy {other:?}, must be one of: Never, IfNotPresent, Always"
                    ));
                }
            }
            Ok((tag, latest))
        })();
        match picked {
            Ok((tag, latest)) => {
                progress(Progress::Selected {
                    policy: id.to_string(),
                    image: latest.to_string(),
                });
                report.tag = Some(tag.as_str().to_owned());
                report.digest = latest.digest().map(|d| d.to_string());
                report.latest = Some(latest.to_string());
                out.policies.insert(id.clone(), latest);
            }
            Err(e) => report.error = Some(e),
        }
        out.reports.push((id, report));
    }
    out
}

/// The files an update changes: path → (old text, new text).
type Edits = BTreeMap<RelPath, (String, String)>;

/// Run the setters and the v1 engine over `tree` under `dir`, in memory.
fn update<C: TagChooser + Sync>(
    tree: &MemTree,
    dir: &RelPath,
    policies: &Policies,
    chooser: Option<&C>,
) -> Result<(Edits, gitops_setters::Report), Error> {
    let mut edits: Edits = BTreeMap::new();
    let mut report = apply::apply_tree(tree, dir, policies, &mut |p, old, new| {
        edits.insert(p.clone(), (old.to_owned(), new.to_owned()));
        Ok(())
    })?;
    if let Some(chooser) = chooser {
        let mut next = tree.clone();
        for (p, (_, new)) in &edits {
            // A RelPath from the tree is never the root.
            let _ = next.insert(p.as_str(), new);
        }
        let v1 = gitops_setters::v1::update_tree(&next, dir, chooser, &mut |p, old, new| {
            edits
                .entry(p.clone())
                .and_modify(|e| e.1 = new.to_owned())
                .or_insert_with(|| (old.to_owned(), new.to_owned()));
            Ok(())
        })?;
        report.changes.extend(v1.changes);
        report.warnings.extend(v1.warnings);
        report.markers += v1.markers;
    }
    report.files_changed = edits.keys().cloned().collect();
    Ok((edits, report))
}

fn unified_diff(edits: &Edits) -> String {
    let mut out = String::new();
    for (p, (old, new)) in edits {
        out.push_str(
            &similar::TextDiff::from_lines(old.as_str(), new.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{p}"), &format!("b/{p}"))
                .to_string(),
        );
    }
    out
}

fn name_of<T: FluxObject>(o: &T, default_ns: &str) -> String {
    let m = o.metadata();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(default_ns),
        m.name.as_deref().unwrap_or("")
    )
}

fn pick_automation(found: &Found, want: Option<&str>) -> Result<ImageUpdateAutomation, Error> {
    let names: Vec<String> = found
        .automations
        .iter()
        .map(|a| name_of(a, DEFAULT_NAMESPACE))
        .collect();
    match want {
        Some(w) => {
            let full = if w.contains('/') {
                w.to_owned()
            } else {
                String::new()
            };
            found
                .automations
                .iter()
                .zip(&names)
                .find(|(a, n)| {
                    **n == full || (full.is_empty() && a.metadata.name.as_deref() == Some(w))
                })
                .map(|(a, _)| a.clone())
                .ok_or_else(|| Error::AutomationNotFound {
                    name: w.to_owned(),
                    found: names.clone(),
                })
        }
        None => match found.automations.as_slice() {
            [one] => Ok(one.clone()),
            [] => unreachable_none(),
            _ => Err(Error::AmbiguousAutomation { names }),
        },
    }
}

/// Callers check for an empty list first; keep the match total without panicking.
fn unreachable_none() -> Result<ImageUpdateAutomation, Error> {
    Err(Error::AmbiguousAutomation { names: Vec::new() })
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}
