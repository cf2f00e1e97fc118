//! A tiny threaded HTTP/1.1 server (one request per connection,
//! `Connection: close`) used for the static Helm repository, the
//! fault-injecting proxy and the token service.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path with query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many body bytes (but announce the full length).
    pub truncate_to: Option<usize>,
    /// Sleep before answering.
    pub delay: Option<Duration>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            truncate_to: None,
            delay: None,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// A running server; stops accepting when dropped.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let handler = handler.clone();
                let log = log2.clone();
                std::thread::spawn(move || serve(stream, &handler, &log));
            }
        });
        Server { port, stop, log }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("log").clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().expect("log").clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let Some(req) = read_request(&mut reader) else {
        return;
    };
    log.lock().expect("log").push(req.clone());
    let resp = handler(&req);
    let _ = write_response(stream, &req, &resp);
}

pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let headers = read_headers(reader)?;
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn read_headers(reader: &mut impl BufRead) -> Option<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            return Some(headers);
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(mut stream: TcpStream, req: &Request, resp: &Response) -> std::io::Result<()> {
    if let Some(d) = resp.delay {
        std::thread::sleep(d);
    }
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        if k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("connection")
            || k.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    stream.write_all(head.as_bytes())?;
    if req.method != "HEAD" {
        let n = resp
            .truncate_to
            .unwrap_or(resp.body.len())
            .min(resp.body.len());
        stream.write_all(&resp.body[..n])?;
    }
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Forward `req` to `upstream` (`host:port`) and read the whole response.
pub fn forward(upstream: &str, req: &Request) -> Response {
    let fail = |why: String| Response::new(502, why);
    let Ok(mut s) = TcpStream::connect(upstream) else {
        return fail(format!("cannot connect to {upstream}"));
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    // The client's Host header is kept so the registry builds upload
    // locations that point back at the proxy.
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    if req.header("host").is_none() {
        head.push_str(&format!("Host: {upstream}\r\n"));
    }
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    if s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(&req.body))
        .is_err()
    {
        return fail("cannot write upstream".to_owned());
    }
    let mut reader = BufReader::new(s);
    let mut status_line = String::new();
    if reader.read_line(&mut status_line).is_err() {
        return fail("no status line".to_owned());
    }
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let Some(headers) = read_headers(&mut reader) else {
        return fail("bad headers".to_owned());
    };
    let mut body = Vec::new();
    if req.method != "HEAD" {
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        match len {
            _ if chunked => match read_chunked(&mut reader) {
                Some(b) => body = b,
                None => return fail("bad chunked upstream body".to_owned()),
            },
            Some(n) => {
                body = vec![0; n];
                if reader.read_exact(&mut body).is_err() {
                    return fail("short upstream body".to_owned());
                }
            }
            None => {
                let _ = reader.read_to_end(&mut body);
            }
        }
    }
    let mut resp = Response::new(status, body);
    // HEAD keeps the upstream length header semantics: we send an empty
    // body, so drop lengths.
    resp.headers = headers;
    if req.method == "HEAD" {
        resp.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
    }
    resp
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if n == 0 {
            // Trailers end with an empty line.
            let _ = read_headers(reader)?;
            return Some(body);
        }
        let start = body.len();
        body.resize(start + n, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).ok()?;
    }
}

/// Serve the files of `root` (GET/HEAD), with optional basic-auth check.
pub fn static_files(root: PathBuf, basic: Option<String>) -> Handler {
    Arc::new(move |req: &Request| {
        if let Some(expected) = &basic
            && req.header("authorization") != Some(expected.as_str())
        {
            return Response::new(401, "unauthorized")
                .header("WWW-Authenticate", "Basic realm=\"helm\"");
        }
        let rel = req.path().trim_start_matches('/');
        if rel.split('/').any(|s| s == "..") {
            return Response::new(404, "no");
        }
        match std::fs::read(root.join(rel)) {
            Ok(b) => Response::new(200, b).header("Content-Type", "application/octet-stream"),
            Err(_) => Response::new(404, "not found"),
        }
    })
}

/// Count requests per path.
pub fn count_paths(reqs: &[Request]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in reqs {
        *m.entry(r.path().to_owned()).or_insert(0) += 1;
    }
    m
}
