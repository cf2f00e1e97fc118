//! A hostile HTTP/1.1 server for tests: one connection at a time on a
//! loopback address, answers from a closure, a log of what it was asked
//! (with the `Authorization` header, to prove what credentials reached
//! it). Stopped and joined, bounded in time, when the handle drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request target (path and query).
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// An answer: status, headers, body, and an optional delay before it.
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Answer {
    /// `status` with `body`, no extra header, no delay.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Add a response header.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Answers each request.
pub type Handler = Box<dyn Fn(&Seen) -> Answer + Send>;

/// A one-connection-at-a-time HTTP/1.1 server on a loopback address. Its
/// thread is stopped and joined when the handle drops.
pub struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    /// Bind `ip:0`; start serving with [`Hostile::serve`].
    pub fn bind(ip: &str) -> TcpListener {
        TcpListener::bind((ip, 0)).expect("bind a loopback address")
    }

    /// Serve `listener` with `handler` on a thread of its own.
    pub fn serve(listener: TcpListener, handler: Handler) -> Hostile {
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &handler, &log2),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Hostile {
            addr,
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// [`Hostile::bind`] then [`Hostile::serve`].
    pub fn start(ip: &str, handler: Handler) -> Hostile {
        Hostile::serve(Hostile::bind(ip), handler)
    }

    /// `ip:port` of the server.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(thread) = self.thread.take() else {
            return;
        };
        // One answer at most is in progress; each is bounded by its delay
        // and 5 s socket timeouts.
        let until = Instant::now() + Duration::from_secs(20);
        while !thread.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            eprintln!("test server {} did not stop within 20 s", self.addr);
        }
    }
}

fn answer(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let Some(target) = line.split_whitespace().nth(1).map(str::to_owned) else {
        return;
    };
    let (mut authorization, mut length) = (None, 0usize);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_owned());
            } else if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let seen = Seen {
        target,
        authorization,
    };
    log.lock().expect("log").push(seen.clone());
    let a = handler(&seen);
    std::thread::sleep(a.delay);
    let mut head = format!("HTTP/1.1 {} Answer\r\n", a.status);
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        a.body.len()
    ));
    let mut stream = stream;
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&a.body))
        .and_then(|()| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
