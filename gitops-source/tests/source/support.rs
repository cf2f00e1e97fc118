//! Real Git servers on 127.0.0.1, started and stopped by the tests, and
//! helpers to build repositories with the `git` binary.
//!
//! Servers stop on drop, with every process they started; every wait is
//! bounded. A missing `git` binary fails the tests (it never skips them).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use gitops_test_support::server;
use server::ServerProcess;

/// Run `git` in `dir` with an isolated configuration and fixed identities;
/// panics with git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = git_cmd(dir);
    cmd.args(args);
    gitops_test_support::output_of(cmd).trim().to_owned()
}

/// A `git` command with isolated configuration, a fixed identity and
/// fixed dates (so commit ids are the same on every run).
pub fn git_cmd(dir: &Path) -> Command {
    let mut c = gitops_test_support::git_cmd(dir);
    c.env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z");
    c
}

/// A directory of bare repositories served by the servers below, plus a
/// scratch area for work trees.
pub struct Repos {
    pub dir: tempfile::TempDir,
}

impl Repos {
    pub fn new() -> Repos {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("srv")).expect("srv dir");
        std::fs::create_dir(dir.path().join("work")).expect("work dir");
        Repos { dir }
    }

    /// The served root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("srv")
    }

    /// A new work tree named `name` whose `origin` is the bare repository
    /// `srv/<name>.git` (created, with `main` as default branch).
    pub fn work(&self, name: &str) -> Work {
        let bare = self.root().join(format!("{name}.git"));
        git(
            self.dir.path(),
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                bare.to_str().expect("utf-8"),
            ],
        );
        git(&bare, &["config", "receive.denyNonFastForwards", "false"]);
        let path = self.dir.path().join("work").join(name);
        git(
            self.dir.path(),
            &["init", "-q", "-b", "main", path.to_str().expect("utf-8")],
        );
        git(
            &path,
            &["remote", "add", "origin", bare.to_str().expect("utf-8")],
        );
        Work { path, bare }
    }
}

/// A work tree with a bare `origin`.
pub struct Work {
    pub path: PathBuf,
    pub bare: PathBuf,
}

impl Work {
    /// Write files (creating directories) and commit them; returns the commit id.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (p, text) in files {
            let f = self.path.join(p);
            std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
            std::fs::write(&f, text).expect("write");
        }
        git(&self.path, &["add", "-A"]);
        git(
            &self.path,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.path, &["rev-parse", "HEAD"])
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    /// Push all branches and tags, forced (setting up fixtures only).
    pub fn publish(&self) {
        git(&self.path, &["push", "-q", "--force", "--all", "origin"]);
        git(&self.path, &["push", "-q", "--force", "--tags", "origin"]);
    }

    /// Read a file of a branch in the bare repository.
    pub fn show(&self, rev_path: &str) -> String {
        git(&self.bare, &["show", rev_path])
    }
}

use gitops_test_support::free_port;

/// `git daemon` serving `root` on loopback, push enabled. Stopped on drop,
/// with every process it started (see `server`).
pub struct Daemon {
    _server: ServerProcess,
    pub port: u16,
}

impl Daemon {
    pub fn start(root: &Path) -> Daemon {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = ServerProcess::spawn(git_cmd(root).args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.display()),
                &root.display().to_string(),
            ]))
            .unwrap_or_else(|e| panic!("git daemon must be available: {e}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Daemon {
                        _server: server,
                        port,
                    };
                }
                if let Ok(Some(s)) = server.try_wait() {
                    last = format!("git daemon exited with {s}");
                    break;
                }
                if Instant::now() > deadline {
                    panic!("git daemon did not listen within 10 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not start git daemon: {last}");
    }

    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }
}

/// What the HTTP server accepts.
#[derive(Clone, Debug)]
pub enum HttpAuth {
    Basic { user: String, password: String },
    Bearer(String),
}

/// A tiny HTTP/1.1 server running `git http-backend` as CGI for every
/// request, behind basic or bearer auth. Stopped on drop.
pub struct HttpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(root: &Path, auth: HttpAuth) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let exec_path = git(&root, &["--exec-path"]);
        let backend = PathBuf::from(exec_path).join("git-http-backend");
        assert!(
            backend.exists(),
            "git-http-backend not found at {}",
            backend.display()
        );
        let flag = stop.clone();
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (root, auth, backend) = (root.clone(), auth.clone(), backend.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &root, &auth, &backend);
                });
            }
        });
        HttpServer {
            port,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}.git", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn authorized(auth: &HttpAuth, header: Option<&str>) -> Option<String> {
    let header = header?;
    match auth {
        HttpAuth::Basic { user, password } => {
            use base64::Engine as _;
            let b64 = header.strip_prefix("Basic ")?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            (text == format!("{user}:{password}")).then(|| user.clone())
        }
        HttpAuth::Bearer(token) => {
            (header.strip_prefix("Bearer ")?.trim() == token).then(|| "bearer".to_owned())
        }
    }
}

fn serve(stream: TcpStream, root: &Path, auth: &HttpAuth, backend: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(user) = authorized(auth, header("authorization")) else {
        let challenge = match auth {
            HttpAuth::Basic { .. } => "Basic realm=\"git\"",
            HttpAuth::Bearer(_) => "Bearer realm=\"git\"",
        };
        write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return out.flush();
    };
    if header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        write!(out, "HTTP/1.1 100 Continue\r\n\r\n")?;
        out.flush()?;
    }
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                reader.read_line(&mut end)?;
                break;
            }
            let mut chunk = vec![0u8; n];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = Command::new(backend);
    cmd.env_clear()
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_USER", &user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("CONTENT_TYPE", header("content-type").unwrap_or(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(p) = header("git-protocol") {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(enc) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let mut cgi = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut cgi)?;
    let _ = writer.join();
    let _ = child.wait();
    let split = cgi
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| cgi.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, payload) = match split {
        Some((i, n)) => (
            String::from_utf8_lossy(&cgi[..i]).into_owned(),
            &cgi[i + n..],
        ),
        None => (String::new(), &cgi[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut response_headers = String::new();
    for h in head.lines() {
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_owned(),
            Some(_) => {
                response_headers.push_str(h.trim_end());
                response_headers.push_str("\r\n");
            }
            None => {}
        }
    }
    write!(
        out,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    )?;
    out.write_all(payload)?;
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}
