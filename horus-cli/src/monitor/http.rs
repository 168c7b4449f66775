//! The monitor's HTTP/1.x server: one request per connection, each on a
//! thread of its own, with every cost a client can cause bounded. Request
//! heads are parsed by `httparse`; nothing else of HTTP is needed (no body,
//! no keep-alive, no chunking: the page asks for one small snapshot a
//! second).
//!
//! Bounds (a client must not stop the monitor for the others, nor at all,
//! whatever it sends, or does not send):
//! - [`MAX_HEAD`] bytes of request line and headers, at most [`MAX_HEADERS`]
//!   headers: beyond, `431`; malformed, `400`.
//! - [`HEAD_TIMEOUT`] to send the whole head, [`WRITE_TIMEOUT`] to take the
//!   whole reply (a deadline each, not a bound per read or write call): a
//!   silent or slow client holds one thread that long at most.
//! - [`MAX_CONNECTIONS`] served at once, at most [`MAX_PER_PEER`] of them
//!   from one address, [`MAX_PER_PREFIX`] from one IPv6 /64, the last
//!   [`RESERVED`] for addresses without a connection (see
//!   [`admission`](super::admission)). Every place taken, a new connection
//!   evicts the oldest one still reading its head after [`EVICT_AFTER`]
//!   (shut down: its thread ends at once), so that clients holding
//!   connections without sending stop no real request; no such connection,
//!   or [`MAX_EVICTING`] evictions in flight, the new one is closed at once.
//! - A request body is never read: the reply is sent, the sending side shut
//!   down, and what the client still sends is drained (at most
//!   [`DRAIN_BYTES`], for at most [`DRAIN_TIME`]) so that closing does not
//!   reset the connection before the client has read the reply.
//! - Every reply says `X-Content-Type-Options: nosniff`: the snapshot and
//!   the errors hold names anyone may write (`<script>` included), and are
//!   to be read as the JSON they say they are, never sniffed as a page.
//! - An `accept` that fails (out of descriptors) is retried after a pause,
//!   the listening socket kept.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::admission::{Admission, Ticket};
#[cfg(doc)]
use super::admission::{
    EVICT_AFTER, MAX_CONNECTIONS, MAX_EVICTING, MAX_PER_PEER, MAX_PER_PREFIX, RESERVED,
};

/// Most bytes of request line and headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a request.
pub const MAX_HEADERS: usize = 48;
/// Time a client has to send its whole request head: a browser sends it
/// at once; a client that dribbles it holds a place this long (it was 10 s,
/// which let a client reconnecting in a loop keep its places), or until a
/// newcomer evicts it, every place taken.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);
/// Time a client has to take the whole reply (a deadline for all the
/// writes, not for each: a client reading a byte at a time holds its
/// thread this long at most).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// What is drained of a request body after the reply, at most.
pub const DRAIN_BYTES: usize = 64 * 1024;
/// How long it is drained, at most.
pub const DRAIN_TIME: Duration = Duration::from_secs(1);

/// The name of the threads that answer requests.
const THREAD: &str = "horus-monitor-http";

/// A request head, as the handler sees it.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The path, without its query string.
    pub path: String,
    /// The `Host` header, if any (two are refused: `400`).
    pub host: Option<String>,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// The `Sec-Fetch-Site` header, if any.
    pub fetch_site: Option<String>,
    /// The `Sec-Fetch-Mode` header, if any.
    pub fetch_mode: Option<String>,
}

/// A reply.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra headers (`Allow`, `Content-Security-Policy`).
    pub headers: Vec<(&'static str, String)>,
    /// The body (not sent for `HEAD`).
    pub body: Vec<u8>,
}

impl Response {
    /// A reply of `status` with `body` of `content_type`.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

/// A listening socket and the connections being served.
pub struct Server {
    listener: TcpListener,
    active: Arc<Admission>,
}

impl Server {
    /// Listens on `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        // Polled, so that the caller can check its stop requests.
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            active: Arc::default(),
        })
    }

    /// The address bound (with port 0, the port the system chose).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts the connections waiting, each answered by `handler` on a
    /// thread of its own; returns when none is waiting. An `accept` error
    /// (EMFILE) is returned: the caller pauses and calls again.
    pub fn accept_waiting<H>(&self, handler: &Arc<H>) -> io::Result<()>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let Some(ticket) = self.active.admit(peer.ip(), &stream) else {
                continue; // closed at once
            };
            let handler = Arc::clone(handler);
            // No thread: the connection and its ticket (moved into the
            // closure) are dropped: closed, its place given back.
            let _ = std::thread::Builder::new()
                .name(THREAD.to_owned())
                .spawn(move || {
                    // Errors are the client's (gone, too slow): nothing to do.
                    let _ = serve(stream, &ticket, &*handler);
                    drop(ticket);
                });
        }
    }
}

/// Reads one request head from `stream`, answers it, and closes; the
/// connection holds `ticket`.
fn serve(
    mut stream: TcpStream,
    ticket: &Ticket,
    handler: &impl Fn(&Request) -> Response,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    let head = read_head(&mut stream)?;
    ticket.answering();
    let (reply, method) = match head {
        Ok(request) => (handler(&request), request.method),
        Err(reply) => (reply, String::new()),
    };
    write_reply(&mut stream, &reply, method == "HEAD")?;
    stream.shutdown(Shutdown::Write)?;
    drain(&mut stream);
    Ok(())
}

/// The request head, or the reply that refuses it (`400`, `431`);
/// `Err` if the client went away or was too slow.
fn read_head(stream: &mut TcpStream) -> io::Result<Result<Request, Response>> {
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        if len == MAX_HEAD {
            return Ok(Err(refusal(431, "request head larger than 16 KiB")));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf[len..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                let values = |name: &'static str| {
                    request
                        .headers
                        .iter()
                        .filter(move |h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                // RFC 9112 3.2: more than one Host is a bad request (which
                // one would the checks look at?); so are two of the headers
                // the access checks read, which a browser never sends twice.
                for name in ["Host", "Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode"] {
                    if values(name).nth(1).is_some() {
                        let why = format!("more than one {name} header");
                        return Ok(Err(refusal(400, &why)));
                    }
                }
                let target = request.path.unwrap_or("");
                let path = target.split(['?', '#']).next().unwrap_or("");
                return Ok(Ok(Request {
                    method: request.method.unwrap_or("").to_owned(),
                    path: path.to_owned(),
                    host: values("Host").next(),
                    origin: values("Origin").next(),
                    fetch_site: values("Sec-Fetch-Site").next(),
                    fetch_mode: values("Sec-Fetch-Mode").next(),
                }));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Ok(Err(refusal(431, "more than 48 request headers")));
            }
            Err(e) => return Ok(Err(refusal(400, &format!("malformed request: {e}")))),
        }
    }
}

fn refusal(status: u16, why: &str) -> Response {
    let body = serde_json::json!({ "error": why }).to_string();
    Response::new(status, "application/json", body)
}

fn write_reply(stream: &mut TcpStream, reply: &Response, head_only: bool) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
         X-Content-Type-Options: nosniff\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&reply.body);
    }
    write_within(stream, &bytes, WRITE_TIMEOUT)
}

/// Writes all of `bytes` to `stream` within `time`, however the client
/// takes them (`SO_SNDTIMEO` bounds one write call only: each is given
/// what is left of `time`); `TimedOut` past it.
fn write_within(stream: &mut TcpStream, mut bytes: &[u8], time: Duration) -> io::Result<()> {
    let deadline = Instant::now() + time;
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}

/// Reads and drops what the client still sends (bounded), so that the
/// close is not a reset that discards the reply before the client read it.
fn drain(stream: &mut TcpStream) {
    let deadline = Instant::now() + DRAIN_TIME;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < DRAIN_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Was: the write timeout bounded each write call, so a client taking
    /// the reply a little at a time held its thread for as long as it liked.
    #[test]
    fn a_reply_has_one_deadline_however_slowly_it_is_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = Arc::clone(&done);
        let reader = std::thread::spawn(move || {
            let mut client = TcpStream::connect(addr).unwrap();
            let mut chunk = [0u8; 16 * 1024];
            // 16 KiB every 10 ms (1.6 MB/s) until the test is over.
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && client.read(&mut chunk).is_ok_and(|n| n > 0)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let (mut server, _) = listener.accept().unwrap();
        let reply = vec![b'x'; 16 << 20]; // 10 s at that pace
        let started = Instant::now();
        let result = write_within(&mut server, &reply, Duration::from_millis(300));
        let took = started.elapsed();
        assert_eq!(result.map_err(|e| e.kind()), Err(io::ErrorKind::TimedOut));
        assert!(took < Duration::from_secs(5), "took {took:?}");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
    }
}
