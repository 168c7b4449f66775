//! `horus monitor`'s snapshot (`/api/snapshot`, `--once --json`) against live
//! processes: its topic graph has the processes with their nodes, the
//! topics, the publish/subscribe/hold edges, and measured rates. The page
//! itself is tested in a browser by `ci/browser.sh`. The terminal view stops
//! when asked, however short its interval.

mod common;

use std::time::{Duration, Instant};

use common::{Running, TestNs, forge_record, start_role, text};
use serde_json::Value;

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

fn pid_of(r: &mut Running) -> u64 {
    r.expect("@@ready", 30)
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("pid after @@ready")
}

fn http_get(port: u16, path: &str) -> (String, String) {
    let (head, body) = http(
        port,
        &format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"),
    );
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// Sends `request` as it is and reads the reply to its end: (head, body).
fn http(port: u16, request: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).expect("read reply");
    let reply = String::from_utf8_lossy(&reply);
    let (head, body) = reply.split_once("\r\n\r\n").expect("HTTP reply");
    (head.to_owned(), body.to_owned())
}

/// Sends `request` as it is to `monitor` (its web UI on `port`) and reads
/// the reply's head only (the server may keep the connection open after
/// it). A failure names the error, and says whether the monitor still runs
/// and what it printed.
fn http_head(monitor: &mut Running, port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let exchange = || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.write_all(request.as_bytes())?;
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                let why = format!("closed before a reply: {reply:?}");
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, why));
            }
            reply.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&reply).into_owned())
    };
    exchange().unwrap_or_else(|e| {
        let status = monitor.child.try_wait();
        monitor.count(""); // (takes in what it printed so far)
        let line = request.lines().next().unwrap_or_default();
        panic!(
            "{line:.80}: {e} ({e:?}); the monitor: {status:?} (None: running); its output:\n{}",
            monitor.seen.join("\n")
        )
    })
}

/// The port of the URL the monitor printed (`web UI at http://HOST:PORT`).
fn port_of(monitor: &mut Running) -> u16 {
    let line = monitor.expect("web UI at http://", 30);
    line.split("web UI at http://")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|authority| authority.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

/// The edge of `pid` to `topic`, if any: (role, rate_hz).
fn edge(v: &Value, pid: u64, topic: &str) -> Option<(String, Value)> {
    v["graph"]["edges"]
        .as_array()?
        .iter()
        .find(|e| e["pid"] == pid && e["topic"] == topic)
        .map(|e| {
            (
                e["role"].as_str().unwrap_or("?").to_owned(),
                e["rate_hz"].clone(),
            )
        })
}

fn process(v: &Value, pid: u64) -> Value {
    v["graph"]["processes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["pid"] == pid))
        .cloned()
        .unwrap_or_else(|| panic!("no process {pid} in the graph: {v}"))
}

#[test]
fn the_snapshot_graph_shows_processes_nodes_topics_and_rates() {
    let ns = TestNs::new("graph");
    let topic = "wheel.encoders";
    let mut talker = start_role("talker", &ns.name, topic);
    let mut node_sub = start_role("subscriber_node", &ns.name, topic);
    let mut plain_sub = start_role("listen", &ns.name, topic);
    let (talker, node_sub, plain_sub) = (
        pid_of(&mut talker),
        pid_of(&mut node_sub),
        pid_of(&mut plain_sub),
    );

    // One snapshot: the graph, its rates unknown (one sample only), once it
    // shows the talker publishing and the Listener node subscribed: polled,
    // 30 s at most.
    let deadline = Instant::now() + Duration::from_secs(30);
    let v = loop {
        let out = ns.run(&["monitor", "--once", "--json"], 30);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        let publishes = edge(&v, talker, topic).is_some_and(|(role, _)| role == "publishes");
        let subscribes = edge(&v, node_sub, topic).is_some_and(|(role, _)| role == "subscribes")
            && process(&v, node_sub)["nodes"] == serde_json::json!(["Listener"]);
        if publishes && subscribes {
            break v;
        }
        assert!(Instant::now() < deadline, "no publish after 30 s: {v}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let t = &v["graph"]["topics"];
    assert!(
        t.as_array().is_some_and(|ts| ts
            .iter()
            .any(|t| t["name"] == topic && t["rate_hz"].is_null())),
        "{v}"
    );

    // The terminal view: the flow as text.
    let out = ns.run(&["monitor", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let view = text(&out.stdout);
    assert!(
        view.contains(&format!("(pid {talker}: Talker) -> {topic} -> "))
            && view.contains(&format!("(pid {node_sub}: Listener)"))
            && view.contains("-> idle.topic -> -; opened by "),
        "{view}"
    );

    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);

    // Poll until the graph is complete and the rates measured (two samples
    // at least half a second apart) or 30 s passed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let v = loop {
        let (status, body) = http_get(port, "/api/snapshot");
        assert!(status.contains("200"), "{status}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        let complete = [talker, node_sub, plain_sub]
            .iter()
            .all(|&pid| edge(&v, pid, topic).is_some_and(|(_, r)| r.as_f64() > Some(0.0)))
            && process(&v, node_sub)["nodes"] == serde_json::json!(["Listener"]);
        if complete {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "graph incomplete after 30 s: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // Processes: their nodes, their command names; one without a scheduler.
    let p = process(&v, talker);
    assert_eq!(p["nodes"], serde_json::json!(["Talker"]), "{v}");
    assert_eq!(p["alive"], true, "{v}");
    assert!(p["command"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert_eq!(
        process(&v, plain_sub)["nodes"],
        serde_json::json!([]),
        "{v}"
    );
    // Edges: roles, and the topic's rate on each (the talker is its only
    // publisher). 100 Hz asked; a loaded machine may run slower.
    assert_eq!(edge(&v, talker, topic).unwrap().0, "publishes", "{v}");
    assert_eq!(edge(&v, node_sub, topic).unwrap().0, "subscribes", "{v}");
    assert_eq!(edge(&v, plain_sub, topic).unwrap().0, "subscribes", "{v}");
    let gt = v["graph"]["topics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == topic))
        .expect("topic in the graph");
    assert_eq!(gt["type"], "WheelEncoder", "{v}");
    let rate = gt["rate_hz"].as_f64().expect("a measured rate");
    assert!((5.0..=150.0).contains(&rate), "rate {rate}: {v}");
    assert_eq!(edge(&v, talker, topic).unwrap().1, gt["rate_hz"], "{v}");
    // A handle opened and never used: `holds`, no rate.
    assert_eq!(
        edge(&v, talker, "idle.topic"),
        Some(("holds".to_owned(), Value::Null)),
        "{v}"
    );
    // The topics list is that of `topic list --verbose`.
    let row = v["topics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == topic))
        .expect("topic row");
    assert_eq!(row["fields"][0]["name"], "left_ticks", "{v}");

    monitor.assert_stops_on_sigterm();
}

#[test]
fn the_terminal_view_stops_when_asked_and_refuses_a_zero_interval() {
    let ns = TestNs::new("monterm");
    // A zero interval would redraw in a busy loop: a usage error.
    let out = ns.run(&["monitor", "--terminal", "--interval", "0"], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("expected a time above 0"),
        "{}",
        text(&out.stderr)
    );
    // An option of the other view is a usage error, not silently ignored:
    // `--interval` without `--terminal` started the web UI (until Ctrl+C),
    // `--port` with `--once` printed a snapshot.
    for (args, needle) in [
        (&["monitor", "--interval", "2s"][..], "--terminal"),
        (&["monitor", "--once", "--port", "8080"], "--port"),
        (&["monitor", "--terminal", "--bind", "0.0.0.0"], "--bind"),
    ] {
        let out = ns.run(args, 30);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // However short the interval, SIGTERM ends it, as asked: success.
    let mut monitor = Running::start(ns.horus(&["monitor", "--terminal", "--interval", "1ms"]));
    monitor.expect("horus monitor: namespace", 30);
    monitor.assert_stops_on_sigterm();
}

/// Were a crash (a claimed body of 2^64 - 1 bytes: tiny_http's drain of it
/// panicked on the serving thread), a monitor frozen for everyone and deaf
/// to SIGTERM (a client that claims a body and never sends it), 404s for a
/// query string, 405 for HEAD, and a snapshot any web page could read
/// through DNS rebinding.
#[test]
fn one_client_cannot_stop_the_web_ui_for_others() {
    use std::io::Write;
    let ns = TestNs::new("monweb");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let head = http_head(
        &mut monitor,
        port,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
    );
    assert!(
        head.starts_with("HTTP/1.1 405") && head.contains("Allow: GET, HEAD"),
        "{head}"
    );
    // A client that claims a body and sends none holds only its own request.
    let mut stuck = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stuck
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    let (status, body) = http_get(port, "/api/snapshot?t=1");
    assert!(status.contains("200"), "{status}: {body}");
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{body}");
    let head = http_head(
        &mut monitor,
        port,
        "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (head, body) = http(
        port,
        "GET /api/snapshot HTTP/1.1\r\nHost: evil.example:3000\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(
        body.contains("answers only requests for localhost"),
        "{body}"
    );
    assert!(
        monitor.child.try_wait().unwrap().is_none(),
        "the monitor died"
    );
    // Asked to stop, it stops, the stuck client still connected.
    monitor.assert_stops_on_sigterm();
    drop(stuck);
    assert!(
        !monitor.seen.iter().any(|l| l.contains("panicked")),
        "{}",
        monitor.seen.join("\n")
    );
}

/// Was unbounded (tiny_http kept a header line of any length in memory):
/// a request head over 16 KiB or with more than 48 headers is refused with
/// 431, a malformed one with 400, and a client that sends megabytes of
/// head costs the monitor 16 KiB and stops nobody.
#[test]
fn oversized_and_malformed_requests_are_refused() {
    use std::io::Write;
    let ns = TestNs::new("monbig");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let long = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Long: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let head = http_head(&mut monitor, port, &long);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    let many: String = (0..60).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let head = http_head(
        &mut monitor,
        port,
        &format!("GET / HTTP/1.1\r\nHost: localhost\r\n{many}\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    let head = http_head(
        &mut monitor,
        port,
        "GET / HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // Megabytes of one header line, from several clients at once: each is
    // cut off after 16 KiB (its writes then fail), the monitor serves on.
    let floods: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
                let _ = s.write_all(b"GET / HTTP/1.1\r\nX-Flood: ");
                let chunk = vec![b'a'; 1 << 20];
                (0..64).take_while(|_| s.write_all(&chunk).is_ok()).count()
            })
        })
        .collect();
    for f in floods {
        let written = f.join().expect("flood thread");
        assert!(written < 64, "the monitor read 64 MiB of one header line");
    }
    let (status, body) = http_get(port, "/api/snapshot");
    assert!(status.contains("200"), "{status}: {body}");
    monitor.assert_stops_on_sigterm();
}

/// What idle and slow clients may cost is bounded: a connection that sends
/// half a request head is closed after the head's time (3 s; it was 10 s,
/// which let a client reconnecting in a loop keep its places), and when
/// 256 connections that send nothing take every place, a real request
/// evicts the oldest of them (reading its head for 250 ms) and is answered
/// at once. Was: closed unanswered until they timed out, and clients
/// reconnecting as soon as closed kept every place.
#[test]
fn idle_and_slow_clients_are_bounded() {
    use std::io::{Read, Write};
    let ns = TestNs::new("monidle");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // Half a head, then silence: closed by the monitor (EOF), not held forever.
    let mut slow = connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    assert!(
        matches!(slow.read(&mut byte), Ok(0) | Err(_)),
        "the monitor answered half a request"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "held {:?}",
        started.elapsed()
    );
    // 256 connections that send nothing take every place, for 3 s each
    // (the head's time) from their admission, after `filled`.
    let filled = Instant::now();
    let mut idle: Vec<_> = (0..256).map(|_| connect()).collect();
    let timed_out = filled + Duration::from_secs(3);
    // A request for the page is answered before they time out: refused
    // (closed at once) until the oldest has been idle for 250 ms.
    loop {
        let mut s = connect();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        let answered = reply.starts_with(b"HTTP/1.1 200");
        assert!(
            Instant::now() < timed_out,
            "not answered while 256 idle connections took every place (answered: {answered})"
        );
        if answered {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The oldest idle connection was shut down for it, the others kept.
    idle[0]
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(
        matches!(idle[0].read(&mut byte), Ok(0) | Err(_)),
        "the oldest idle connection was not evicted"
    );
    let open = idle[1..]
        .iter_mut()
        .map(|s| {
            s.set_nonblocking(true).unwrap();
            s.read(&mut byte)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .filter(|&open| open)
        .count();
    assert_eq!(open, 255, "idle connections evicted besides the oldest");
    monitor.assert_stops_on_sigterm();
}

/// Was: a record with a rate of NaN or infinity went out as `null` in
/// `node list --json` and `/api/snapshot`, and the page, failing on it,
/// showed no node and no topic at all.
#[test]
fn a_rate_that_is_not_a_number_is_read_as_zero() {
    let ns = TestNs::new("monnan");
    let _talker = start_role("talker", &ns.name, "wheel.encoders");
    forge_record(
        &ns,
        "Forged",
        &[
            "owner=18219009630215",
            "pid=4242",
            "state=2",
            "rate_hz=nan",
            "measured_hz=inf",
        ],
    );
    let out = ns.run(&["node", "list", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let forged = v
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["name"] == "Forged"))
        .unwrap_or_else(|| panic!("no node Forged: {v}"));
    assert_eq!(
        (forged["rate_hz"].as_f64(), forged["measured_hz"].as_f64()),
        (Some(0.0), Some(0.0)),
        "{v}"
    );
}

/// Was: a node record or a topic file whose name holds terminal escape
/// codes was printed raw by `node list`, `topic list` and `monitor --once`
/// (it could clear the screen, recolour or retitle the terminal). Control
/// characters are shown as escapes; JSON keeps the name exact.
#[test]
fn names_with_control_characters_are_printed_escaped() {
    let ns = TestNs::new("monesc");
    let _talker = start_role("talker", &ns.name, "wheel.encoders");
    forge_record(
        &ns,
        "x\x1b[2Jred",
        &["owner=18219009630215", "pid=4242", "state=2"],
    );
    // A file named as a topic region (unreadable: no header).
    std::fs::write(ns.path().join("t\x1b]0;title\x07.topic"), b"").unwrap();
    // An e-stop reason (also a blackbox record) with escape codes.
    let out = ns.run(&["estop", "--reason", "r\x1b[2J"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (node, topic, reason) = ("x\\u{1b}[2Jred", "t\\u{1b}]0;title\\u{7}", "r\\u{1b}[2J");
    for (args, names) in [
        (&["node", "list"][..], &[node][..]),
        (&["node", "info", "x\x1b[2Jred"], &[node]),
        (&["topic", "list", "--verbose"], &[topic]),
        (&["bb"], &[reason]),
        (&["estop"], &[reason]),
        (&["monitor", "--once"], &[node, topic, reason]),
    ] {
        let out = ns.run(args, 30);
        let shown = text(&out.stdout);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{args:?}: {shown:?}"
        );
        for name in names {
            assert!(shown.contains(name), "{args:?}: no {name} in {shown}");
        }
    }
    let out = ns.run(&["node", "list", "--json"], 30);
    assert!(
        text(&out.stdout).contains("x\\u001b[2Jred"),
        "{}",
        text(&out.stdout)
    );
    // `clean` names what it removes escaped too.
    let out = ns.run(&["clean", "--shm"], 30);
    let shown = text(&out.stdout);
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
    assert!(
        shown.contains(&format!("removed {}", ns.path().join(topic).display())),
        "{shown}"
    );
}

/// The status line of the reply to a GET of the snapshot with `headers`
/// (each ending in CRLF).
fn status_with(monitor: &mut Running, port: u16, headers: &str) -> String {
    let head = http_head(
        monitor,
        port,
        &format!("GET /api/snapshot HTTP/1.1\r\n{headers}Connection: close\r\n\r\n"),
    );
    head.lines().next().unwrap_or_default().to_owned()
}

/// Were: a page of any site could make the monitor take a snapshot per
/// request (`fetch(..., {mode: "no-cors"})`: its Host is localhost), two
/// Host headers were answered for the first, and `[::1]evil.example`
/// passed for a loopback name.
#[test]
fn requests_of_other_sites_and_bad_hosts_are_refused() {
    let ns = TestNs::new("monsite");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let host = format!("Host: localhost:{port}\r\n");
    for (headers, want) in [
        (format!("{host}Sec-Fetch-Site: cross-site\r\n"), "403"),
        (format!("{host}Sec-Fetch-Site: same-site\r\n"), "403"),
        (format!("{host}Origin: http://evil.example\r\n"), "403"),
        (format!("{host}Sec-Fetch-Site: same-origin\r\n"), "200"),
        (format!("{host}Origin: http://localhost:{port}\r\n"), "200"),
        (format!("{host}Host: evil.example\r\n"), "400"),
        // Two of a header the checks read: which would they look at? (Was:
        // the first, so an allowed Origin first hid another after it.)
        (
            format!("{host}Origin: http://localhost:{port}\r\nOrigin: http://evil.example\r\n"),
            "400",
        ),
        (
            format!("{host}Sec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site\r\n"),
            "400",
        ),
        ("Host: [::1]evil.example\r\n".to_owned(), "403"),
        (format!("Host: [::1]:{port}\r\n"), "200"),
    ] {
        let status = status_with(&mut monitor, port, &headers);
        assert!(status.contains(want), "{headers:?}: {status}");
    }
    monitor.assert_stops_on_sigterm();
}

/// Was: a page of another site could show the monitor's page in an
/// `<iframe>` (a navigation to `/` is answered, as for a link): framed, it
/// polled the snapshot for that site once a second, under whatever that
/// site drew over it. The page now says it may not be framed.
#[test]
fn the_page_may_not_be_framed_by_another_site() {
    let ns = TestNs::new("monframe");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let head = http_head(
        &mut monitor,
        port,
        &format!(
            "GET / HTTP/1.1\r\nHost: localhost:{port}\r\nSec-Fetch-Site: cross-site\r\n\
             Sec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: iframe\r\nConnection: close\r\n\r\n"
        ),
    )
    .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\nx-frame-options: deny\r\n"), "{head}");
    let policy = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .unwrap_or_else(|| panic!("no Content-Security-Policy in {head}"));
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    monitor.assert_stops_on_sigterm();
}

/// Was: the page had no Content-Security-Policy: had one name (anyone may
/// write them in shared memory) reached its HTML unescaped, its markup
/// (`<img src=x onerror=...>`) would have run as the page. Now only the
/// page's own script runs, by a nonce new with every reply.
#[test]
fn the_page_runs_only_its_own_script() {
    let ns = TestNs::new("moncsp");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let (head, body) = http(
            port,
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        let head = head.to_ascii_lowercase();
        let policy = head
            .lines()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("no Content-Security-Policy in {head}"));
        let scripts = policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("script-src "))
            .unwrap_or_else(|| panic!("no script-src in {policy}"));
        let nonce = scripts
            .strip_prefix("'nonce-")
            .and_then(|n| n.strip_suffix('\''))
            .unwrap_or_else(|| panic!("script-src is not one nonce: {scripts}"));
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(
            body.contains(&format!("<script nonce=\"{nonce}\">")),
            "the page's script has not the nonce {nonce}"
        );
        nonces.push(nonce.to_owned());
    }
    assert_ne!(nonces[0], nonces[1], "the same nonce twice");
    monitor.assert_stops_on_sigterm();
}

/// Was: the snapshot and the errors (which hold names anyone may write in
/// shared memory: `<script>...`) were served without `nosniff`, leaving a
/// browser free to guess they are a page.
#[test]
fn every_reply_forbids_content_sniffing() {
    let ns = TestNs::new("monsniff");
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    for (path, host) in [
        ("/", "localhost"),
        ("/api/snapshot", "localhost"),
        ("/nope", "localhost"),
        ("/api/snapshot", "evil.example"),
    ] {
        let head = http_head(
            &mut monitor,
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .to_ascii_lowercase();
        assert!(
            head.contains("\r\nx-content-type-options: nosniff\r\n"),
            "{path} for {host}: {head}"
        );
    }
    monitor.assert_stops_on_sigterm();
}

/// Was: bound to a network address, the monitor answered any Host (a page
/// could read the snapshot through DNS rebinding), without a word about
/// being reachable from the network.
#[test]
fn bound_to_the_network_it_warns_and_checks_the_host() {
    let ns = TestNs::new("monbind");
    let mut monitor = Running::start(ns.horus(&[
        "monitor",
        "--port",
        "0",
        "--bind",
        "0.0.0.0",
        "--allow-host",
        "robot.lab",
    ]));
    let port = port_of(&mut monitor);
    monitor.expect(
        "warning: listening on the network: anyone who can reach 0.0.0.0:",
        30,
    );
    for (host, want) in [
        ("evil.example", "403"),
        ("127.0.0.1", "200"),
        ("robot.lab", "200"),
        ("robot.lab.evil.example", "403"),
    ] {
        let status = status_with(&mut monitor, port, &format!("Host: {host}:{port}\r\n"));
        assert!(status.contains(want), "{host}: {status}");
    }
    monitor.assert_stops_on_sigterm();
}

/// Was: `horus monitor --port P | true` panicked printing its banner (exit
/// 101) and left its liveness file behind. A closed stdout ends the web UI
/// as it ends every command: 141, its liveness file given up.
#[test]
fn the_web_ui_ends_on_a_closed_stdout() {
    let ns = TestNs::new("monpipe");
    let _talker = start_role("talker", &ns.name, "wheel.encoders");
    // Its stdout: a pipe whose read end is closed before it starts, so
    // that its banner is the write that fails. (Closing the read end after
    // `spawn` raced with the banner: written first into the pipe, it
    // succeeded, and the web UI, which writes nothing more, ran on.)
    let (read_end, write_end) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
    drop(read_end); // nobody reads its output
    let monitor = ns
        .horus(&["monitor", "--port", "0"])
        .stdout(std::process::Stdio::from(write_end))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn horus monitor");
    let pid = monitor.id();
    let out = common::finish(monitor, 30, "horus monitor --port 0 (stdout closed)");
    assert_eq!(out.status.code(), Some(141), "{}", text(&out.stderr));
    let left: Vec<String> = std::fs::read_dir(ns.path().join("proc"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|f| f.contains(&pid.to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "liveness files of the monitor left: {left:?}"
    );
}

/// Was: `--terminal` wrote clear-screen codes into a pipe or a file; now a
/// separator line comes between two snapshots there.
#[test]
fn the_terminal_view_into_a_pipe_has_no_screen_codes() {
    let ns = TestNs::new("monsep");
    let mut monitor = Running::start(ns.horus(&["monitor", "--terminal", "--interval", "50ms"]));
    monitor.expect("--- ", 30);
    monitor.assert_stops_on_sigterm();
    assert!(
        !monitor.seen.iter().any(|l| l.contains('\x1b')),
        "{:?}",
        monitor.seen
    );
}

/// Was: the anomaly count was what the blackbox's rings still hold, with
/// no word of what was overwritten.
#[test]
fn the_anomaly_count_says_what_was_overwritten() {
    use horus::system::blackbox::{AnomalyKind, Blackbox};
    let ns = TestNs::new("monbb");
    {
        let bb = Blackbox::open(Some(&ns.name)).expect("blackbox");
        for i in 0..300 {
            bb.record(AnomalyKind::NodePanic, "crashy", "monitor test", i);
        }
    }
    horus::shm::liveness::unregister(
        &horus::shm::Namespace::open_existing(&ns.name)
            .unwrap()
            .unwrap(),
    );
    let out = ns.run(&["monitor", "--once", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let (anomalies, overwritten) = (v["anomalies"].as_u64(), v["overwritten"].as_u64());
    assert!(
        anomalies < Some(300) && overwritten.is_some_and(|o| Some(o) >= anomalies.map(|a| 300 - a)),
        "{v}"
    );
    let out = ns.run(&["monitor", "--once"], 30);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!(
            "anomalies {} ({} older records overwritten)",
            anomalies.unwrap(),
            overwritten.unwrap()
        )),
        "{shown}"
    );
}

#[test]
fn monitor_serves_the_web_ui_and_its_snapshot() {
    let ns = TestNs::new("web");
    let mut publ = common::publisher(&ns.name, "wheel.encoders");
    publ.expect("@@ready", 30);
    // Port 0: any free port; the monitor prints the one it got.
    let mut monitor = Running::start(ns.horus(&["monitor", "--port", "0"]));
    let port = port_of(&mut monitor);
    let (status, page) = http_get(port, "/");
    assert!(status.contains("200"), "{status}");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("/api/snapshot"));
    let (status, body) = http_get(port, "/api/snapshot");
    assert!(status.contains("200"), "{status}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["namespace"], ns.name.as_str(), "{v}");
    assert_eq!(v["topics"][0]["name"], "wheel.encoders", "{v}");
    assert_eq!(v["estop"], serde_json::Value::Null, "{v}");
    let (status, _) = http_get(port, "/nope");
    assert!(status.contains("404"), "{status}");
    // A second monitor on the same port is refused, naming the fix.
    let out = ns.run(&["monitor", "--port", &port.to_string()], 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--port"),
        "{}",
        text(&out.stderr)
    );
    monitor.assert_stops_on_sigterm();
}

#[test]
fn monitor_help_names_the_web_ui_as_the_default() {
    let ns = TestNs::new("monhelp");
    let out = ns.run(&["--help"], 30);
    let help = text(&out.stdout);
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with("monitor"))
        .expect("monitor in --help");
    assert!(
        line.contains("web UI") && !line.contains("(terminal)"),
        "{line}"
    );
    let out = ns.run(&["monitor", "--help"], 30);
    let help = text(&out.stdout);
    assert!(!help.contains("(terminal)"), "{help}");
    assert!(help.contains("web UI"), "{help}");
}
