//! Chart loading (Helm v4.1.4 `pkg/chart/v2/loader`): a directory walked
//! with `.helmignore` rules, or a gzipped tar archive; files sorted into
//! `Chart.yaml`, values, schema, templates, subcharts and other files.

use std::io::Read as _;
use std::sync::Arc;

use gitops_core::fs::{DirEntry, EntryKind, FileTree, RelPath};
use serde_json::{Map, Value as Json};

use super::{Chart, ChartFile, Dependency, Error, Maintainer, Metadata};

/// Largest file in a chart (Helm's `MaxDecompressedFileSize`).
const MAX_FILE: u64 = 5 << 20;
/// Largest chart, all files together (Helm's `MaxDecompressedChartSize`).
const MAX_CHART: u64 = 100 << 20;
/// Most entries in an archive.
const MAX_ENTRIES: usize = 100_000;
/// How deep subcharts may nest.
const MAX_NESTING: usize = 64;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Load a chart from a directory or a `.tgz` file of `tree`.
pub fn load<T: FileTree + ?Sized>(tree: &T, path: &RelPath) -> Result<Chart, Error> {
    let kind = tree.kind(path).map_err(|e| Error::Load(e.to_string()))?;
    match kind {
        None => Err(Error::Load(format!(
            "stat {}: no such file or directory",
            path.as_str()
        ))),
        Some(EntryKind::Dir) => load_dir(tree, path),
        Some(_) => {
            let bytes = tree
                .read_beneath(&path.parent(), path)
                .map_err(|e| Error::Load(e.to_string()))?;
            load_archive(&bytes)
        }
    }
}

/// Load a chart from the bytes of a `.tgz` archive.
pub fn load_archive(bytes: &[u8]) -> Result<Chart, Error> {
    load_archive_depth(bytes, 0)
}

fn load_archive_depth(bytes: &[u8], depth: usize) -> Result<Chart, Error> {
    let files = archive_files(bytes)?;
    load_files(files, depth)
}

struct Buffered {
    name: String,
    data: Arc<[u8]>,
    /// A `values.yaml` (`data` is then empty) or `values.schema.json`
    /// handed to the loading thread while the walk went on.
    parsed: Option<Parsed>,
}

/// What the loading thread makes of a file.
enum Parsed {
    Values(std::sync::mpsc::Receiver<Result<Map<String, Json>, Error>>),
    Schema(std::sync::mpsc::Receiver<Result<Json, String>>),
}

/// Work for the loading thread: a `values.yaml` to parse, a schema to
/// read (after the walk, when the values are parsed), and where the
/// result goes.
enum Job {
    Values(
        Arc<[u8]>,
        std::sync::mpsc::Sender<Result<Map<String, Json>, Error>>,
    ),
    Schema(Arc<[u8]>, std::sync::mpsc::Sender<Result<Json, String>>),
}

/// The loading thread: values files as they come, then the schemas. It
/// may outlive the load (the chart holds the schema's receiving end).
fn loading_thread(jobs: std::sync::mpsc::Receiver<Job>) {
    let mut schemas = Vec::new();
    for job in jobs {
        match job {
            Job::Values(data, back) => {
                let _ = back.send(values_file(&data));
            }
            Job::Schema(data, back) => schemas.push((data, back)),
        }
    }
    for (data, back) in schemas {
        let _ = back.send(crate::helm::schema::parse(&data));
    }
}

fn archive_files(bytes: &[u8]) -> Result<Vec<Buffered>, Error> {
    if !bytes.starts_with(b"\x1f\x8b") {
        return Err(Error::Load("gzip: invalid header".into()));
    }
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz.take(MAX_CHART + (MAX_ENTRIES as u64) * 1024));
    let mut files = Vec::new();
    let mut remaining = MAX_CHART;
    let entries = ar.entries().map_err(|e| Error::Load(e.to_string()))?;
    for (i, entry) in entries.enumerate() {
        if i >= MAX_ENTRIES {
            return Err(Error::Load(format!(
                "chart archive has more than {MAX_ENTRIES} entries"
            )));
        }
        let mut entry = entry.map_err(|e| Error::Load(e.to_string()))?;
        let et = entry.header().entry_type();
        if et.is_dir() || et.is_pax_global_extensions() || et.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delim = if raw.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw.split(delim).collect();
        let n = parts[1..].join("/");
        if n.starts_with('/') {
            return Err(Error::Load(
                "chart illegally contains absolute paths".into(),
            ));
        }
        let n = clean(&n);
        if n == "." {
            return Err(Error::Load(format!(
                "chart illegally contains content outside the base directory: {raw:?}"
            )));
        }
        if n.starts_with("..") {
            return Err(Error::Load(
                "chart illegally references parent directory".into(),
            ));
        }
        if parts[0] == "Chart.yaml" {
            return Err(Error::Load("chart yaml not in base directory".into()));
        }
        if !(et.is_file() || et == tar::EntryType::Continuous || et == tar::EntryType::GNUSparse) {
            // Links and devices carry no data of their own.
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(Error::Load(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART}"
            )));
        }
        if size > MAX_FILE {
            return Err(Error::Load(format!(
                "decompressed chart file {raw:?} is larger than the maximum file size {MAX_FILE}"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| Error::Load(e.to_string()))?;
        remaining -= data.len() as u64;
        if data.starts_with(BOM) {
            data.drain(..3);
        }
        files.push(Buffered {
            name: n,
            data: Arc::from(data),
            parsed: None,
        });
    }
    if files.is_empty() {
        return Err(Error::Load("no files in chart archive".into()));
    }
    Ok(files)
}

/// Go's `path.Clean` for relative paths.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

fn load_dir<T: FileTree + ?Sized>(tree: &T, dir: &RelPath) -> Result<Chart, Error> {
    let mut rules = Rules::default();
    let ignore_path = dir
        .join(".helmignore")
        .map_err(|e| Error::Load(e.to_string()))?;
    if let Ok(Some(EntryKind::File | EntryKind::Symlink)) = tree.kind(&ignore_path) {
        let text = tree
            .read_beneath(dir, &ignore_path)
            .map_err(|e| Error::Load(e.to_string()))?;
        rules = Rules::parse(&super::utf8_text(&text))?;
    }
    rules.add("templates/.?*")?;
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![dir.clone()];
    // Large values files parse on a thread of their own while the walk
    // reads the rest of the chart (the chart's own first: it is the
    // largest), and the schemas are read there once the walk is done.
    {
        let mut walker = Walker {
            tree,
            root: dir,
            rules: &rules,
            out: &mut files,
            total: &mut total,
            stack: &mut stack,
            loading: Loading::Idle,
        };
        walker.walk(dir)?;
        // The loading thread finishes its work once the walk's sender is gone.
        drop(walker);
        load_files(files, 0)
    }
}

/// How deep directories may nest in a chart directory.
const MAX_DIR_DEPTH: usize = 256;

/// Walks a chart directory: `stack` holds the real paths of the
/// directories being walked, so that a symlink back into one of them is
/// refused instead of followed for ever; `values`, when set, takes the
/// chart's and its subcharts' `values.yaml` to parse while the walk goes on.
struct Walker<'w, T: FileTree + ?Sized> {
    tree: &'w T,
    root: &'w RelPath,
    rules: &'w Rules,
    out: &'w mut Vec<Buffered>,
    total: &'w mut u64,
    stack: &'w mut Vec<RelPath>,
    loading: Loading,
}

/// The loading thread of a walk, started for the first large file.
enum Loading {
    Idle,
    Running(std::sync::mpsc::Sender<Job>),
    Unavailable,
}

/// Values and schema files from this size up are handed to the loading
/// thread; smaller ones are parsed in place (a thread costs more).
pub(super) const LOADING_THREAD_MIN_BYTES: usize = 16 << 10;

impl<T: FileTree + ?Sized> Walker<'_, T> {
    fn rel(&self, path: &RelPath) -> String {
        path.as_str()[self.root.as_str().len()..]
            .trim_start_matches('/')
            .to_string()
    }

    fn walk(&mut self, dir: &RelPath) -> Result<(), Error> {
        if self.stack.len() > MAX_DIR_DEPTH {
            return Err(Error::Load(format!(
                "{dir}: directories nest deeper than {MAX_DIR_DEPTH} levels"
            )));
        }
        let entries = self
            .tree
            .list(dir)
            .map_err(|e| Error::Load(e.to_string()))?;
        // A chart's `values.yaml` and `values.schema.json` are read first
        // and handed to the loading thread; they join the files in their
        // place.
        let mut early = self.read_early(&entries);
        for e in entries {
            let rel = self.rel(&e.path);
            let mut kind = e.kind;
            if kind == EntryKind::Symlink {
                // Followed, but only within the chart directory.
                let real = self
                    .tree
                    .real_path(&e.path)
                    .map_err(|err| Error::Load(err.to_string()))?;
                if !real.is_within(self.root) {
                    return Err(Error::Load(format!(
                        "{}: symlink points outside the chart",
                        e.path
                    )));
                }
                kind = match self
                    .tree
                    .kind(&real)
                    .map_err(|err| Error::Load(err.to_string()))?
                {
                    Some(k) => k,
                    None => continue,
                };
            }
            if kind == EntryKind::Dir {
                if self.rules.ignore(&rel, true) {
                    continue;
                }
                let real = if e.kind == EntryKind::Symlink {
                    self.tree
                        .real_path(&e.path)
                        .map_err(|err| Error::Load(err.to_string()))?
                } else {
                    e.path.clone()
                };
                if self.stack.contains(&real) {
                    return Err(Error::Load(format!(
                        "{}: symlink cycle (leads back to {real})",
                        e.path
                    )));
                }
                self.stack.push(real);
                let r = self.walk(&e.path);
                self.stack.pop();
                r?;
                continue;
            }
            if self.rules.ignore(&rel, false) {
                continue;
            }
            let (data, parsed) = match early.iter().position(|r| r.path == e.path) {
                Some(i) => {
                    let r = early.swap_remove(i);
                    self.count(r.len)?;
                    (r.data, r.parsed)
                }
                None => (self.read(&e.path, &rel)?, None),
            };
            self.out.push(Buffered {
                name: rel,
                data,
                parsed,
            });
        }
        Ok(())
    }

    /// The bytes of a chart file, bounded, without a byte order mark.
    fn read(&mut self, path: &RelPath, rel: &str) -> Result<Arc<[u8]>, Error> {
        let data = self
            .tree
            .read_beneath_shared(self.root, path)
            .map_err(|err| Error::Load(format!("error reading {rel}: {err}")))?;
        if data.len() as u64 > MAX_FILE {
            return Err(Error::Load(format!(
                "chart file {:?} is larger than the maximum file size {MAX_FILE}",
                path.file_name()
            )));
        }
        self.count(data.len())?;
        if data.starts_with(BOM) {
            return Ok(Arc::from(&data[BOM.len()..]));
        }
        Ok(data)
    }

    fn count(&mut self, len: usize) -> Result<(), Error> {
        *self.total += len as u64;
        if *self.total > MAX_CHART {
            return Err(Error::Load(format!(
                "chart is larger than the maximum size {MAX_CHART}"
            )));
        }
        Ok(())
    }

    /// The `values.yaml` and `values.schema.json` among `entries` when
    /// they are a chart's (directly in the chart, or in a subchart
    /// directory `charts/NAME/…`), plain files, not ignored and readable:
    /// read first (the large ones also handed to the loading thread).
    /// Anything unusual leaves them to the walk, which then reports errors
    /// in file order.
    fn read_early(&mut self, entries: &[DirEntry]) -> Vec<Early> {
        let mut out = Vec::new();
        for e in entries {
            let name = e.path.file_name();
            if e.kind != EntryKind::File || !(name == "values.yaml" || name == "values.schema.json")
            {
                continue;
            }
            let rel = self.rel(&e.path);
            if !is_chart_file(&rel, name) || self.rules.ignore(&rel, false) {
                continue;
            }
            let Ok(raw) = self.tree.read_beneath_shared(self.root, &e.path) else {
                continue;
            };
            let len = raw.len();
            if len as u64 > MAX_FILE {
                continue;
            }
            let data: Arc<[u8]> = match raw.strip_prefix(BOM) {
                Some(rest) => Arc::from(rest),
                None => raw,
            };
            // A small file joins the files as read; a large one also goes
            // to the loading thread.
            let tx = if len >= LOADING_THREAD_MIN_BYTES {
                self.loading_thread()
            } else {
                None
            };
            let (data, parsed) = match tx {
                None => (data, None),
                Some(tx) if name == "values.yaml" => {
                    let (back, parsed) = std::sync::mpsc::channel();
                    match tx.send(Job::Values(data.clone(), back)) {
                        Ok(()) => (Arc::from(Vec::new()), Some(Parsed::Values(parsed))),
                        Err(_) => (data, None),
                    }
                }
                Some(tx) => {
                    let (back, parsed) = std::sync::mpsc::channel();
                    match tx.send(Job::Schema(data.clone(), back)) {
                        Ok(()) => (data, Some(Parsed::Schema(parsed))),
                        Err(_) => (data, None),
                    }
                }
            };
            out.push(Early {
                path: e.path.clone(),
                len,
                data,
                parsed,
            });
        }
        out
    }
}

impl<T: FileTree + ?Sized> Walker<'_, T> {
    /// The loading thread, started on first use.
    fn loading_thread(&mut self) -> Option<std::sync::mpsc::Sender<Job>> {
        if let Loading::Idle = self.loading {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            self.loading = match std::thread::Builder::new()
                .name("helm-values".into())
                .stack_size(16 << 20)
                .spawn(move || loading_thread(rx))
            {
                Ok(_) => Loading::Running(tx),
                Err(_) => Loading::Unavailable,
            };
        }
        match &self.loading {
            Loading::Running(tx) => Some(tx.clone()),
            _ => None,
        }
    }
}

/// A file read ahead of the walk: its size as read, what joins the files
/// and where its parse comes from, when it went to the loading thread.
struct Early {
    path: RelPath,
    len: usize,
    data: Arc<[u8]>,
    parsed: Option<Parsed>,
}

/// Whether `rel` (relative to the chart directory) is the file `name` of
/// the chart or of a subchart directory: `values.yaml`,
/// `charts/NAME/values.yaml`, `charts/NAME/charts/NAME/values.yaml`…
fn is_chart_file(rel: &str, name: &str) -> bool {
    let mut parts = rel.split('/');
    let mut n = 0usize;
    loop {
        match (parts.next(), n % 2) {
            (Some(p), 0) if p == name => return parts.next().is_none(),
            (Some("charts"), 0) | (Some(_), 1) => n += 1,
            _ => return false,
        }
    }
}

/// `.helmignore` rules (Helm `pkg/ignore`).
#[derive(Default)]
struct Rules {
    patterns: Vec<Pattern>,
}

struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: PatKind,
}

enum PatKind {
    Rooted,
    Path,
    Base,
}

impl Rules {
    fn parse(text: &str) -> Result<Rules, Error> {
        let mut r = Rules::default();
        for line in text.lines() {
            r.add(line.trim_start_matches('\u{feff}'))?;
        }
        Ok(r)
    }

    fn add(&mut self, rule: &str) -> Result<(), Error> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(Error::Load(
                "double-star (**) syntax is not supported".into(),
            ));
        }
        if go_match(rule, "abc").is_err() {
            return Err(Error::Load("syntax error in pattern".into()));
        }
        let mut rule = rule;
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let (kind, rule) = if let Some(r) = rule.strip_prefix('/') {
            (PatKind::Rooted, r)
        } else if rule.contains('/') {
            (PatKind::Path, rule)
        } else {
            (PatKind::Base, rule)
        };
        self.patterns.push(Pattern {
            rule: rule.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let matched = || match p.kind {
                PatKind::Rooted | PatKind::Path => go_match(&p.rule, path).unwrap_or(false),
                PatKind::Base => {
                    go_match(&p.rule, path.rsplit('/').next().unwrap_or(path)).unwrap_or(false)
                }
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched() {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched() {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Match` (`*` and `?` do not match `/`).
pub(crate) fn go_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let is_meta = |c: char| matches!(c, '*' | '?' | '[' | '\\');
    // Fast paths: a literal pattern, and `*literal` (`*` stops at `/`).
    if !pattern.contains(is_meta) {
        return Ok(pattern == name);
    }
    if let Some(rest) = pattern.strip_prefix('*')
        && !rest.contains(is_meta)
        && !rest.contains('/')
    {
        return Ok(name
            .strip_suffix(rest)
            .is_some_and(|head| !head.contains('/')));
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Validate the pattern first (Go reports ErrBadPattern).
    validate(&p)?;
    Ok(match_from(&p, 0, &n, 0))
}

fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let end = class_end(p, i).ok_or(())?;
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < p.len() && p[i] == '^' {
        i += 1;
    }
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some(i);
        }
        if p[i] == '\\' {
            i += 1;
        }
        first = false;
        i += 1;
    }
    None
}

fn match_class(p: &[char], start: usize, end: usize, c: char) -> bool {
    let mut i = start + 1;
    let negated = i < end && p[i] == '^';
    if negated {
        i += 1;
    }
    let mut matched = false;
    while i < end {
        let mut lo = p[i];
        if lo == '\\' && i + 1 < end {
            i += 1;
            lo = p[i];
        }
        let mut hi = lo;
        if i + 2 < end && p[i + 1] == '-' {
            hi = p[i + 2];
            if hi == '\\' && i + 3 < end {
                hi = p[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
        i += 1;
    }
    matched != negated
}

fn match_from(p: &[char], pi: usize, n: &[char], ni: usize) -> bool {
    if pi == p.len() {
        return ni == n.len();
    }
    match p[pi] {
        '*' => {
            let mut k = ni;
            loop {
                if match_from(p, pi + 1, n, k) {
                    return true;
                }
                if k >= n.len() || n[k] == '/' {
                    return false;
                }
                k += 1;
            }
        }
        '?' => ni < n.len() && n[ni] != '/' && match_from(p, pi + 1, n, ni + 1),
        '[' => {
            let Some(end) = class_end(p, pi) else {
                return false;
            };
            ni < n.len()
                && n[ni] != '/'
                && match_class(p, pi, end, n[ni])
                && match_from(p, end + 1, n, ni + 1)
        }
        '\\' if pi + 1 < p.len() => {
            ni < n.len() && n[ni] == p[pi + 1] && match_from(p, pi + 2, n, ni + 1)
        }
        c => ni < n.len() && n[ni] == c && match_from(p, pi + 1, n, ni + 1),
    }
}

fn file(name: &str, data: Arc<[u8]>) -> ChartFile {
    ChartFile {
        name: name.to_string(),
        data,
    }
}

/// A chart's `values.yaml` of at least this size is parsed on a thread of
/// its own while its subcharts (with their values files) load, when it has
/// subcharts: below it, or with nothing to load beside it, the thread costs
/// more than it saves.
const VALUES_THREAD_MIN_BYTES: usize = 64 << 10;

/// `values.yaml`: every document merged.
fn values_file(data: &[u8]) -> Result<Map<String, Json>, Error> {
    let text = super::utf8_text(data);
    let docs = super::yaml::parse_all(&text).map_err(|e| {
        Error::Load(format!(
            "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: {e}"
        ))
    })?;
    let mut values = Map::new();
    for d in docs {
        match d {
            Json::Object(m) => values = merge_maps(values, m),
            Json::Null => {}
            other => {
                return Err(Error::Load(format!(
                    "cannot load values.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                )));
            }
        }
    }
    Ok(values)
}

/// Helm `LoadFiles`.
fn load_files(files: Vec<Buffered>, depth: usize) -> Result<Chart, Error> {
    if depth > MAX_NESTING {
        return Err(Error::Load(format!(
            "subcharts nest deeper than {MAX_NESTING} levels"
        )));
    }
    std::thread::scope(|s| load_files_in(s, files, depth))
}

/// [`load_files`], with a large `values.yaml` parsed on a thread of scope
/// `s`. Helm reads `values.yaml` in file order, so its error comes before
/// the errors found after it.
fn load_files_in<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    files: Vec<Buffered>,
    depth: usize,
) -> Result<Chart, Error> {
    let mut pending: Option<std::thread::ScopedJoinHandle<'s, Result<Map<String, Json>, Error>>> =
        None;
    let has_subcharts = files.iter().any(|f| f.name.starts_with("charts/"));
    let body = || -> Result<Chart, Error> {
        let mut c = Chart::default();
        let mut meta: Option<Map<String, Json>> = None;
        for f in &files {
            if f.name == "Chart.yaml" {
                let text = super::utf8_text(&f.data);
                let v = super::yaml::parse_first(&text).map_err(|e| {
                    Error::Load(format!(
                        "cannot load Chart.yaml: error converting YAML to JSON: {e}"
                    ))
                })?;
                let m = match v {
                    Json::Object(m) => m,
                    Json::Null => Map::new(),
                    other => {
                        return Err(Error::Load(format!(
                            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type v2.Metadata",
                            json_kind(&other)
                        )));
                    }
                };
                meta = Some(m);
            }
        }
        let mut subcharts: std::collections::BTreeMap<String, Vec<Buffered>> = Default::default();
        let mut requirements: Option<Map<String, Json>> = None;
        let api_v1 = meta
            .as_ref()
            .map(|m| m.get("apiVersion").and_then(Json::as_str).unwrap_or("v1") == "v1")
            .unwrap_or(true);
        for f in files {
            let name = f.name.clone();
            match name.as_str() {
                "Chart.yaml" => {}
                "Chart.lock" | "requirements.lock" => {
                    let text = super::utf8_text(&f.data);
                    let v = super::yaml::parse_first(&text).map_err(|e| {
                        Error::Load(format!(
                            "cannot load {name}: error converting YAML to JSON: {e}"
                        ))
                    })?;
                    c.lock = Some(v);
                    if name == "requirements.lock" && api_v1 {
                        c.files.push(file(&name, f.data));
                    }
                }
                "values.yaml" if matches!(f.parsed, Some(Parsed::Values(_))) => {
                    let parsed = match f.parsed {
                        Some(Parsed::Values(rx)) => rx.recv().ok(),
                        _ => None,
                    };
                    c.values = parsed.unwrap_or_else(|| {
                        Err(Error::Load(
                            "cannot load values.yaml: the values parser stopped".into(),
                        ))
                    })?;
                }
                "values.yaml" if has_subcharts && f.data.len() >= VALUES_THREAD_MIN_BYTES => {
                    let data = f.data;
                    let beside = data.clone();
                    match std::thread::Builder::new()
                        .name("helm-values".into())
                        .stack_size(16 << 20)
                        .spawn_scoped(s, move || values_file(&beside))
                    {
                        Ok(h) => pending = Some(h),
                        Err(_) => c.values = values_file(&data)?,
                    }
                }
                "values.yaml" => c.values = values_file(&f.data)?,
                "values.schema.json" => {
                    if let Some(Parsed::Schema(rx)) = f.parsed {
                        c.parsed_schema = super::ParsedSchema::parsing(f.data.clone(), rx);
                    }
                    c.schema = Some(f.data.to_vec());
                }
                "requirements.yaml" => {
                    let text = super::utf8_text(&f.data);
                    let v = super::yaml::parse_first(&text).map_err(|e| {
                        Error::Load(format!(
                            "cannot load requirements.yaml: error converting YAML to JSON: {e}"
                        ))
                    })?;
                    if let Json::Object(m) = v {
                        requirements = Some(m);
                    }
                    if api_v1 {
                        c.files.push(file(&name, f.data));
                    }
                }
                n if n.starts_with("templates/") => c.templates.push(file(n, f.data)),
                n if n.starts_with("charts/") => {
                    if n.ends_with(".prov") {
                        c.files.push(file(n, f.data));
                        continue;
                    }
                    let fname = &n["charts/".len()..];
                    let cname = fname.split('/').next().unwrap_or_default().to_string();
                    subcharts.entry(cname).or_default().push(Buffered {
                        name: fname.to_string(),
                        data: f.data,
                        parsed: f.parsed,
                    });
                }
                n => c.files.push(file(n, f.data)),
            }
        }
        let Some(mut meta_map) = meta else {
            return Err(Error::Load("Chart.yaml file is missing".into()));
        };
        if let Some(req) = requirements {
            for (k, v) in req {
                meta_map.insert(k, v);
            }
        }
        c.metadata = metadata_from(&meta_map)?;
        validate_metadata(&mut c.metadata)?;
        for (n, files) in subcharts {
            if n.starts_with('_') || n.starts_with('.') {
                continue;
            }
            let sc = if n.ends_with(".tgz") {
                let first = &files[0];
                if first.name != n {
                    return Err(Error::Load(format!(
                        "error unpacking subchart tar in {}: expected {n}, got {}",
                        c.name(),
                        first.name
                    )));
                }
                load_archive_depth(&first.data, depth + 1)
            } else {
                let buff: Vec<Buffered> = files
                    .into_iter()
                    .filter_map(|f| {
                        f.name.split_once('/').map(|(_, rest)| Buffered {
                            name: rest.to_string(),
                            data: f.data,
                            parsed: f.parsed,
                        })
                    })
                    .collect();
                load_files(buff, depth + 1)
            };
            match sc {
                Ok(sc) => c.dependencies.push(sc),
                Err(e) => {
                    return Err(Error::Load(format!(
                        "error unpacking subchart {n} in {}: {e}",
                        c.name()
                    )));
                }
            }
        }
        Ok(c)
    };
    let loaded = body();
    // Helm reads `values.yaml` in file order: its error comes before those
    // found after it.
    let values = pending.map(|h| {
        h.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    match (loaded, values) {
        (_, Some(Err(first))) => Err(first),
        (Err(e), _) => Err(e),
        (Ok(mut c), Some(Ok(values))) => {
            c.values = values;
            Ok(c)
        }
        (Ok(c), None) => Ok(c),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Helm loader `MergeMaps`.
pub(crate) fn merge_maps(mut a: Map<String, Json>, b: Map<String, Json>) -> Map<String, Json> {
    for (k, v) in b {
        if let Json::Object(vm) = v {
            if let Some(Json::Object(_)) = a.get(&k) {
                let Some(Json::Object(am)) = a.remove(&k) else {
                    unreachable!()
                };
                a.insert(k, Json::Object(merge_maps(am, vm)));
                continue;
            }
            a.insert(k, Json::Object(vm));
        } else {
            a.insert(k, v);
        }
    }
    a
}

fn unmarshal_err(field: &str, ty: &str, v: &Json) -> Error {
    Error::Load(format!(
        "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field Metadata.{field} of type {ty}",
        json_kind(v)
    ))
}

fn get_str(m: &Map<String, Json>, key: &str) -> Result<String, Error> {
    match m.get(key) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(unmarshal_err(key, "string", other)),
    }
}

fn get_strs(m: &Map<String, Json>, key: &str) -> Result<Vec<String>, Error> {
    match m.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(a)) => a
            .iter()
            .map(|e| match e {
                Json::String(s) => Ok(s.clone()),
                Json::Null => Ok(String::new()),
                other => Err(unmarshal_err(key, "string", other)),
            })
            .collect(),
        Some(other) => Err(unmarshal_err(key, "[]string", other)),
    }
}

fn metadata_from(m: &Map<String, Json>) -> Result<Metadata, Error> {
    let mut md = Metadata {
        name: get_str(m, "name")?,
        home: get_str(m, "home")?,
        sources: get_strs(m, "sources")?,
        version: get_str(m, "version")?,
        description: get_str(m, "description")?,
        keywords: get_strs(m, "keywords")?,
        icon: get_str(m, "icon")?,
        api_version: get_str(m, "apiVersion")?,
        condition: get_str(m, "condition")?,
        tags: get_str(m, "tags")?,
        app_version: get_str(m, "appVersion")?,
        kube_version: get_str(m, "kubeVersion")?,
        chart_type: get_str(m, "type")?,
        ..Metadata::default()
    };
    if md.api_version.is_empty() {
        md.api_version = "v1".into();
    }
    match m.get("deprecated") {
        None | Some(Json::Null) => {}
        Some(Json::Bool(b)) => md.deprecated = *b,
        Some(other) => return Err(unmarshal_err("deprecated", "bool", other)),
    }
    match m.get("annotations") {
        None | Some(Json::Null) => {}
        Some(Json::Object(a)) => {
            for (k, v) in a {
                match v {
                    Json::String(s) => {
                        md.annotations.insert(k.clone(), s.clone());
                    }
                    Json::Null => {
                        md.annotations.insert(k.clone(), String::new());
                    }
                    other => return Err(unmarshal_err("annotations", "string", other)),
                }
            }
        }
        Some(other) => return Err(unmarshal_err("annotations", "map[string]string", other)),
    }
    if let Some(Json::Array(ms)) = m.get("maintainers") {
        for e in ms {
            let Json::Object(em) = e else {
                return Err(Error::Load(
                    "validation: maintainers must not contain empty or null nodes".into(),
                ));
            };
            md.maintainers.push(Maintainer {
                name: get_str(em, "name")?,
                email: get_str(em, "email")?,
                url: get_str(em, "url")?,
            });
        }
    }
    if let Some(Json::Array(ds)) = m.get("dependencies") {
        for e in ds {
            let Json::Object(dm) = e else {
                return Err(Error::Load(
                    "validation: dependencies must not contain empty or null nodes".into(),
                ));
            };
            let tags = get_strs(dm, "tags")?;
            let import_values = match dm.get("import-values") {
                Some(Json::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            let version = match dm.get("version") {
                Some(Json::Number(n)) => n.to_string(),
                _ => get_str(dm, "version")?,
            };
            md.dependencies.push(Dependency {
                name: get_str(dm, "name")?,
                version,
                repository: get_str(dm, "repository")?,
                condition: get_str(dm, "condition")?,
                tags,
                enabled: get_bool(dm, "enabled"),
                import_values,
                alias: get_str(dm, "alias")?,
            });
        }
    }
    Ok(md)
}

fn get_bool(m: &Map<String, Json>, key: &str) -> bool {
    matches!(m.get(key), Some(Json::Bool(true)))
}

/// Go's `unicode.IsSpace` → ' ', non-printable removed (Helm `sanitizeString`).
fn sanitize(s: &mut String) {
    if s.chars()
        .all(|c| !c.is_control() && (c == ' ' || !c.is_whitespace()))
    {
        return;
    }
    *s = s
        .chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect();
}

fn validation(msg: impl std::fmt::Display) -> Error {
    Error::Load(format!("validation: {msg}"))
}

/// Helm `Metadata.Validate` (the part that applies at load time).
fn validate_metadata(md: &mut Metadata) -> Result<(), Error> {
    for s in [
        &mut md.name,
        &mut md.description,
        &mut md.home,
        &mut md.icon,
        &mut md.condition,
        &mut md.tags,
        &mut md.app_version,
        &mut md.kube_version,
    ] {
        sanitize(s);
    }
    for s in md.sources.iter_mut().chain(md.keywords.iter_mut()) {
        sanitize(s);
    }
    if md.api_version.is_empty() {
        return Err(validation("chart.metadata.apiVersion is required"));
    }
    if md.name.is_empty() {
        return Err(validation("chart.metadata.name is required"));
    }
    if md.name == "." || md.name == ".." {
        return Err(validation(format!(
            "chart.metadata.name {:?} is not allowed",
            md.name
        )));
    }
    if md.name.contains('/') {
        return Err(validation(format!(
            "chart.metadata.name {:?} is invalid",
            md.name
        )));
    }
    if md.version.is_empty() {
        return Err(validation("chart.metadata.version is required"));
    }
    if gitops_core::semver::Version::parse(&md.version).is_err() {
        return Err(validation(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        )));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return Err(validation(
            "chart.metadata.type must be application or library",
        ));
    }
    for m in &mut md.maintainers {
        sanitize(&mut m.name);
        sanitize(&mut m.email);
        sanitize(&mut m.url);
    }
    let mut seen = std::collections::HashSet::new();
    for d in &mut md.dependencies {
        for s in [
            &mut d.name,
            &mut d.version,
            &mut d.repository,
            &mut d.condition,
            &mut d.alias,
        ] {
            sanitize(s);
        }
        for t in &mut d.tags {
            sanitize(t);
        }
        if d.name.is_empty() {
            return Err(validation("dependencies must have a name"));
        }
        if d.name.contains('/') || d.name.contains('\\') {
            return Err(validation(format!(
                "dependency name {:?} is invalid",
                d.name
            )));
        }
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(validation(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            )));
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if !seen.insert(key.clone()) {
            return Err(validation(format!(
                "more than one dependency with name or alias {key:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod values_path_tests {
    use super::is_chart_file;

    #[test]
    fn chart_and_subchart_values_files() {
        for yes in [
            "values.yaml",
            "charts/a/values.yaml",
            "charts/a/charts/b/values.yaml",
        ] {
            assert!(is_chart_file(yes, "values.yaml"), "{yes}");
        }
        for no in [
            "templates/values.yaml",
            "charts/values.yaml",
            "charts/a/files/values.yaml",
            "values.yaml/x",
            "files/charts/a/values.yaml",
            "charts/a/charts/values.yaml",
            "Values.yaml",
        ] {
            assert!(!is_chart_file(no, "values.yaml"), "{no}");
        }
    }
}
