//! The web UI of `horus monitor`: one page and one JSON endpoint, served
//! with [`super::http`] on `--bind` (default 127.0.0.1, this machine only) and
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
//! One client must not stop the monitor for the others, nor at all: the
//! server ([`super::http`]) bounds what each connection may cost (its head's
//! size and time, the connections at once) and answers each on a thread of
//! its own; the file-descriptor limit is raised to its hard limit. Bound to
//! a loopback address, it answers only requests whose `Host` is a loopback
//! name: a web page elsewhere cannot read the snapshot (node names, process
//! ids, paths) through DNS rebinding.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{Request, Response, Server};
use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{POLL, StopRequests};

const PAGE: &str = include_str!("page.html");

/// Pause before accepting again after `accept` failed (out of descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serves until SIGINT/SIGTERM.
pub fn serve(ctx: &Ctx, bind: IpAddr, port: u16) -> anyhow::Result<ExitCode> {
    let addr = SocketAddr::new(bind, port);
    let server = Server::bind(addr).map_err(|e| {
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
    // The address actually bound (with --port 0, the port the system chose).
    let bound = server.local_addr().unwrap_or(addr);
    let shown = if bind.is_loopback() {
        bound
            .to_string()
            .replacen(&bind.to_string(), "localhost", 1)
    } else {
        bound.to_string()
    };
    outln!(
        "horus monitor: web UI at http://{shown} (namespace {}); Ctrl+C to stop",
        ctx.namespace
    );
    let ctx = ctx.clone();
    let local_only = bind.is_loopback();
    let rates = Mutex::<super::graph::Rates>::default();
    let handler = Arc::new(move |request: &Request| answer(&ctx, local_only, &rates, request));
    let mut warned = false;
    while stop.count() == 0 {
        match server.accept_waiting(&handler) {
            Ok(()) => std::thread::sleep(POLL),
            Err(e) => {
                if !std::mem::replace(&mut warned, true) {
                    eprintln!(
                        "horus monitor: cannot accept connections now ({e}); trying again \
                         every second"
                    );
                }
                std::thread::sleep(ACCEPT_PAUSE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Answers one request (on its connection's thread).
fn answer(
    ctx: &Ctx,
    local_only: bool,
    rates: &Mutex<super::graph::Rates>,
    request: &Request,
) -> Response {
    if local_only && !request.host.as_deref().is_none_or(is_loopback_host) {
        return json(
            &error(
                "this monitor answers only requests for localhost (it is bound to a loopback \
                 address): open it as http://localhost:PORT"
                    .to_owned(),
            ),
            403,
        );
    }
    let get = matches!(request.method.as_str(), "GET" | "HEAD");
    match (get, request.path.as_str()) {
        (true, "/") => Response::new(200, "text/html; charset=utf-8", PAGE),
        (true, "/api/snapshot") => {
            let mut rates = rates.lock().unwrap_or_else(|e| e.into_inner());
            match super::snapshot_json(ctx, &mut rates) {
                Ok(v) => json(&v, 200),
                Err(e) => json(&error(format!("{e:#}")), 500),
            }
        }
        (true, _) => json(&error("not found".to_owned()), 404),
        (false, _) => {
            let mut r = json(&error("only GET and HEAD".to_owned()), 405);
            r.headers.push(("Allow", "GET, HEAD"));
            r
        }
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port. (A request
/// without `Host` is answered: no browser sends one.)
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

fn error(error: String) -> crate::json::ApiError {
    crate::json::ApiError { error }
}

fn json(v: &impl serde::Serialize, status: u16) -> Response {
    // Serializing these derived types cannot fail (string keys, no maps of other keys).
    let body = serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    Response::new(status, "application/json", body)
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
