//! The web UI of `horus monitor`: one page and one JSON endpoint, served
//! with `tiny_http` on `--bind` (default 127.0.0.1, this machine only) and
//! `--port` (default 3000, as the seed shows).
//!
//! - `GET /`: the page (`page.html`, embedded, self-contained): e-stop,
//!   anomalies, the topic graph ([`super::graph`]) drawn as SVG with the
//!   detail of a clicked process, node or topic, every node of every
//!   process, every topic; it fetches the snapshot once a second.
//! - `GET /api/snapshot`: the snapshot as JSON, the same document as
//!   `horus monitor --once --json`, its rates measured since the previous
//!   request (the server keeps the last sample of each topic).
//!
//! `HEAD` answers as `GET` without the body; a query string is ignored;
//! any other method is 405 with `Allow: GET, HEAD`.
//!
//! Each request reads the namespace afresh, the way `node list` and `topic
//! list` do; serving changes nothing in shared memory.
//!
//! One client must not stop the monitor for the others, nor at all:
//! - Each request is answered on a thread of its own. `tiny_http` reads and
//!   throws away an unread request body when the request is answered or
//!   dropped, as long as the client claims it to be (a client that never
//!   sends it holds that thread), and its drain panics on a claimed length
//!   it cannot allocate: on the request's own thread, that ends the thread,
//!   not the server. Those panics (and `tiny_http`'s on a connection reset
//!   under it) are logged at debug level, not printed.
//! - The file-descriptor limit is raised to its hard limit, and when the
//!   server stops accepting anyway (the limit reached: `tiny_http` then ends
//!   its accept loop) the monitor binds the same address again once it can.
//! - Bound to a loopback address, it answers only requests whose `Host` is
//!   a loopback name: a web page elsewhere cannot read the snapshot (node
//!   names, process ids, paths) through DNS rebinding.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{POLL, StopRequests};

const PAGE: &str = include_str!("page.html");

/// The name of the threads that answer requests.
const HTTP_THREAD: &str = "horus-monitor-http";

/// Time between tries to bind again after the server stopped accepting.
const REBIND_EVERY: Duration = Duration::from_secs(1);

/// What the request threads share.
struct Shared {
    ctx: Ctx,
    /// Loopback only: answer only loopback `Host`s.
    local_only: bool,
    rates: Mutex<super::graph::Rates>,
}

/// Serves until SIGINT/SIGTERM.
pub fn serve(ctx: &Ctx, bind: IpAddr, port: u16) -> anyhow::Result<ExitCode> {
    let addr = SocketAddr::new(bind, port);
    let mut server = Server::http(addr).map_err(|e| {
        Failure::new(
            exit::ERROR,
            format!(
                "cannot serve the web UI on {bind}:{port}: {e}; is another `horus monitor` \
                 running? pick another port with --port (or --terminal for the terminal view)"
            ),
        )
    })?;
    let stop = StopRequests::watch()?;
    raise_fd_limit();
    quiet_request_thread_panics();
    // The address actually bound (with --port 0, the port the system chose),
    // which a rebind must take again.
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    let shown = if bind.is_loopback() {
        bound
            .to_string()
            .replacen(&bind.to_string(), "localhost", 1)
    } else {
        bound.to_string()
    };
    println!(
        "horus monitor: web UI at http://{shown} (namespace {}); Ctrl+C to stop",
        ctx.namespace
    );
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        local_only: bind.is_loopback(),
        rates: Mutex::default(),
    });
    while stop.count() == 0 {
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => {
                let shared = Arc::clone(&shared);
                // Were the thread refused, the request would be dropped
                // here: tiny_http answers it 500.
                let _ = std::thread::Builder::new()
                    .name(HTTP_THREAD.to_owned())
                    .spawn(move || answer(&shared, request));
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!(
                    "horus monitor: the web server stopped accepting connections ({e}); \
                     serving again as soon as it can bind {bound}"
                );
                drop(server);
                server = loop {
                    if stop.count() > 0 {
                        return Ok(ExitCode::SUCCESS);
                    }
                    if let Ok(s) = Server::http(bound) {
                        break s;
                    }
                    std::thread::sleep(REBIND_EVERY);
                };
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Answers one request (on its own thread).
fn answer(shared: &Shared, request: Request) {
    let path = request.url().split(['?', '#']).next().unwrap_or("");
    let response = if shared.local_only && !loopback_host(&request) {
        json(
            &error(
                "this monitor answers only requests for localhost (it is bound to a loopback \
                 address): open it as http://localhost:PORT"
                    .to_owned(),
            ),
            403,
        )
    } else {
        match (request.method(), path) {
            (Method::Get | Method::Head, "/") => html(PAGE),
            (Method::Get | Method::Head, "/api/snapshot") => {
                let mut rates = shared.rates.lock().unwrap_or_else(|e| e.into_inner());
                match super::snapshot_json(&shared.ctx, &mut rates) {
                    Ok(v) => json(&v, 200),
                    Err(e) => json(&error(format!("{e:#}")), 500),
                }
            }
            (Method::Get | Method::Head, _) => json(&error("not found".to_owned()), 404),
            _ => json(&error("only GET and HEAD".to_owned()), 405)
                .with_header(Header::from_bytes("Allow", "GET, HEAD").expect("a valid header")),
        }
    };
    // A client that went away is no reason to stop serving.
    let _ = request.respond(response);
}

/// Whether the request's `Host` names this machine's loopback (or is
/// absent: no browser sends a request without one).
fn loopback_host(request: &Request) -> bool {
    let Some(host) = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str())
    else {
        return true;
    };
    is_loopback_host(host)
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Raises this process's soft limit on open files to its hard limit: each
/// connection costs the server a descriptor or two and a thread.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        // Refused, the limit stays what it was: nothing else to do.
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// Panics on the request threads (a body drain `tiny_http` cannot
/// allocate) and on `tiny_http`'s unnamed connection threads (a connection
/// reset under it) end those threads only; they are logged at debug level
/// instead of printed with a backtrace. Every other panic is printed as
/// before.
fn quiet_request_thread_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match std::thread::current().name() {
            None | Some(HTTP_THREAD) => {
                horus::log::debug!("monitor web client thread: {info}");
            }
            Some(_) => print(info),
        }));
    });
}

fn header(value: &str) -> Header {
    Header::from_bytes("Content-Type", value).expect("a valid static header")
}

fn html(body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body).with_header(header("text/html; charset=utf-8"))
}

fn error(error: String) -> crate::json::ApiError {
    crate::json::ApiError { error }
}

fn json(v: &impl serde::Serialize, status: u16) -> Response<std::io::Cursor<Vec<u8>>> {
    // Serializing these derived types cannot fail (string keys, no maps of other keys).
    let body = serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:1",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:3000",
            "localhost.evil.example",
            "192.168.1.2:3000",
            "[::2]:3000",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
