//! The web UI of `horus monitor`: one page and one JSON endpoint, served
//! with [`super::http`] on `--bind` (default 127.0.0.1, this machine only) and
//! `--port` (default 3000, as the seed shows).
//!
//! - `GET /`: the page (`page.html`, embedded, self-contained; served with
//!   a Content-Security-Policy that runs its one script only, by a nonce
//!   new with each reply, and forbids framing): e-stop,
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
//! A snapshot reads the namespace the way `node list` and `topic list` do;
//! serving changes nothing in shared memory. One taken less than
//! [`SNAPSHOT_REUSE`] ago is served again, so that many pages (tabs,
//! machines) cost one read per period between them.
//!
//! One client must not stop the monitor for the others, nor at all: the
//! server ([`super::http`]) bounds what each connection may cost (its head's
//! size and time, the connections at once) and answers each on a thread of
//! its own; the file-descriptor limit is raised to its hard limit. Requests
//! of other sites' pages, and requests for a `Host` that is not this
//! machine's, are refused before any work ([`super::access`]): a web page
//! elsewhere cannot read the snapshot (node names, process ids, paths)
//! through DNS rebinding, nor make the monitor busy.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::access::{self, Access};
use super::graph::Rates;
use super::http::{Request, Response, Server};
use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{POLL, StopRequests};

const PAGE: &str = include_str!("page.html");

/// The page may not be shown in a frame of another page (`<iframe>`):
/// a navigation to `/` is answered for a link from another site, but
/// framed, the page would poll the snapshot for that site once a second,
/// under whatever it draws over it. `X-Frame-Options` for browsers without
/// `frame-ancestors` (in [`page_policy`]).
const NOT_FRAMED: (&str, &str) = ("X-Frame-Options", "DENY");

/// The page's `Content-Security-Policy`: its one script (`<script nonce>`),
/// its styles, requests to its own server only, nothing else (no images,
/// frames, forms, plugins), and no framing. The page writes names anyone
/// may choose into its HTML, escaped; were one not, its markup could still
/// run no script (`onerror=`, `javascript:`) nor send anything anywhere.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// A nonce for the page's script: 128 random bits, in hex (a new one per
/// reply: markup written into the page cannot know it).
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No /dev/urandom: the standard library's randomly keyed hashers.
        for half in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(std::process::id().into());
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The page, its script given `nonce`.
fn page(nonce: &str) -> Response {
    let body = PAGE.replacen("<script>", &format!("<script nonce=\"{nonce}\">"), 1);
    let mut page = Response::new(200, "text/html; charset=utf-8", body);
    page.headers.push((NOT_FRAMED.0, NOT_FRAMED.1.to_owned()));
    page.headers
        .push(("Content-Security-Policy", page_policy(nonce)));
    page
}

/// Pause before accepting again after `accept` failed (out of descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// How long a snapshot is served again rather than read anew.
pub const SNAPSHOT_REUSE: Duration = Duration::from_millis(250);

/// Serves until SIGINT/SIGTERM (or until stdout is closed: the banner
/// could not be printed); `allowed` are the `--allow-host` names.
pub fn serve(ctx: &Ctx, bind: IpAddr, port: u16, allowed: &[String]) -> anyhow::Result<ExitCode> {
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
    let access = Access::new(bind, allowed);
    if !access::is_loopback(bind) {
        note!(
            "horus monitor: warning: listening on the network: anyone who can reach {bound} can \
             read the node names, process ids and topics of namespace {} (bind to 127.0.0.1, \
             the default, to keep it to this machine)",
            ctx.namespace
        );
    }
    outln!(
        "horus monitor: web UI at {} (namespace {}); Ctrl+C to stop",
        url(bound),
        ctx.namespace
    );
    let ctx = ctx.clone();
    let snapshots = Mutex::<Snapshots>::default();
    let handler = Arc::new(move |request: &Request| answer(&ctx, &access, &snapshots, request));
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

/// The URL to open for a server bound to `bound`: `localhost` for
/// 127.0.0.1, this machine's host name for the unspecified address, else
/// the address itself (`[::1]` for IPv6).
fn url(bound: SocketAddr) -> String {
    let port = bound.port();
    let ip = bound.ip().to_canonical();
    if ip == IpAddr::V4(Ipv4Addr::LOCALHOST) {
        return format!("http://localhost:{port}");
    }
    if ip.is_unspecified()
        && let Some(host) = access::host_name()
    {
        return format!("http://{host}:{port}");
    }
    format!("http://{}", SocketAddr::new(bound.ip(), port))
}

/// The last snapshot served (its JSON) and the rates it was measured with.
#[derive(Default)]
struct Snapshots {
    rates: Rates,
    last: Option<(Instant, String)>,
}

impl Snapshots {
    /// The snapshot at `now`: the last one if taken less than
    /// [`SNAPSHOT_REUSE`] before, else the one `take` gives (kept if taken).
    fn at(
        &mut self,
        now: Instant,
        take: impl FnOnce(&mut Rates) -> anyhow::Result<String>,
    ) -> anyhow::Result<String> {
        if let Some((at, body)) = &self.last
            && now.saturating_duration_since(*at) < SNAPSHOT_REUSE
        {
            return Ok(body.clone());
        }
        let body = take(&mut self.rates)?;
        self.last = Some((now, body.clone()));
        Ok(body)
    }
}

/// Answers one request (on its connection's thread).
fn answer(ctx: &Ctx, access: &Access, snapshots: &Mutex<Snapshots>, request: &Request) -> Response {
    if let Some(why) = access.refusal(request) {
        return json(&error(why), 403);
    }
    let get = matches!(request.method.as_str(), "GET" | "HEAD");
    match (get, request.path.as_str()) {
        (true, "/") => page(&nonce()),
        (true, "/api/snapshot") => {
            let mut snapshots = snapshots.lock().unwrap_or_else(|e| e.into_inner());
            let taken = snapshots.at(Instant::now(), |rates| {
                let v = super::snapshot_json(ctx, rates)?;
                Ok(serde_json::to_string(&v)?)
            });
            match taken {
                Ok(body) => Response::new(200, "application/json", body),
                Err(e) => json(&error(format!("{e:#}")), 500),
            }
        }
        (true, _) => json(&error("not found".to_owned()), 404),
        (false, _) => {
            let mut r = json(&error("only GET and HEAD".to_owned()), 405);
            r.headers.push(("Allow", "GET, HEAD".to_owned()));
            r
        }
    }
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
    fn a_snapshot_is_served_again_for_a_while() {
        let mut s = Snapshots::default();
        let t0 = Instant::now();
        let mut taken = 0;
        let mut take = |_: &mut Rates| {
            taken += 1;
            Ok(format!("snapshot {taken}"))
        };
        assert_eq!(s.at(t0, &mut take).unwrap(), "snapshot 1");
        let soon = t0 + SNAPSHOT_REUSE - Duration::from_millis(1);
        assert_eq!(s.at(soon, &mut take).unwrap(), "snapshot 1");
        assert_eq!(s.at(t0 + SNAPSHOT_REUSE, &mut take).unwrap(), "snapshot 2");
        // A failure is not kept.
        let later = t0 + 3 * SNAPSHOT_REUSE;
        assert!(s.at(later, |_| anyhow::bail!("unreadable")).is_err());
        assert_eq!(s.at(later, &mut take).unwrap(), "snapshot 3");
    }

    #[test]
    fn the_page_script_has_the_nonce_its_policy_names() {
        let (a, b) = (nonce(), nonce());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let p = page(&a);
        let body = String::from_utf8(p.body).unwrap();
        assert_eq!(body.matches("<script").count(), 1, "one script only");
        assert!(body.contains(&format!("<script nonce=\"{a}\">")));
        let policy = &p
            .headers
            .iter()
            .find(|(n, _)| *n == "Content-Security-Policy")
            .unwrap()
            .1;
        assert!(
            policy.contains(&format!("script-src 'nonce-{a}';")),
            "{policy}"
        );
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"));
        assert!(scripts.is_some_and(|d| !d.contains("unsafe")), "{policy}");
    }

    #[test]
    fn the_url_names_the_address_bound() {
        let url_of = |s: &str| url(s.parse().unwrap());
        assert_eq!(url_of("127.0.0.1:3000"), "http://localhost:3000");
        assert_eq!(url_of("127.0.0.2:3000"), "http://127.0.0.2:3000");
        assert_eq!(url_of("[::1]:3000"), "http://[::1]:3000");
        assert_eq!(url_of("[::ffff:127.0.0.1]:3000"), "http://localhost:3000");
        assert_eq!(url_of("192.168.1.2:80"), "http://192.168.1.2:80");
        if let Some(host) = access::host_name() {
            assert_eq!(url_of("0.0.0.0:3000"), format!("http://{host}:3000"));
        }
    }
}
