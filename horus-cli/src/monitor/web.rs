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
//! Each request reads the namespace afresh, the way `node list` and `topic
//! list` do; serving changes nothing in shared memory.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use tiny_http::{Header, Method, Response, Server};

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{POLL, StopRequests};

const PAGE: &str = include_str!("page.html");

/// Serves until SIGINT/SIGTERM.
pub fn serve(ctx: &Ctx, bind: IpAddr, port: u16) -> anyhow::Result<ExitCode> {
    let server = Server::http(SocketAddr::new(bind, port)).map_err(|e| {
        Failure::new(
            exit::ERROR,
            format!(
                "cannot serve the web UI on {bind}:{port}: {e}; is another `horus monitor` \
                 running? pick another port with --port (or --terminal for the terminal view)"
            ),
        )
    })?;
    let stop = StopRequests::watch()?;
    let at = server
        .server_addr()
        .to_ip()
        .map_or_else(|| format!("{bind}:{port}"), |a| a.to_string());
    let shown = if bind.is_loopback() {
        at.replacen(&bind.to_string(), "localhost", 1)
    } else {
        at
    };
    println!(
        "horus monitor: web UI at http://{shown} (namespace {}); Ctrl+C to stop",
        ctx.namespace
    );
    let mut rates = super::graph::Rates::default();
    while stop.count() == 0 {
        let Some(request) = server.recv_timeout(POLL)? else {
            continue;
        };
        let response = match (request.method(), request.url()) {
            (Method::Get, "/") => html(PAGE),
            (Method::Get, "/api/snapshot") => match super::snapshot_json(ctx, &mut rates) {
                Ok(v) => json(&v, 200),
                Err(e) => json(&error(format!("{e:#}")), 500),
            },
            (Method::Get, _) => json(&error("not found".to_owned()), 404),
            _ => json(&error("only GET".to_owned()), 405),
        };
        // A client that went away is no reason to stop serving.
        let _ = request.respond(response);
    }
    Ok(ExitCode::SUCCESS)
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
