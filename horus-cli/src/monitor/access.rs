//! Which requests the web UI answers. The snapshot names nodes, processes
//! and topics: a web page of another site must not read it, nor make the
//! monitor work for it. Checked before any other work, in this order:
//!
//! 1. **Cross-site requests** are refused: `Sec-Fetch-Site: cross-site` or
//!    `same-site` (what a browser sends for a page of another origin, even
//!    `fetch(..., {mode: "no-cors"})`, whose reply the page cannot read but
//!    which costs the monitor a snapshot each), or an `Origin` that is not
//!    the `Host` asked for. A browser sends `same-origin` or `none` for the
//!    monitor's own page and for an address typed in; `curl` sends neither.
//!    Following a link to the page (`Sec-Fetch-Mode: navigate` to `/`) is
//!    answered: the page holds no data and costs nothing.
//! 2. **The `Host`**, against DNS rebinding (a name of the attacker's that
//!    resolves to this machine): bound to a loopback address, only loopback
//!    names (`localhost`, `127.x.y.z`, `[::1]`); bound to another address,
//!    IP literals, `localhost`, this machine's host name and `NAME.local`,
//!    and the names given with `--allow-host`. A `Host` that is not
//!    `NAME[:PORT]` or `[IPv6][:PORT]` is refused. A request without one
//!    (HTTP/1.0) is answered: no browser sends one.

use std::net::IpAddr;

use super::http::Request;

/// The names a request may be addressed to.
#[derive(Debug)]
pub struct Access {
    /// Bound to a loopback address: loopback names only.
    loopback: bool,
    /// Otherwise, besides IP literals and `localhost`: this machine's host
    /// name, with `.local`, and the `--allow-host` names (lower case).
    names: Vec<String>,
}

impl Access {
    /// The access of a server bound to `bind`, `allowed` naming the extra
    /// host names of `--allow-host`.
    pub fn new(bind: IpAddr, allowed: &[String]) -> Self {
        let mut names: Vec<String> = allowed.iter().map(|n| normal(n)).collect();
        if let Some(host) = host_name() {
            names.push(format!("{host}.local"));
            names.push(host);
        }
        Self {
            loopback: is_loopback(bind),
            names,
        }
    }

    /// Why `request` is refused (403), or `None` if it is answered.
    pub fn refusal(&self, request: &Request) -> Option<String> {
        let navigation = request.path == "/"
            && request
                .fetch_mode
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("navigate"));
        if let Some(site) = request.fetch_site.as_deref()
            && (site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
            && !navigation
        {
            return Some(
                "this monitor does not answer requests made by pages of other sites \
                 (Sec-Fetch-Site: cross-site): open it in its own tab"
                    .to_owned(),
            );
        }
        if let Some(origin) = request.origin.as_deref()
            && !same_origin(origin, request.host.as_deref())
        {
            return Some(format!(
                "this monitor does not answer requests made by pages of other origins \
                 (Origin: {origin}): open it in its own tab"
            ));
        }
        let host = request.host.as_deref()?;
        let allowed = match host_name_of(host) {
            None => false,
            Some(name) if self.loopback => is_loopback_name(name),
            Some(name) => {
                is_loopback_name(name)
                    || name.parse::<IpAddr>().is_ok()
                    || self.names.iter().any(|n| *n == normal(name))
            }
        };
        if allowed {
            return None;
        }
        Some(if self.loopback {
            "this monitor answers only requests for localhost (it is bound to a loopback \
             address): open it as http://localhost:PORT"
                .to_owned()
        } else {
            format!(
                "this monitor answers only requests for its IP addresses, localhost and {}: \
                 open it by one of them, or add the name with --allow-host",
                if self.names.is_empty() {
                    "the names given with --allow-host".to_owned()
                } else {
                    self.names.join(", ")
                }
            )
        })
    }
}

/// Whether `ip` is a loopback address, an IPv4-mapped one included
/// (`::ffff:127.0.0.1`, which `Ipv6Addr::is_loopback` does not count).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// This machine's host name, lower case (`/proc/sys/kernel/hostname`).
pub fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = normal(name.trim());
    (!name.is_empty() && name != "localhost").then_some(name)
}

/// A host name as compared: lower case, without a final dot.
fn normal(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The name of a `Host` header: `NAME` of `NAME[:PORT]`, `IPV6` of
/// `[IPV6][:PORT]`; `None` for anything else (`[::1]evil.example`, a port
/// that is not digits, an empty name).
fn host_name_of(host: &str) -> Option<&str> {
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => {
            let (addr, rest) = v6.split_once(']')?;
            addr.parse::<std::net::Ipv6Addr>().ok()?;
            (addr, rest)
        }
        None => match host.split_once(':') {
            Some((name, _)) => (name, &host[name.len()..]),
            None => (host, ""),
        },
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !name.is_empty()).then_some(name)
}

/// `localhost`, `127.x.y.z` or `::1` (a name, without port or brackets).
fn is_loopback_name(name: &str) -> bool {
    normal(name) == "localhost" || name.parse::<IpAddr>().is_ok_and(is_loopback)
}

/// Whether `origin` (`scheme://host[:port]`) is that of `host`.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| normal(authority) == normal(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: Option<&str>, origin: Option<&str>, fetch_site: Option<&str>) -> Request {
        Request {
            method: "GET".to_owned(),
            path: "/api/snapshot".to_owned(),
            host: host.map(str::to_owned),
            origin: origin.map(str::to_owned),
            fetch_site: fetch_site.map(str::to_owned),
            fetch_mode: None,
        }
    }

    fn loopback() -> Access {
        Access::new("127.0.0.1".parse().unwrap(), &[])
    }

    fn answered(a: &Access, host: &str) -> bool {
        a.refusal(&request(Some(host), None, None)).is_none()
    }

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        let a = loopback();
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:1",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:3000",
            "[::ffff:127.0.0.1]:3000",
        ] {
            assert!(answered(&a, host), "{host}");
        }
        for host in [
            "evil.example:3000",
            "localhost.evil.example",
            "192.168.1.2:3000",
            "[::2]:3000",
            "[::1]evil.example",
            "[::1]:80x",
            "localhost:",
            "localhost:3000:1",
            ":3000",
            "",
        ] {
            assert!(!answered(&a, host), "{host}");
        }
        // No Host at all (HTTP/1.0): answered.
        assert!(a.refusal(&request(None, None, None)).is_none());
    }

    #[test]
    fn an_ipv4_mapped_loopback_bind_is_loopback() {
        let a = Access::new("::ffff:127.0.0.1".parse().unwrap(), &[]);
        assert!(a.loopback);
        assert!(!answered(&a, "evil.example"));
    }

    #[test]
    fn bound_to_the_network_ip_literals_and_known_names_only() {
        let a = Access::new("0.0.0.0".parse().unwrap(), &["Robot-7.lab".to_owned()]);
        for host in [
            "192.168.1.2:3000",
            "[fe80::1]:3000",
            "localhost:3000",
            "robot-7.lab",
            "ROBOT-7.LAB.:3000",
        ] {
            assert!(answered(&a, host), "{host}");
        }
        for host in ["evil.example:3000", "robot-7.lab.evil.example", "[::1]x"] {
            assert!(!answered(&a, host), "{host}");
        }
        if let Some(me) = host_name() {
            assert!(answered(&a, &format!("{me}:3000")), "{me}");
            assert!(answered(&a, &format!("{me}.local")), "{me}");
        }
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let a = loopback();
        let host = Some("localhost:3000");
        for site in ["cross-site", "same-site", "Cross-Site"] {
            assert!(
                a.refusal(&request(host, None, Some(site))).is_some(),
                "{site}"
            );
        }
        for site in ["same-origin", "none"] {
            assert!(
                a.refusal(&request(host, None, Some(site))).is_none(),
                "{site}"
            );
        }
        for origin in ["http://evil.example", "null", "http://localhost:3001"] {
            assert!(
                a.refusal(&request(host, Some(origin), None)).is_some(),
                "{origin}"
            );
        }
        assert!(
            a.refusal(&request(host, Some("http://localhost:3000"), None))
                .is_none()
        );
        assert!(
            a.refusal(&request(None, Some("http://localhost:3000"), None))
                .is_some()
        );
        // A link followed from another site to the page: answered; to the
        // snapshot: refused.
        let mut link = request(host, None, Some("cross-site"));
        link.fetch_mode = Some("navigate".to_owned());
        assert!(a.refusal(&link).is_some());
        link.path = "/".to_owned();
        assert!(a.refusal(&link).is_none());
    }
}
