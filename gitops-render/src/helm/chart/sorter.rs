//! Splitting rendered files into documents and sorting them (Helm v4.1.4
//! `pkg/release/v1/util`: `SplitManifests`, `SortManifests`, `InstallOrder`),
//! and `--show-only`.

use serde_json::Value as Json;

use super::{Error, Hook, RenderedFile, is_go_space};

const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// Helm `SplitManifests`: documents separated by `(?:^|\s*\n)---\s*`,
/// each trimmed, empty ones dropped.
pub(crate) fn split_manifests<'a>(text: &'a str) -> Vec<&'a str> {
    let t = text.trim_matches(is_go_space);
    let mut docs = Vec::new();
    let b = t.as_bytes();
    let mut start = 0;
    let mut i = 0;
    // A separator is `---` at the very start, or after a newline (with the
    // whitespace before that newline part of the separator).
    let cut = |from: usize, to: usize, docs: &mut Vec<&'a str>| {
        let d: &'a str = &t[from..to];
        if !d.is_empty() {
            let d = d.trim_matches(is_go_space);
            docs.push(d);
        }
    };
    if t.starts_with("---") {
        let mut j = 3;
        while j < b.len() && (b[j] as char).is_ascii_whitespace() {
            j += 1;
        }
        cut(0, 0, &mut docs);
        start = j;
        i = j;
    }
    while i < b.len() {
        if b[i] == b'\n' && t[i + 1..].starts_with("---") {
            // Separator starts at the whitespace run before this newline.
            let mut s = i;
            while s > start && (b[s - 1] as char).is_ascii_whitespace() {
                s -= 1;
            }
            cut(start, s, &mut docs);
            let mut j = i + 4;
            while j < b.len() && (b[j] as char).is_ascii_whitespace() {
                j += 1;
            }
            start = j;
            i = j;
            continue;
        }
        i += 1;
    }
    cut(start, b.len(), &mut docs);
    docs.retain(|d| !d.is_empty());
    docs
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    kind: String,
    name: String,
    annotations: Option<Vec<(String, String)>>,
}

/// `yaml.Unmarshal` into Helm's `SimpleHead`: only the head's fields are
/// turned into JSON (the rest of the document is parsed, not converted).
fn parse_head(doc: &str) -> Result<Head, String> {
    if let Some(h) = super::head::read(doc) {
        return Ok(Head {
            kind: h.kind,
            name: h.name,
            annotations: h.annotations,
        });
    }
    parse_head_yaml(doc)
}

/// [`parse_head`] with the YAML reader.
fn parse_head_yaml(doc: &str) -> Result<Head, String> {
    let root = super::yaml::parse_first_node(doc)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let unmarshal = |what: &Json, field: &str, ty: &str| {
        format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
            json_type(what)
        )
    };
    let empty = Head {
        kind: String::new(),
        name: String::new(),
        annotations: None,
    };
    let Some(root) = root else {
        return Ok(empty);
    };
    let Some(entries) = root.as_map() else {
        return match super::yaml::node_json(&root) {
            Json::Null => Ok(empty),
            other => Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                json_type(&other)
            )),
        };
    };
    let field = |key: &str| super::yaml::map_field(entries, key).map(super::yaml::node_json);
    let kind = match field("kind") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s,
        Some(o) => return Err(unmarshal(&o, "SimpleHead.kind", "string")),
    };
    match field("apiVersion") {
        None | Some(Json::Null) | Some(Json::String(_)) => {}
        Some(o) => return Err(unmarshal(&o, "SimpleHead.apiVersion", "string")),
    }
    let mut name = String::new();
    let mut annotations = None;
    let metadata = super::yaml::map_field(entries, "metadata");
    match metadata.map(|m| (m, m.as_map())) {
        None => {}
        Some((_, Some(md))) => {
            let md_field = |key: &str| super::yaml::map_field(md, key).map(super::yaml::node_json);
            match md_field("name") {
                None | Some(Json::Null) => {}
                Some(Json::String(s)) => name = s,
                Some(o) => return Err(unmarshal(&o, "SimpleHead.metadata.name", "string")),
            }
            match md_field("annotations") {
                None | Some(Json::Null) => {}
                Some(Json::Object(a)) => {
                    let mut out = Vec::with_capacity(a.len());
                    for (k, v) in a {
                        match v {
                            Json::String(s) => out.push((k, s)),
                            Json::Null => out.push((k, String::new())),
                            o => {
                                return Err(unmarshal(
                                    &o,
                                    "SimpleHead.metadata.annotations",
                                    "string",
                                ));
                            }
                        }
                    }
                    annotations = Some(out);
                }
                Some(o) => {
                    return Err(unmarshal(
                        &o,
                        "SimpleHead.metadata.annotations",
                        "map[string]string",
                    ));
                }
            }
        }
        Some((m, None)) => match super::yaml::node_json(m) {
            Json::Null => {}
            o => {
                return Err(unmarshal(
                    &o,
                    "SimpleHead.metadata",
                    "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
                ));
            }
        },
    }
    Ok(Head {
        kind,
        name,
        annotations,
    })
}

fn order(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `InstallOrder` comparison of two kinds: listed kinds in list
/// order, then unknown kinds by name.
pub(crate) fn install_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (order(a), order(b)) {
        (None, None) => a.cmp(b),
        (None, Some(_)) => Greater,
        (Some(_), None) => Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// What a document's `helm.sh/hook` annotation (`types`) and
/// `helm.sh/hook-weight` make of it: `Some(None)` a resource, `Some(Some(_))`
/// a hook, `None` a hook with an unknown event (Helm drops the document).
pub(crate) fn hook_of(types: Option<&str>, weight: Option<&str>) -> Option<Option<Hook>> {
    let Some(types) = types else {
        return Some(None);
    };
    let mut events = Vec::new();
    for t in types.split(',') {
        let t = t.trim().to_lowercase();
        if !HOOK_EVENTS.contains(&t.as_str()) {
            return None;
        }
        events.push(if t == "test-success" {
            "test".to_string()
        } else {
            t
        });
    }
    let weight = weight.and_then(go_atoi).unwrap_or(0);
    Some(Some(Hook { events, weight }))
}

/// One rendered file read for [`sort_analyzed`]: its documents with their
/// heads, or the YAML error of the first document that has one.
pub(crate) struct Analyzed {
    path: String,
    docs: Result<Vec<(String, Head)>, String>,
}

/// The reading half of Helm `SortManifests` for one rendered file (template
/// path, rendered text): split into documents, each document's head read.
/// Partials and files with only space give no documents. Files are
/// independent, so they may be analyzed on another thread as they are
/// rendered.
pub(crate) fn analyze(path: String, mut content: String) -> Analyzed {
    let base = path.rsplit('/').next().unwrap_or(&path);
    if base.starts_with('_') || content.trim_matches(is_go_space).is_empty() {
        return Analyzed {
            path,
            docs: Ok(Vec::new()),
        };
    }
    let docs = split_manifests(&content);
    let heads: Result<Vec<Head>, String> = docs.iter().map(|doc| parse_head(doc)).collect();
    let docs = match heads {
        Err(e) => Err(e),
        // A file of one document (the usual case) becomes that document
        // in place instead of being copied.
        Ok(heads) if heads.len() == 1 => {
            let start = docs[0].as_ptr() as usize - content.as_ptr() as usize;
            let end = start + docs[0].len();
            content.truncate(end);
            content.drain(..start);
            Ok(vec![(content, heads.into_iter().next().expect("one head"))])
        }
        Ok(heads) => Ok(docs.iter().map(|d| d.to_string()).zip(heads).collect()),
    };
    Analyzed { path, docs }
}

/// The sorting half of Helm `SortManifests`: files in path order (the
/// first YAML error in that order is the error), hooks and resources each
/// in install order.
pub(crate) fn sort_analyzed(
    mut files: Vec<Analyzed>,
) -> Result<(Vec<RenderedFile>, Vec<RenderedFile>), Error> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for Analyzed { path, docs } in files {
        let docs = docs.map_err(|e| Error::Yaml(format!("YAML parse error on {path}: {e}")))?;
        for (content, head) in docs {
            let rf = RenderedFile {
                path: path.clone(),
                content,
                kind: head.kind,
                name: head.name,
                hook: None,
            };
            let Some(ann) = head.annotations.filter(|a| !a.is_empty()) else {
                generic.push(rf);
                continue;
            };
            let find = |key: &str| ann.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
            match hook_of(find("helm.sh/hook"), find("helm.sh/hook-weight")) {
                Some(None) => generic.push(rf),
                Some(hook @ Some(_)) => hooks.push(RenderedFile { hook, ..rf }),
                None => {}
            }
        }
    }
    hooks.sort_by(|a, b| install_order(&a.kind, &b.kind));
    generic.sort_by(|a, b| install_order(&a.kind, &b.kind));
    Ok((hooks, generic))
}

/// Go's `strconv.Atoi`.
fn go_atoi(s: &str) -> Option<i64> {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `helm template --show-only`: the documents of `out` whose template path
/// (without the chart name) matches a pattern, pattern by pattern.
pub(crate) fn show_only(out: &str, patterns: &[String]) -> Result<String, Error> {
    let docs = split_manifests(out);
    let mut result = String::new();
    for f in patterns {
        let f = f.replace('\\', "/");
        let mut missing = true;
        for m in &docs {
            let Some(pos) = m.find("# Source: ") else {
                continue;
            };
            let rest = &m[pos + "# Source: ".len()..];
            let Some(slash) = rest.find('/') else {
                continue;
            };
            if slash == 0 {
                continue;
            }
            let name: String = rest[slash + 1..]
                .chars()
                .take_while(|c| *c != '\n')
                .collect();
            if name.is_empty() {
                continue;
            }
            if !super::loader::go_match(&f, &name).unwrap_or(false) {
                continue;
            }
            result.push_str("---\n");
            result.push_str(m);
            result.push('\n');
            missing = false;
        }
        if missing {
            return Err(Error::ShowOnly(f));
        }
    }
    Ok(result)
}

#[cfg(test)]
mod head_tests {
    use super::{parse_head_yaml, split_manifests};
    use crate::helm::chart::head;

    /// When the line reader answers, the YAML reader accepts the document
    /// and reads the same head.
    fn agree(doc: &str) -> bool {
        let Some(fast) = head::read(doc) else {
            return false;
        };
        let full = parse_head_yaml(doc).unwrap_or_else(|e| {
            panic!("the line reader accepted a document the YAML reader rejects ({e}):\n{doc}")
        });
        assert_eq!(
            (fast.kind, fast.name, fast.annotations),
            (full.kind, full.name, full.annotations),
            "{doc}"
        );
        true
    }

    const READ: &[&str] = &[
        "",
        "# only a comment\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n    a: b\ndata:\n  k: |\n    line\n\n    more: text\n  other: 'it''s'\n",
        "kind: Job\nmetadata:\n  name: \"j\"\n  annotations:\n    helm.sh/hook: pre-install,post-install\n    \"helm.sh/hook-weight\": \"-5\"\n    helm.sh/hook: test # last wins\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        args: []\n        env:\n        - name: A\n          value: \"1\"\n        -   name: B\n        command:\n          - sh\n          - -c\n          - |-\n            echo hi\n      volumes: {}\n",
        "kind: Service\nmetadata:\n  annotations: {}\n  name: s\nspec:\n  ports:\n  -\n    port: 80\n  - port: 81 # c\n",
        "kind: X\nmetadata:\n  annotations:\n  name: nm\nlist:\n- a: 1\n  b:\n  - c\n- |\n  text\n- >-\n   folded\n",
        "kind: X\nmetadata:\nspec: null\n",
        "kind: \"ConfigMap\"\napiVersion: 'v1'\nmetadata:\n  name: a:b\n  annotations:\n    x: http://example.com/a#b\n",
        "kind: X\nk: |\n\n     deep\n     # not a comment: text\n      more\nnext: 1\n",
        "kind: X\nmetadata:\n  name: nm\n  annotations:\n    a: 'b'\n    c: \"d\"\n",
    ];

    const LEFT_TO_THE_PARSER: &[&str] = &[
        "kind: 1\n",
        "kind: yes\n",
        "kind: X\nmetadata:\n  name: 5\n",
        "kind: X\nmetadata: [a]\n",
        "kind: X\nmetadata:\n  annotations:\n    a: 1\n",
        "kind: X\nkind: Y\n",
        "kind: X\na: &x 1\nb: *x\n",
        "kind: X\na: !!str 1\n",
        "kind: X\na: {b: c}\n",
        "kind: X\na: multi\n  line\n",
        "kind: X\na: \"multi\n  line\"\n",
        "kind: X\na: \"esc\\n\"\n",
        "kind: X\n\ta: 1\n",
        "kind: X\na:\tb\n",
        "kind: X\r\na: b\r\n",
        "- a\n- b\n",
        "just text\n",
        "  kind: X\n",
        "kind: X\n? complex\n: key\n",
        "kind: X\n<<: {a: b}\n",
        "kind: X\na: b: c\n",
        "kind: X\na: |2\n    x\n",
        "kind: X\na: |\n    x\n  y\n",
        "kind: X\na: |\n      \n    x\n",
        "kind: X\n---\nkind: Y\n",
        "kind: X\na: b\n  c: d\n",
        "kind: X\nmetadata:\n- a\n",
        "kind: X\nname with space: 1\n",
        "kind: X\na: 'unclosed\n",
        "kind: X\na: \"x\"y\n",
        "kind: X\u{0}\n",
        "kind: X\na: b\u{85}c: d\n",
    ];

    #[test]
    fn the_line_reader_reads_plain_block_documents() {
        for doc in READ {
            assert!(agree(doc), "not read by the line reader:\n{doc}");
        }
        for doc in LEFT_TO_THE_PARSER {
            assert!(
                head::read(doc).is_none(),
                "the line reader should leave this to the YAML reader:\n{doc}"
            );
        }
    }

    /// The rendered outputs of the corpus: every document the line reader
    /// reads agrees with the YAML reader, and most documents are read by it.
    #[test]
    fn the_line_reader_agrees_on_the_corpus() {
        let Some(dir) = crate::helm::testkit::corpus() else {
            return;
        };
        let (mut read, mut all) = (0usize, 0usize);
        let mut missed = Vec::new();
        let mut cases: Vec<_> = std::fs::read_dir(dir.join("cases"))
            .expect("corpus cases")
            .flatten()
            .map(|e| e.path().join("expected.yaml"))
            .filter(|p| p.is_file())
            .collect();
        cases.sort();
        for p in cases {
            let text = std::fs::read_to_string(&p).expect("expected output");
            for doc in split_manifests(&text) {
                // The largest documents (CRDs) cost more to check with the
                // unoptimised YAML reader than they add.
                if doc.len() > 64 << 10 {
                    continue;
                }
                all += 1;
                let ok = agree(doc);
                read += usize::from(ok);
                if !ok && missed.len() < 400 {
                    missed.push(doc.to_string());
                }
            }
        }
        assert!(all > 1000, "{all} documents");
        for doc in &missed {
            eprintln!("=====\n{doc}");
        }
        assert!(read * 10 >= all * 9, "the line reader read {read} of {all}");
    }

    /// Documents of the corpus mutated at random (characters inserted,
    /// removed, lines doubled): whenever the line reader answers, the YAML
    /// reader agrees. `HEAD_ROUNDS=400000` runs a longer search.
    #[test]
    fn the_line_reader_agrees_on_mutated_documents() {
        let mut docs: Vec<String> = READ.iter().map(|d| d.to_string()).collect();
        if let Some(dir) = crate::helm::testkit::corpus() {
            for id in [
                "podinfo__podinfo__default",
                "cert-manager__cert-manager__default",
                "ingress-nginx__ingress-nginx__default",
            ] {
                if let Ok(text) =
                    std::fs::read_to_string(dir.join("cases").join(id).join("expected.yaml"))
                {
                    docs.extend(
                        split_manifests(&text)
                            .into_iter()
                            .filter(|d| d.len() < 8 << 10)
                            .map(str::to_string),
                    );
                }
            }
        }
        const PIECES: &[&str] = &[
            " ",
            "  ",
            "\t",
            ":",
            ": ",
            "-",
            "- ",
            "#",
            " #",
            "\"",
            "'",
            "|",
            ">",
            "\n",
            "\n  ",
            "[",
            "]",
            "{",
            "}",
            "&a",
            "*a",
            "!",
            "?",
            "%",
            "@",
            "`",
            ",",
            "\\",
            "kind: ",
            "metadata:\n",
            "name: x",
            "annotations:\n  ",
            "\u{85}",
            "é",
            "\r",
        ];
        let mut rng = crate::helm::testkit::Rng::new(0x9e37_79b9_7f4a_7c15_u64);
        let mut rand = |n: usize| rng.below(n);
        let mut answered = 0usize;
        for round in 0..std::env::var("HEAD_ROUNDS").map_or(6000, |v| v.parse().unwrap()) {
            let mut doc = docs[round % docs.len()].clone();
            for _ in 0..1 + rand(3) {
                let at = (0..=doc.len())
                    .filter(|&i| doc.is_char_boundary(i))
                    .nth(rand(doc.len() + 1))
                    .unwrap_or(doc.len());
                match rand(3) {
                    0 => doc.insert_str(at, PIECES[rand(PIECES.len())]),
                    1 => {
                        let end = (at..=doc.len())
                            .filter(|&i| doc.is_char_boundary(i))
                            .nth(1 + rand(4))
                            .unwrap_or(doc.len());
                        doc.replace_range(at..end, "");
                    }
                    _ => {
                        let start = doc[..at].rfind('\n').map_or(0, |i| i + 1);
                        let end = doc[at..].find('\n').map_or(doc.len(), |i| at + i + 1);
                        let line = doc[start..end].to_string();
                        doc.insert_str(end, &line);
                    }
                }
            }
            answered += usize::from(agree(&doc));
        }
        assert!(answered > 1000, "the line reader answered {answered} times");
    }
}
