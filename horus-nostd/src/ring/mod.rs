//! Publishing and receiving.
//!
//! A topic has a pool of `max_publishers` **lanes**: rings of `capacity`
//! slots, each written only by the participant that holds it (see
//! `ring/lane.rs` for the algorithm, `ring/stamp.rs` for the slot stamps and
//! `ring/lanes.rs` for how a lane is claimed and freed). Every handle can
//! publish (into the lane it claims at its first send) and receive (from
//! every lane that ever published, round-robin, with one cursor per lane);
//! a handle that only receives costs the region its participant entry. So there is no read-modify-write and no contention
//! on the publish path in any topology (1:1, 1:N, N:1, N:N), in one thread,
//! across threads or across processes; a receiver with one active lane reads
//! only that lane, and picks up new lanes as publishers join (the
//! `LANES_ACTIVE` mask).
//!
//! Guarantees, for every receiving handle, since it joined:
//! - publishers never block; a full lane overwrites its oldest slot; a send
//!   fails only when the handle holds no lane and none is free
//!   ([`Refusal::NoLane`]; [`Refusal::LaneExhausted`] if the only free
//!   ones are at the sequence limit), the lane it claims has no memory
//!   ([`Refusal::NoMemory`]), or it was evicted (below);
//! - per lane, messages arrive in order, each at most once, never torn;
//! - `delivered + dropped == published` once the handle has caught up:
//!   a lapped reader, a torn copy and an abandoned slot all count as drops;
//! - a publisher that dies mid-write leaves one `WRITING` slot; it blocks only
//!   its own (dead) lane until reclaimed, then reads as one drop; reclaiming
//!   a publisher that died between messages reserves its lane's next
//!   sequence instead, also one counted drop (see `ring/participants.rs`);
//! - a handle whose entry was reclaimed under it (its owner wrongly judged
//!   dead) never writes into the lane it lost: its send hands the message
//!   back ([`SendRefused`], [`Refusal::Evicted`]) and
//!   [`rejoin`](TopicHandle::rejoin) gives it a fresh entry.
//!
//! Cost: one send is the claim check (one load of the participant entry,
//! a line only joins and reclaims write, and one branch), three stores
//! (two stamps and the lane entry's head hint) plus the payload words (and
//! a fence), at words computed when the lane was claimed and moved along by
//! each send (`lane::Sending`: no slot arithmetic but an add and a compare
//! at the lane's end); the first send also claims a lane (`ring/lanes.rs`);
//! one
//! receive is the `LANES_ACTIVE` load, two stamp loads plus the payload words
//! (and a fence). While one lane is active (any 1:1 or 1:N topic), a
//! receive finds that lane's next stamp at a word it computed on the
//! previous receive (`lane::Expected`): no mask scan, no slot arithmetic;
//! a poll that finds nothing is that stamp load and the mask load. Both
//! paths are inlined into the caller (`send_bytes`, `recv_bytes` and the
//! typed `send`/`recv`) and size the slot's payload from the message's
//! (checked) length, so a typed message's copy has a length known when
//! compiled: no block loop, no tail. What
//! that costs in time is measured by `benchmarks/`, with
//! the machine and date of each run: `benchmarks/results/RESULTS.md` (the
//! latest run) and `benchmarks/results/archive/` (earlier ones).

mod copy;
mod error;
#[cfg(all(test, not(loom)))]
mod fast_path_tests;
pub(crate) mod lane;
pub(crate) mod lanes;
pub(crate) mod participants;
pub(crate) mod stamp;

use core::marker::PhantomData;

use crate::error::JoinError;
use crate::layout::{MAX_LANES, part};
use crate::message::{Message, TypeInfo};
use crate::region::{OwnerToken, StaticWords, TopicRegion, Words};
use crate::sync::Ordering;
use lane::{Expected, LaneRead};

pub use error::{FRAME_HEADER, FrameError, PayloadSizeError, Refusal, SendError, SendRefused};

/// Copies `src` into `dst`, eight bytes a word (little-endian, the region's
/// byte order), stopping at whichever ends first: the ring's own payload
/// copy, for a caller that copies out of memory another thread or process
/// may be writing at the same time. Defined then, unlike `memcpy` over racing
/// memory: a byte read during a write is its old or its new value, never
/// undefined behaviour (whole 64-byte blocks in inline assembly on x86_64,
/// the rest relaxed atomic words; see the module `copy`). Nothing orders it
/// with those writes: a consistent copy needs a protocol around it, as the
/// ring's seqlock is.
///
/// ```
/// use horus_nostd::ring::copy_from_words;
/// use horus_nostd::sync::AtomicU64;
///
/// let words = [AtomicU64::new(u64::from_le_bytes(*b"abcdefgh")), AtomicU64::new(0x6a69)];
/// let mut out = [0u8; 10];
/// copy_from_words(&words, &mut out);
/// assert_eq!(&out, b"abcdefghij");
/// ```
#[inline]
pub fn copy_from_words(src: &[crate::sync::AtomicU64], dst: &mut [u8]) {
    copy::load_payload(src, dst);
}

/// The private state of one participant: its lane and its read cursors.
///
/// It lives with the handle (in the handle's memory, not the region), so a
/// reader never writes shared memory.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Participant entry index.
    pub(crate) index: u32,
    /// The lane this handle holds ([`lanes::NO_LANE`] until its first send).
    pub(crate) lane: u32,
    /// Who holds the entry.
    pub(crate) owner: OwnerToken,
    /// The entry's `CLAIM` word as this handle's join left it.
    pub(crate) claim: u64,
    /// Next sequence to publish in the own lane.
    pub(crate) next_seq: u64,
    /// The words the next send touches (see `ring/lane.rs`).
    pub(crate) sending: lane::Sending,
    /// Next sequence to read, per lane. Known cost: one per possible lane
    /// (512 B of a 768-byte handle on a 32-bit board), whatever the topic's
    /// lanes; see boards/README.md, "Known cost: the read cursors".
    pub(crate) cursors: [u64; MAX_LANES],
    /// Lane to look at first on the next receive (round-robin fairness).
    pub(crate) next_lane: u32,
    /// The receive fast path while one lane is active (see `ring/lane.rs`).
    pub(crate) expected: lane::Expected,
    /// Role bits already announced in the entry.
    pub(crate) roles: u64,
    /// The holder tag set on this handle (0 = none), kept across rejoins.
    pub(crate) holder: u64,
    /// Messages delivered.
    pub(crate) delivered: u64,
    /// Messages lost (overwritten, torn, abandoned) since joining.
    pub(crate) dropped: u64,
}

impl Endpoint {
    /// The endpoint of a fresh join: cursors at 1 (before any message) until
    /// `TopicRegion::start_cursors` moves them past what is already there.
    fn joined(owner: OwnerToken, claimed: participants::Claimed) -> Self {
        Self {
            index: claimed.index,
            lane: lanes::NO_LANE,
            owner,
            claim: claimed.claim,
            next_seq: 0,
            sending: lane::Sending::default(),
            cursors: [1; MAX_LANES],
            next_lane: 0,
            expected: Expected::NONE,
            roles: 0,
            holder: 0,
            delivered: 0,
            dropped: 0,
        }
    }
}

/// A participant speaking bytes: for bindings and tools that know the type
/// only from the region (`horus topic echo`, Python). Messages are exactly
/// [`TypeInfo::size`] bytes.
///
/// ```
/// # use horus_nostd::{region::RegionBuffer, TopicRegion, RawHandle, OwnerToken, msgs::CmdVel};
/// # use horus_nostd::ring::SendError;
/// static MEM: RegionBuffer<4096> = RegionBuffer::new();
/// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
/// let owner = OwnerToken::new(1).unwrap();
/// let mut a = RawHandle::join(region, owner, 0, 0).unwrap();
/// let mut b = RawHandle::join(region, owner, 0, 0).unwrap();
/// a.send_bytes(&[0u8; 16]).unwrap();
/// let mut out = [1u8; 16];
/// assert_eq!(b.recv_bytes(&mut out), Ok(true));
/// assert!(matches!(a.send_bytes(&[0u8; 3]), Err(SendError::WrongSize(_))));
/// ```
///
/// The handle holds its region, so it keeps the region's words (`W`, see
/// [`Words`]) for as long as it lives: a borrow of a firmware `static`, or
/// a share of `horus-std`'s mapping, which stays mapped until the last
/// handle of it is gone.
#[derive(Debug)]
pub struct RawHandle<W: Words = StaticWords> {
    region: TopicRegion<W>,
    ep: Endpoint,
}

impl<W: Words> RawHandle<W> {
    /// Joins `region`: claims a free participant entry for `owner` (a
    /// publisher lane is claimed at the first send). `pid` and `now_ns` are
    /// recorded for introspection.
    pub fn join(
        region: TopicRegion<W>,
        owner: OwnerToken,
        pid: u64,
        now_ns: u64,
    ) -> Result<Self, JoinError> {
        let claimed = region.join(owner, pid, now_ns)?;
        // Built here, in place, and only then given its cursors: see
        // `TopicRegion::join` for why the endpoint is not returned by it.
        let mut handle = Self {
            region,
            ep: Endpoint::joined(owner, claimed),
        };
        handle.region.start_cursors(&mut handle.ep);
        Ok(handle)
    }

    /// The region this handle is in.
    pub fn region(&self) -> &TopicRegion<W> {
        &self.region
    }

    /// Publishes one message of exactly the topic's size. Never blocks.
    /// Fails, writing nothing, on a wrong length, or refused
    /// ([`SendError::Refused`]): if this handle was evicted
    /// ([`Refusal::Evicted`]: [`rejoin`](Self::rejoin) and retry) or if it
    /// has no publisher lane and none is free ([`Refusal::NoLane`]), or
    /// the memory of the lane it claimed could not be had
    /// ([`Refusal::NoMemory`]).
    #[inline(always)]
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.check_len(bytes.len())?;
        Ok(self.send_unchecked(bytes, false)?)
    }

    /// Publishes one message of a serialized type: `body`, framed by its
    /// length (a little-endian `u32` before it, in the same slot), so that
    /// receivers copy only the frame, not the whole slot. Never blocks.
    /// Fails, writing nothing, if `4 + body.len()` exceeds the topic's
    /// message size, or as [`send_bytes`](Self::send_bytes) does.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, RawHandle, OwnerToken, msgs::CmdVel};
    /// # use horus_nostd::ring::{SendError, FrameError};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap(); // 16-byte slots
    /// let owner = OwnerToken::new(1).unwrap();
    /// let mut a = RawHandle::join(region, owner, 0, 0).unwrap();
    /// let mut b = RawHandle::join(region, owner, 0, 0).unwrap();
    /// a.send_framed(b"hello").unwrap();
    /// let mut out = [0u8; 16];
    /// assert_eq!(b.recv_framed(&mut out), Ok(Some(&b"hello"[..])));
    /// assert!(matches!(a.send_framed(&[0u8; 13]), Err(SendError::FrameTooLarge { max: 12, .. })));
    /// assert!(matches!(b.recv_framed(&mut [0u8; 3]), Err(FrameError::WrongSize(_))));
    /// ```
    pub fn send_framed(&mut self, body: &[u8]) -> Result<(), SendError> {
        let max = self.region.layout.type_size as usize;
        if body.len().saturating_add(FRAME_HEADER) > max {
            return Err(SendError::FrameTooLarge {
                max: (max.saturating_sub(FRAME_HEADER)) as u32,
                given: body.len(),
            });
        }
        Ok(self.send_unchecked(body, true)?)
    }

    /// Receives the next frame (see [`send_framed`](Self::send_framed)) into
    /// `out`, exactly the topic's message size, and returns its body;
    /// `Ok(None)` if there is none. Never blocks. A frame whose stored length
    /// does not fit the slot (only a hostile region holds one) is
    /// [`FrameError::BadLength`]: it was delivered, and is lost.
    pub fn recv_framed<'o>(&mut self, out: &'o mut [u8]) -> Result<Option<&'o [u8]>, FrameError> {
        self.check_len(out.len()).map_err(FrameError::WrongSize)?;
        if !self.recv_unchecked(out, true) {
            return Ok(None);
        }
        // A message too small for the length word (a region whose header
        // claims frames in slots of fewer than 4 bytes: only a hostile one)
        // holds no frame at all.
        let Some(&[a, b, c, d]) = out.get(..FRAME_HEADER) else {
            return Err(FrameError::BadLength { claimed: 0, max: 0 });
        };
        let len = u32::from_le_bytes([a, b, c, d]);
        match (len as usize).checked_add(FRAME_HEADER) {
            Some(end) if end <= out.len() => Ok(Some(&out[FRAME_HEADER..end])),
            _ => Err(FrameError::BadLength {
                claimed: len,
                max: (out.len() - FRAME_HEADER.min(out.len())) as u32,
            }),
        }
    }

    /// Claims a fresh participant entry for the same owner, after an
    /// eviction. Read cursors and counters are kept, so nothing is received
    /// twice or skipped uncounted; the next send claims a lane (maybe the
    /// same one, continuing its sequence) and publishes there. The old entry is left alone if it is someone else's now
    /// (and freed if this handle still held it). On error the handle is
    /// unchanged.
    pub fn rejoin(&mut self, pid: u64, now_ns: u64) -> Result<(), JoinError> {
        let fresh = self.region.join(self.ep.owner, pid, now_ns)?;
        self.region.leave(&mut self.ep);
        trace_warn!(
            "topic {}: participant {} was evicted (judged dead); rejoined as {}",
            self.region.type_info().name.as_str(),
            self.ep.index,
            fresh.index
        );
        self.ep.index = fresh.index;
        self.ep.claim = fresh.claim;
        self.ep.lane = lanes::NO_LANE; // `leave` let go of it
        self.ep.roles = 0;
        // The next receive announces the role again, on the general path.
        self.ep.expected = Expected::NONE;
        self.region.record_holder(&self.ep);
        Ok(())
    }

    /// Says who in the process holds this handle, for tools: an opaque
    /// `tag` stored in the participant entry (`part::HOLDER`, read back as
    /// `ParticipantInfo::holder` of [`TopicRegion::participants`]),
    /// 0 for "not said". Kept across [`rejoin`](Self::rejoin). One Relaxed
    /// store; nothing synchronises through it (a tool may see the entry
    /// before its tag).
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, RawHandle, OwnerToken, msgs::CmdVel};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
    /// let mut h = RawHandle::join(region, OwnerToken::new(1).unwrap(), 0, 0).unwrap();
    /// h.set_holder(0xfeed);
    /// assert_eq!(region.participants().next().map(|p| p.holder), Some(0xfeed));
    /// ```
    pub fn set_holder(&mut self, tag: u64) {
        self.ep.holder = tag;
        self.region.record_holder(&self.ep);
    }

    /// Receives the next message into `out` (exactly the topic's size);
    /// `Ok(false)` if there is none. Never blocks.
    #[inline]
    pub fn recv_bytes(&mut self, out: &mut [u8]) -> Result<bool, PayloadSizeError> {
        self.check_len(out.len())?;
        Ok(self.recv_unchecked(out, false))
    }

    /// Messages this handle lost since it joined.
    pub fn dropped_count(&self) -> u64 {
        self.ep.dropped
    }

    /// Replays what the topic retains: the next receives start at the oldest
    /// message each publishing lane still holds (up to `capacity` per lane),
    /// in per-lane order. A message overwritten while replaying counts as
    /// dropped, as usual.
    pub fn rewind(&mut self) {
        self.region.rewind(&mut self.ep);
    }

    /// Messages this handle received since it joined.
    pub fn delivered_count(&self) -> u64 {
        self.ep.delivered
    }

    /// This handle's participant index.
    pub fn index(&self) -> u32 {
        self.ep.index
    }

    /// The publisher lane this handle holds: `None` until its first send
    /// (and after a rejoin, until the next one).
    pub fn lane(&self) -> Option<u32> {
        (self.ep.lane != lanes::NO_LANE).then_some(self.ep.lane)
    }

    fn check_len(&self, given: usize) -> Result<(), PayloadSizeError> {
        let expected = self.region.layout.type_size;
        if given == expected as usize {
            Ok(())
        } else {
            Err(PayloadSizeError { expected, given })
        }
    }

    /// `bytes.len()` is the topic's message size, or framed, `4 +
    /// bytes.len()` fits it (checked by the caller). On a refusal nothing
    /// was written.
    #[inline(always)]
    fn send_unchecked(&mut self, bytes: &[u8], framed: bool) -> Result<(), Refusal> {
        if self.ep.roles & part::ROLE_PUBLISHER == 0 {
            // The first send: a lane, then the role (once per handle).
            self.region.announce_publisher(&mut self.ep)?;
        }
        if self.region.write_slot(&mut self.ep, bytes, framed) {
            Ok(())
        } else {
            Err(Refusal::Evicted)
        }
    }

    /// `out.len()` is the topic's message size (checked by the caller).
    ///
    /// While the topic has one publishing lane, a receive is the fast path
    /// (`TopicRegion::read_expected`): the mask load (a line that changes
    /// only when a lane publishes for the first time), one stamp load at a
    /// precomputed word and, if a message is there, its copy. On a topic no
    /// lane has published on yet (a system topic, usually), the mask load
    /// is the whole receive once the handle's role is announced. Everything
    /// else (several lanes, a new lane, a lap, an abandoned slot, the first
    /// receive) takes the general path below, which also sets the fast
    /// path up. Same-process and cross-process handles alike.
    #[inline(always)]
    fn recv_unchecked(&mut self, out: &mut [u8], framed: bool) -> bool {
        // No data is published through the mask (the stamps carry it); a lane
        // missed here is seen on a later receive.
        let active = self.region.lanes_active().load(Ordering::Relaxed);
        if active == self.ep.expected.mask {
            if active != 0 {
                if let Some(delivered) = self.region.read_expected(&mut self.ep, out, framed) {
                    return delivered;
                }
            } else if self.ep.roles & part::ROLE_SUBSCRIBER != 0 {
                return false; // no lane has ever published, and the role is announced
            }
        }
        self.recv_scan(active, out, framed)
    }

    /// The general receive: every active lane, round-robin from the one
    /// after the last delivered; then the fast path for the next receive.
    #[inline(never)]
    fn recv_scan(&mut self, active: u64, out: &mut [u8], framed: bool) -> bool {
        // Also on the first receive after a `rejoin` (see `Expected`).
        if self.ep.roles & part::ROLE_SUBSCRIBER == 0 {
            self.region
                .announce_role(&mut self.ep, part::ROLE_SUBSCRIBER);
        }
        let delivered = self.scan_lanes(active, out, framed);
        self.ep.expected = self.region.expected_for(&self.ep, active);
        delivered
    }

    fn scan_lanes(&mut self, active: u64, out: &mut [u8], framed: bool) -> bool {
        if active == 0 {
            return false;
        }
        let start = self.ep.next_lane % 64;
        let mut pending = active.rotate_right(start);
        while pending != 0 {
            let step = pending.trailing_zeros();
            pending &= pending - 1;
            let lane = ((start + step) % 64) as usize;
            if lane >= self.region.layout.lanes as usize {
                continue; // corrupt mask bit: no such lane
            }
            if self.region.read_lane(&mut self.ep, lane, out, framed) == LaneRead::Delivered {
                self.ep.next_lane = lane as u32 + 1;
                return true;
            }
        }
        false
    }
}

impl<W: Words> Drop for RawHandle<W> {
    fn drop(&mut self) {
        self.region.leave(&mut self.ep);
    }
}

/// A typed participant: publishes and receives `T`.
///
/// ```
/// # use horus_nostd::{region::RegionBuffer, TopicRegion, TopicHandle, OwnerToken, msgs::CmdVel};
/// static MEM: RegionBuffer<4096> = RegionBuffer::new();
/// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
/// let me = OwnerToken::new(1).unwrap();
/// let mut publisher = TopicHandle::<CmdVel>::join(region, me, 0, 0).unwrap();
/// let mut subscriber = TopicHandle::<CmdVel>::join(region, me, 0, 0).unwrap();
/// publisher.send(CmdVel { linear: 0.5, angular: 0.1, ..Default::default() }).unwrap();
/// assert_eq!(subscriber.recv().map(|m| m.linear), Some(0.5));
/// assert_eq!(subscriber.recv(), None);
/// ```
///
/// Like [`RawHandle`], it holds its region's words (`W`).
#[derive(Debug)]
pub struct TopicHandle<T: Message, W: Words = StaticWords> {
    raw: RawHandle<W>,
    _type: PhantomData<fn(T) -> T>,
}

impl<T: Message, W: Words> TopicHandle<T, W> {
    /// Joins `region`, which must carry `T`.
    pub fn join(
        region: TopicRegion<W>,
        owner: OwnerToken,
        pid: u64,
        now_ns: u64,
    ) -> Result<Self, JoinError> {
        let want = TypeInfo::of::<T>();
        let found = region.type_info();
        if want.id != found.id || want.size != found.size || want.align != found.align {
            return Err(JoinError::WrongType {
                expected: want.name,
                found: found.name,
            });
        }
        Ok(Self {
            raw: RawHandle::join(region, owner, pid, now_ns)?,
            _type: PhantomData,
        })
    }

    /// Publishes `msg`. Never blocks: the oldest slot of this handle's lane
    /// is overwritten when readers lag. The first send claims a publisher
    /// lane. Fails, writing nothing and handing `msg` back in
    /// [`SendRefused`], if this handle's entry was reclaimed under it (its
    /// owner wrongly judged dead: [`rejoin`](Self::rejoin) and send it
    /// again) or if it holds no lane and all `max_publishers` lanes are
    /// held. A program that never reclaims and sizes its lanes can `.ok()` it.
    #[inline]
    pub fn send(&mut self, msg: T) -> Result<(), SendRefused<T>> {
        // The region was checked to carry T: the length matches.
        match self.raw.send_unchecked(bytemuck::bytes_of(&msg), false) {
            Ok(()) => Ok(()),
            Err(reason) => Err(SendRefused { msg, reason }),
        }
    }

    /// Claims a fresh entry after an eviction, keeping cursors and counters
    /// (see [`RawHandle::rejoin`] and the example on [`SendRefused`]).
    pub fn rejoin(&mut self, pid: u64, now_ns: u64) -> Result<(), JoinError> {
        self.raw.rejoin(pid, now_ns)
    }

    /// Says who in the process holds this handle (see [`RawHandle::set_holder`]).
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, TopicHandle, OwnerToken, msgs::CmdVel};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
    /// let mut h = TopicHandle::<CmdVel>::join(region, OwnerToken::new(1).unwrap(), 0, 0).unwrap();
    /// h.set_holder(7);
    /// assert_eq!(region.participants().next().map(|p| p.holder), Some(7));
    /// ```
    pub fn set_holder(&mut self, tag: u64) {
        self.raw.set_holder(tag);
    }

    /// The next message from any publisher, or `None`. Never blocks.
    #[inline]
    pub fn recv(&mut self) -> Option<T> {
        let mut msg = T::zeroed();
        self.raw
            .recv_unchecked(bytemuck::bytes_of_mut(&mut msg), false)
            .then_some(msg)
    }

    /// Messages this handle lost since it joined.
    pub fn dropped_count(&self) -> u64 {
        self.raw.dropped_count()
    }

    /// Messages this handle received since it joined.
    pub fn delivered_count(&self) -> u64 {
        self.raw.delivered_count()
    }

    /// Replays what the topic retains (see [`RawHandle::rewind`]).
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, TopicHandle, OwnerToken, msgs::Heartbeat};
    /// static MEM: RegionBuffer<8192> = RegionBuffer::new();
    /// let region = TopicRegion::init::<Heartbeat>(MEM.words(), 4, 2, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let mut a = TopicHandle::<Heartbeat>::join(region, me, 0, 0).unwrap();
    /// for i in 1..=6 { a.send(Heartbeat { sequence: i, ..Default::default() }).unwrap(); }
    /// let mut late = TopicHandle::<Heartbeat>::join(region, me, 0, 0).unwrap();
    /// assert_eq!(late.recv(), None);
    /// late.rewind();
    /// let seen: Vec<u64> = core::iter::from_fn(|| late.recv()).map(|m| m.sequence).collect();
    /// assert_eq!(seen, [3, 4, 5, 6]); // capacity 4: the newest four
    /// ```
    pub fn rewind(&mut self) {
        self.raw.rewind();
    }

    /// The byte-level handle underneath.
    pub fn raw(&self) -> &RawHandle<W> {
        &self.raw
    }
}
