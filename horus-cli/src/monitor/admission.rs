//! Which connections the monitor serves: at most [`MAX_CONNECTIONS`] at
//! once, and at most [`MAX_PER_PEER`] of them from one network peer, so that
//! one host (`--bind 0.0.0.0` on a robot's network) holding idle
//! connections cannot take every place. A peer is an IPv4 address, or the
//! /64 prefix of an IPv6 address (one host has a whole /64 to pick from).
//! Loopback clients count only towards the total: they are local users,
//! who could stop the monitor anyway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections served at once from one peer other than loopback.
pub const MAX_PER_PEER: usize = 16;

/// The connections being served.
#[derive(Default)]
pub struct Admission {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

/// A place taken by one connection, given back when dropped.
pub struct Ticket {
    admission: Arc<Admission>,
    /// The peer it counts for (none: loopback).
    peer: Option<IpAddr>,
}

impl Admission {
    /// A place for a connection from `ip`, if there is one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let peer = peer_of(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= MAX_CONNECTIONS {
            return None;
        }
        if let Some(peer) = peer {
            let n = counts.by_peer.entry(peer).or_default();
            if *n >= MAX_PER_PEER {
                return None;
            }
            *n += 1;
        }
        counts.total += 1;
        Some(Ticket {
            admission: Arc::clone(self),
            peer,
        })
    }

    /// Connections being served.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.counts.lock().unwrap().total
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let admission = &self.admission;
        let mut counts = admission.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(peer) = self.peer
            && let Some(n) = counts.by_peer.get_mut(&peer)
        {
            *n -= 1;
            if *n == 0 {
                counts.by_peer.remove(&peer);
            }
        }
    }
}

/// The peer `ip` counts for: its IPv4 address (an IPv4-mapped IPv6 address
/// is one), the /64 prefix of an IPv6 address, none for loopback.
fn peer_of(ip: IpAddr) -> Option<IpAddr> {
    let ip = ip.to_canonical();
    if ip.is_loopback() {
        return None;
    }
    Some(match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_peer_takes_at_most_its_share_and_gets_it_back() {
        let a = Arc::new(Admission::default());
        let held: Vec<Ticket> = (0..MAX_PER_PEER)
            .map(|_| a.admit(ip("192.168.1.7")).expect("a place"))
            .collect();
        assert!(a.admit(ip("192.168.1.7")).is_none());
        // The same host as an IPv4-mapped IPv6 address is the same peer.
        assert!(a.admit(ip("::ffff:192.168.1.7")).is_none());
        // Others are still served.
        assert!(a.admit(ip("192.168.1.8")).is_some());
        drop(held);
        assert_eq!(a.total(), 0);
        assert!(a.admit(ip("192.168.1.7")).is_some());
    }

    #[test]
    fn an_ipv6_peer_is_its_64_prefix() {
        let a = Arc::new(Admission::default());
        let held: Vec<Ticket> = (0..MAX_PER_PEER)
            .map(|i| a.admit(ip(&format!("2001:db8:1:2::{:x}", i + 1))).unwrap())
            .collect();
        assert!(a.admit(ip("2001:db8:1:2:ffff::1")).is_none());
        assert!(a.admit(ip("2001:db8:1:3::1")).is_some());
        drop(held);
    }

    #[test]
    fn loopback_counts_towards_the_total_only() {
        let a = Arc::new(Admission::default());
        let mut held: Vec<Ticket> = (0..MAX_CONNECTIONS - 1)
            .map(|_| a.admit(ip("127.0.0.1")).expect("a place"))
            .collect();
        held.push(a.admit(ip("10.0.0.1")).expect("the last place"));
        assert!(a.admit(ip("::1")).is_none());
        assert!(a.admit(ip("10.0.0.2")).is_none());
        held.pop();
        assert!(a.admit(ip("10.0.0.2")).is_some());
    }
}
