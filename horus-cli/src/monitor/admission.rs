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
//!   room for others;
//! - every place taken, a newcomer that the rules above admit evicts the
//!   oldest connection still reading its request head, if it has been
//!   reading it for [`EVICT_AFTER`] at least, and takes its place (a
//!   browser sends its head at once; clients that send theirs slowly or
//!   never, reconnecting as soon as closed, kept every place and every real
//!   request was closed unanswered); no such connection, it is refused.
//!   A connection stops being evictable when its head is read
//!   ([`Ticket::answering`]).
//!
//! Evicting shuts the connection's socket down, through a clone of it kept
//! while it reads its head (one more descriptor), so that its thread's read
//! returns at once and its [`Ticket`] is dropped. It stops counting for a
//! place, its address and its /64 at once, but it is open until its ticket
//! is dropped: with [`MAX_EVICTING`] of these in flight a newcomer is
//! refused, so that at most [`MAX_CONNECTIONS`] + [`MAX_EVICTING`]
//! connections are open at once.
//!
//! Loopback clients count only towards the total (and can be evicted as
//! any other): they are local users, who could stop the monitor anyway.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr, Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections served at once from one address other than loopback.
pub const MAX_PER_PEER: usize = 16;
/// Connections served at once from one IPv6 /64 (link-local left out).
pub const MAX_PER_PREFIX: usize = 64;
/// Places kept for addresses that hold no connection.
pub const RESERVED: usize = 32;
/// Time a connection has been reading its request head before a newcomer
/// may evict it, every place taken. A browser sends its head with its
/// first packet, right after the connection is made: it is read within
/// one round trip of the accept, a few milliseconds on a LAN; 250 ms
/// leaves room for a slow Wi-Fi link or a VPN, yet a client holding
/// connections without sending keeps each for a twelfth of
/// [`HEAD_TIMEOUT`](super::http::HEAD_TIMEOUT) only.
pub const EVICT_AFTER: Duration = Duration::from_millis(250);
/// Evicted connections whose ticket is not dropped yet, at most (beyond, a
/// newcomer is refused): each is one more open connection than
/// [`MAX_CONNECTIONS`], for as long as its thread takes to see its socket
/// shut down (at once, unless the thread is not scheduled).
pub const MAX_EVICTING: usize = 32;

/// The connections being served.
pub struct Admission {
    /// Places: [`MAX_CONNECTIONS`] but in tests.
    limit: usize,
    counts: Mutex<Counts>,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            limit: MAX_CONNECTIONS,
            counts: Mutex::default(),
        }
    }
}

#[derive(Default)]
struct Counts {
    /// Tickets not dropped, the evicted ones included.
    total: usize,
    /// Tickets not evicted by address (loopback left out).
    by_peer: HashMap<IpAddr, usize>,
    /// Tickets not evicted by IPv6 /64.
    by_prefix: HashMap<Ipv6Addr, usize>,
    /// The connections reading their request head, by admission time and
    /// ticket number: the first is the oldest.
    reading: BTreeMap<(Instant, u64), Reading>,
    /// The numbers of the tickets evicted but not dropped yet: they count
    /// in `total` only.
    evicted: HashSet<u64>,
    /// The number of the next ticket.
    next: u64,
}

/// A connection reading its request head.
struct Reading {
    /// A clone of its socket, to shut it down.
    socket: TcpStream,
    peer: Option<Peer>,
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
    /// Its key in `reading`: admission time and number.
    key: (Instant, u64),
}

impl Admission {
    /// `limit` places instead of [`MAX_CONNECTIONS`].
    #[cfg(test)]
    fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            counts: Mutex::default(),
        }
    }

    /// A place for `stream`, a connection from `ip`, if there is one (see
    /// the module doc; none either if its socket cannot be cloned, out of
    /// descriptors).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, stream: &TcpStream) -> Option<Ticket> {
        self.admit_at(ip, stream, Instant::now())
    }

    /// [`admit`](Self::admit) at `now`.
    fn admit_at(self: &Arc<Self>, ip: IpAddr, stream: &TcpStream, now: Instant) -> Option<Ticket> {
        let peer = peer_of(ip);
        let mut counts = self.lock();
        let placed = counts.total - counts.evicted.len();
        if let Some(peer) = peer
            && !counts.may_take(peer, placed >= self.limit.saturating_sub(RESERVED))
        {
            return None;
        }
        // Cloned before evicting: out of descriptors, nobody is evicted.
        let socket = stream.try_clone().ok()?;
        let evicted = if placed >= self.limit {
            Some(counts.evict(now)?)
        } else {
            None
        };
        counts.count(peer);
        let key = (now, counts.next);
        counts.next += 1;
        counts.total += 1;
        counts.reading.insert(key, Reading { socket, peer });
        drop(counts);
        if let Some(socket) = evicted {
            // Its thread's read returns at once; it may have closed already.
            let _ = socket.shutdown(Shutdown::Both);
        }
        Some(Ticket {
            admission: Arc::clone(self),
            peer,
            key,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open (evicted ones included).
    #[cfg(test)]
    fn total(&self) -> usize {
        self.lock().total
    }
}

impl Counts {
    /// Whether `peer` may take a place (`in_reserve`: in the last
    /// [`RESERVED`]).
    fn may_take(&self, peer: Peer, in_reserve: bool) -> bool {
        let held = self.by_peer.get(&peer.addr).copied().unwrap_or(0);
        let in_prefix = peer
            .prefix
            .map_or(0, |p| self.by_prefix.get(&p).copied().unwrap_or(0));
        held < MAX_PER_PEER && in_prefix < MAX_PER_PREFIX && !(in_reserve && held > 0)
    }

    /// Evicts the oldest connection reading its head if it has been for
    /// [`EVICT_AFTER`] at `now` (and fewer than [`MAX_EVICTING`] are in
    /// flight): its socket, to shut down.
    fn evict(&mut self, now: Instant) -> Option<TcpStream> {
        if self.evicted.len() >= MAX_EVICTING {
            return None;
        }
        let (&(since, _), _) = self.reading.first_key_value()?;
        if now.saturating_duration_since(since) < EVICT_AFTER {
            return None;
        }
        let ((_, number), oldest) = self.reading.pop_first()?;
        self.evicted.insert(number);
        self.uncount(oldest.peer);
        Some(oldest.socket)
    }

    fn count(&mut self, peer: Option<Peer>) {
        if let Some(peer) = peer {
            *self.by_peer.entry(peer.addr).or_default() += 1;
            if let Some(p) = peer.prefix {
                *self.by_prefix.entry(p).or_default() += 1;
            }
        }
    }

    fn uncount(&mut self, peer: Option<Peer>) {
        if let Some(peer) = peer {
            release(&mut self.by_peer, &peer.addr);
            if let Some(p) = peer.prefix {
                release(&mut self.by_prefix, &p);
            }
        }
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

impl Ticket {
    /// Its request head is read: it is being answered, and no longer
    /// evicted for a newcomer.
    pub fn answering(&self) {
        self.admission.lock().reading.remove(&self.key);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.admission.lock();
        counts.total -= 1;
        // Evicted, it no longer counts for its peer nor reads its head.
        if !counts.evicted.remove(&self.key.1) {
            counts.uncount(self.peer);
            counts.reading.remove(&self.key);
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
    use std::io::{ErrorKind, Read};
    use std::net::TcpListener;
    use std::sync::LazyLock;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A connection over loopback to `listener`: (client's end, server's end).
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// One socket that the tests without eviction admit over and over, all
    /// at one time (so that none can be evicted, however slow the test).
    static SHARED: LazyLock<(TcpStream, TcpStream, Instant)> = LazyLock::new(|| {
        let (client, server) = pair(&TcpListener::bind("127.0.0.1:0").unwrap());
        (client, server, Instant::now())
    });

    fn admit(a: &Arc<Admission>, addr: &str) -> Option<Ticket> {
        a.admit_at(ip(addr), &SHARED.1, SHARED.2)
    }

    fn take(a: &Arc<Admission>, addr: &str, n: usize) -> Vec<Ticket> {
        (0..n)
            .map(|i| admit(a, addr).unwrap_or_else(|| panic!("place {i} for {addr}")))
            .collect()
    }

    /// Whether the server shut `client`'s connection down: its client sees
    /// the end of it (or a reset) within 10 s.
    fn closed(client: &mut TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        match client.read(&mut [0u8; 1]) {
            Ok(0) => true,
            Ok(_) => panic!("the server sent data"),
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }

    /// Whether `client`'s connection is open: nothing to read yet.
    fn open(client: &mut TcpStream) -> bool {
        client.set_nonblocking(true).unwrap();
        let result = client.read(&mut [0u8; 1]);
        client.set_nonblocking(false).unwrap();
        result.is_err_and(|e| e.kind() == ErrorKind::WouldBlock)
    }

    /// Was: every place taken by connections that never sent their head,
    /// every newcomer was closed unanswered, for as long as they held on.
    #[test]
    fn the_oldest_head_reader_past_the_minimum_age_is_evicted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = Arc::new(Admission::with_limit(3));
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let lo = ip("127.0.0.1");
        // Admitted at t0 + 20, 0 and 10 ms: the oldest is the second.
        let mut held: Vec<_> = [20, 0, 10]
            .map(|at| {
                let (client, server) = pair(&listener);
                let ticket = a.admit_at(lo, &server, t0 + ms(at)).unwrap();
                (client, server, ticket)
            })
            .into();
        let (_, newcomer) = pair(&listener);
        // None has been reading for EVICT_AFTER yet: refused.
        assert!(
            a.admit_at(lo, &newcomer, t0 + EVICT_AFTER - ms(1))
                .is_none()
        );
        assert!(held.iter_mut().all(|(client, ..)| open(client)));
        // Now the oldest has: evicted for the newcomer, the others kept.
        let admitted = a.admit_at(lo, &newcomer, t0 + EVICT_AFTER);
        assert!(admitted.is_some());
        assert!(closed(&mut held[1].0));
        assert!(open(&mut held[0].0) && open(&mut held[2].0));
        // The next oldest has not been reading for EVICT_AFTER: refused.
        let (_, another) = pair(&listener);
        assert!(a.admit_at(lo, &another, t0 + EVICT_AFTER).is_none());
        // The evicted connection is open until its ticket is dropped.
        assert_eq!(a.total(), 4);
        held.remove(1);
        assert_eq!(a.total(), 3);
    }

    #[test]
    fn a_connection_whose_head_is_read_is_never_evicted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = Arc::new(Admission::with_limit(2));
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        let lo = ip("::1");
        let (mut first, s1) = pair(&listener);
        let (mut second, s2) = pair(&listener);
        let t1 = a.admit_at(lo, &s1, t0).unwrap();
        let _t2 = a.admit_at(lo, &s2, t0).unwrap();
        t1.answering();
        // The first is older, but answered: the second is evicted.
        let (mut third, s3) = pair(&listener);
        let t3 = a.admit_at(lo, &s3, t0 + hour).unwrap();
        assert!(closed(&mut second));
        assert!(open(&mut first));
        // None reads its head now: a newcomer is refused, whenever it comes.
        t3.answering();
        let (_, s4) = pair(&listener);
        assert!(a.admit_at(lo, &s4, t0 + 2 * hour).is_none());
        assert!(open(&mut first) && open(&mut third));
    }

    #[test]
    fn a_newcomer_that_breaks_a_per_peer_rule_is_still_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // Every place taken: by one /64 (4 addresses), one IPv4 address and
        // loopback (the reserve).
        let a = Arc::new(Admission::with_limit(MAX_PER_PREFIX + 1 + RESERVED));
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(3600);
        let (mut of_prefix, s) = pair(&listener);
        let mut held: Vec<Ticket> = (0..MAX_PER_PREFIX)
            .map(|i| {
                let addr = ip(&format!("2001:db8:1:2::{:x}", i / MAX_PER_PEER + 1));
                a.admit_at(addr, &s, t0).unwrap()
            })
            .collect();
        let (mut of_v4, s) = pair(&listener);
        held.push(a.admit_at(ip("10.0.0.1"), &s, t0).unwrap());
        held.extend((0..RESERVED).map(|_| a.admit_at(ip("::1"), &s, t0).unwrap()));
        let (_, newcomer) = pair(&listener);
        // An address with a connection (the reserve) and an address of a
        // full /64 are refused, and evict nobody.
        assert!(a.admit_at(ip("10.0.0.1"), &newcomer, later).is_none());
        assert!(
            a.admit_at(ip("2001:db8:1:2::ff"), &newcomer, later)
                .is_none()
        );
        assert!(open(&mut of_prefix) && open(&mut of_v4));
        // Another address is admitted in the place of the oldest.
        assert!(a.admit_at(ip("10.0.0.2"), &newcomer, later).is_some());
        assert!(closed(&mut of_prefix) && open(&mut of_v4));
    }

    #[test]
    fn evictions_in_flight_are_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = Arc::new(Admission::with_limit(1));
        let t0 = Instant::now();
        let lo = ip("127.0.0.1");
        let (_client, s) = &pair(&listener);
        let at = |i: u32| t0 + i * EVICT_AFTER;
        let mut held = vec![a.admit_at(lo, s, at(0)).unwrap()];
        for i in 1..=MAX_EVICTING as u32 {
            held.push(a.admit_at(lo, s, at(i)).expect("evicts the last one"));
        }
        let next = at(MAX_EVICTING as u32 + 1);
        assert!(a.admit_at(lo, s, next).is_none());
        assert_eq!(a.total(), 1 + MAX_EVICTING);
        // One evicted connection gone: one more eviction.
        held.swap_remove(0);
        assert!(a.admit_at(lo, s, next).is_some());
    }

    #[test]
    fn one_peer_takes_at_most_its_share_and_gets_it_back() {
        let a = Arc::new(Admission::default());
        let held = take(&a, "192.168.1.7", MAX_PER_PEER);
        assert!(admit(&a, "192.168.1.7").is_none());
        // The same host as an IPv4-mapped IPv6 address is the same peer.
        assert!(admit(&a, "::ffff:192.168.1.7").is_none());
        // Others are still served.
        assert!(admit(&a, "192.168.1.8").is_some());
        drop(held);
        assert_eq!(a.total(), 0);
        assert!(admit(&a, "192.168.1.7").is_some());
    }

    /// Was: an IPv6 peer was its /64, which every host of a LAN shares
    /// (SLAAC), and every link-local address shares fe80::/64: one host's
    /// 16 idle connections locked out every IPv6 client.
    #[test]
    fn ipv6_hosts_of_one_network_are_told_apart() {
        let a = Arc::new(Admission::default());
        let mut held = take(&a, "2001:db8:1:2::1", MAX_PER_PEER);
        assert!(admit(&a, "2001:db8:1:2::1").is_none());
        held.extend(take(&a, "2001:db8:1:2::2", 1));
        held.extend(take(&a, "fe80::1", MAX_PER_PEER));
        assert!(admit(&a, "fe80::1").is_none());
        held.extend(take(&a, "fe80::2", 1));
        // One host picking addresses from its /64 is bounded all the same.
        let a = Arc::new(Admission::default());
        let mut held: Vec<Ticket> = (0..MAX_PER_PREFIX / MAX_PER_PEER)
            .flat_map(|i| take(&a, &format!("2001:db8:1:2::{:x}", i + 1), MAX_PER_PEER))
            .collect();
        assert!(admit(&a, "2001:db8:1:2:ffff::1").is_none());
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
        assert!(admit(&a, "10.0.1.1").is_none());
        held.extend(take(&a, "10.0.1.2", 1));
    }

    #[test]
    fn loopback_counts_towards_the_total_only() {
        let a = Arc::new(Admission::default());
        let mut held = take(&a, "127.0.0.1", MAX_CONNECTIONS - 1);
        held.push(admit(&a, "10.0.0.1").expect("the last place"));
        assert!(admit(&a, "::1").is_none());
        assert!(admit(&a, "10.0.0.2").is_none());
        held.pop();
        assert!(admit(&a, "10.0.0.2").is_some());
    }
}
