//! Which connections the monitor serves: at most [`MAX_CONNECTIONS`] at
//! once, so that hosts of the network (`--bind 0.0.0.0` on a robot's
//! network) holding idle connections cannot take every place:
//!
//! - at most [`MAX_PER_PEER`] from one address (an IPv4-mapped IPv6 address
//!   is its IPv4 address);
//! - at most [`MAX_PER_PREFIX`] from one IPv6 /64 other than link-local
//!   (one host has a whole /64 to pick addresses from, but on a LAN every
//!   host shares its /64 too, SLAAC: the bound is wider than one host's);
//!   link-local addresses (`fe80::/10`: every link shares `fe80::/64`) count
//!   per address only;
//! - the last [`RESERVED`] places go only to an address that holds no
//!   connection yet, so that a few addresses filling the rest still leave
//!   room for others.
//!
//! Loopback clients count only towards the total: they are local users,
//! who could stop the monitor anyway.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections served at once from one address other than loopback.
pub const MAX_PER_PEER: usize = 16;
/// Connections served at once from one IPv6 /64 (link-local left out).
pub const MAX_PER_PREFIX: usize = 64;
/// Places kept for addresses that hold no connection.
pub const RESERVED: usize = 32;

/// The connections being served.
#[derive(Default)]
pub struct Admission {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
    by_prefix: HashMap<Ipv6Addr, usize>,
}

/// What a connection counts for: its address and, for IPv6 other than
/// link-local, its /64; none for loopback.
#[derive(Clone, Copy)]
struct Peer {
    addr: IpAddr,
    prefix: Option<Ipv6Addr>,
}

/// A place taken by one connection, given back when dropped.
pub struct Ticket {
    admission: Arc<Admission>,
    /// The peer it counts for (none: loopback).
    peer: Option<Peer>,
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
            let held = counts.by_peer.get(&peer.addr).copied().unwrap_or(0);
            let in_prefix = peer
                .prefix
                .map_or(0, |p| counts.by_prefix.get(&p).copied().unwrap_or(0));
            let reserved = counts.total >= MAX_CONNECTIONS - RESERVED && held > 0;
            if held >= MAX_PER_PEER || in_prefix >= MAX_PER_PREFIX || reserved {
                return None;
            }
            *counts.by_peer.entry(peer.addr).or_default() += 1;
            if let Some(p) = peer.prefix {
                *counts.by_prefix.entry(p).or_default() += 1;
            }
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

/// Takes one from `key`'s count in `map`, forgetting it at 0.
fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let admission = &self.admission;
        let mut counts = admission.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(peer) = self.peer {
            release(&mut counts.by_peer, &peer.addr);
            if let Some(p) = peer.prefix {
                release(&mut counts.by_prefix, &p);
            }
        }
    }
}

/// The peer `ip` counts for (see the module doc); none for loopback.
fn peer_of(ip: IpAddr) -> Option<Peer> {
    let addr = ip.to_canonical();
    if addr.is_loopback() {
        return None;
    }
    let prefix = match addr {
        IpAddr::V6(v6) if !v6.is_unicast_link_local() => {
            Some(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1)))
        }
        _ => None,
    };
    Some(Peer { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn take(a: &Arc<Admission>, addr: &str, n: usize) -> Vec<Ticket> {
        (0..n)
            .map(|i| {
                a.admit(ip(addr))
                    .unwrap_or_else(|| panic!("place {i} for {addr}"))
            })
            .collect()
    }

    #[test]
    fn one_peer_takes_at_most_its_share_and_gets_it_back() {
        let a = Arc::new(Admission::default());
        let held = take(&a, "192.168.1.7", MAX_PER_PEER);
        assert!(a.admit(ip("192.168.1.7")).is_none());
        // The same host as an IPv4-mapped IPv6 address is the same peer.
        assert!(a.admit(ip("::ffff:192.168.1.7")).is_none());
        // Others are still served.
        assert!(a.admit(ip("192.168.1.8")).is_some());
        drop(held);
        assert_eq!(a.total(), 0);
        assert!(a.admit(ip("192.168.1.7")).is_some());
    }

    /// Was: an IPv6 peer was its /64, which every host of a LAN shares
    /// (SLAAC), and every link-local address shares fe80::/64: one host's
    /// 16 idle connections locked out every IPv6 client.
    #[test]
    fn ipv6_hosts_of_one_network_are_told_apart() {
        let a = Arc::new(Admission::default());
        let mut held = take(&a, "2001:db8:1:2::1", MAX_PER_PEER);
        assert!(a.admit(ip("2001:db8:1:2::1")).is_none());
        held.extend(take(&a, "2001:db8:1:2::2", 1));
        held.extend(take(&a, "fe80::1", MAX_PER_PEER));
        assert!(a.admit(ip("fe80::1")).is_none());
        held.extend(take(&a, "fe80::2", 1));
        // One host picking addresses from its /64 is bounded all the same.
        let a = Arc::new(Admission::default());
        let mut held: Vec<Ticket> = (0..MAX_PER_PREFIX / MAX_PER_PEER)
            .flat_map(|i| take(&a, &format!("2001:db8:1:2::{:x}", i + 1), MAX_PER_PEER))
            .collect();
        assert!(a.admit(ip("2001:db8:1:2:ffff::1")).is_none());
        held.extend(take(&a, "2001:db8:1:3::1", 1));
    }

    #[test]
    fn the_last_places_are_for_peers_without_a_connection() {
        let a = Arc::new(Admission::default());
        let mut held: Vec<Ticket> = (0..(MAX_CONNECTIONS - RESERVED) / MAX_PER_PEER)
            .flat_map(|i| take(&a, &format!("10.0.0.{}", i + 1), MAX_PER_PEER))
            .collect();
        held.extend(take(&a, "10.0.1.1", 1));
        // In the reserve now: a peer with a connection waits, a new one is served.
        assert!(a.admit(ip("10.0.1.1")).is_none());
        held.extend(take(&a, "10.0.1.2", 1));
    }

    #[test]
    fn loopback_counts_towards_the_total_only() {
        let a = Arc::new(Admission::default());
        let mut held = take(&a, "127.0.0.1", MAX_CONNECTIONS - 1);
        held.push(a.admit(ip("10.0.0.1")).expect("the last place"));
        assert!(a.admit(ip("::1")).is_none());
        assert!(a.admit(ip("10.0.0.2")).is_none());
        held.pop();
        assert!(a.admit(ip("10.0.0.2")).is_some());
    }
}
