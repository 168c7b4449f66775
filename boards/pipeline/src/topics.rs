//! The firmware's topics: three regions packed into one statically sized buffer.
//!
//! This file is the single definition of the boards' memory layout. The
//! firmware uses it through this crate; `horus-nostd/tests/golden_layout.rs`
//! includes the same file (`#[path]`) and checks the bytes it produces on the
//! host against `horus-nostd/tests/golden/board_region.bin`, which the
//! firmware compares its own region with on the 32-bit targets. It depends on
//! nothing but `horus_nostd`, so it compiles in both places.
//!
//! ```text
//! word 0      imu.raw       Imu        capacity 2, 3 participants, 1 lane (sensor)          128 words
//! 128         imu.filtered  Imu        capacity 2, 2 participants, 1 lane (filter)          128 words
//! 256         heartbeat     Heartbeat  capacity 4, 3 participants, 3 lanes (every node)     208 words
//! 464 words = 3712 bytes in all
//! ```
//!
//! Each topic has exactly the publisher lanes its firmware uses: a
//! receiving node costs a 64-byte participant entry, not a ring.
//!
//! Every region is a whole number of 128-byte blocks, so each one starts on
//! a block of the block-aligned buffer (`RegionBuffer`).

use horus_nostd::msgs::{Heartbeat, Imu};
use horus_nostd::sync::AtomicU64;
use horus_nostd::{InitError, TopicLayout, TopicRegion};

/// Slots per lane of the raw IMU topic: exactly what the filter takes per
/// tick (2), and half of what the checker sees per period (4), so the
/// checker's subscription is lapped and loss accounting is exercised.
pub const RAW_CAPACITY: u32 = 2;
/// Sensor (publisher), filter and checker (subscribers).
pub const RAW_PARTICIPANTS: u32 = 3;
/// Publisher lanes of the raw IMU topic: the sensor's.
pub const RAW_PUBLISHERS: u32 = 1;
/// Slots per lane of the filtered topic: exactly what the filter publishes per
/// checker period, so the checker must see every output (an off-by-one in the
/// ring would show as a loss).
pub const FILTERED_CAPACITY: u32 = 2;
/// Filter (publisher) and checker (subscriber).
pub const FILTERED_PARTICIPANTS: u32 = 2;
/// Publisher lanes of the filtered topic: the filter's.
pub const FILTERED_PUBLISHERS: u32 = 1;
/// Slots per lane of the heartbeat topic (N:1: every node publishes): exactly
/// the sensor's heartbeats per checker period.
pub const HEARTBEAT_CAPACITY: u32 = 4;
/// Sensor, filter and checker, each publishing; the checker also receives.
pub const HEARTBEAT_PARTICIPANTS: u32 = 3;
/// Publisher lanes of the heartbeat topic: one per node.
pub const HEARTBEAT_PUBLISHERS: u32 = 3;

/// Layout of the raw IMU topic.
pub const RAW: TopicLayout =
    TopicLayout::for_static_publishers::<Imu>(RAW_CAPACITY, RAW_PARTICIPANTS, RAW_PUBLISHERS);
/// Layout of the filtered IMU topic.
pub const FILTERED: TopicLayout = TopicLayout::for_static_publishers::<Imu>(
    FILTERED_CAPACITY,
    FILTERED_PARTICIPANTS,
    FILTERED_PUBLISHERS,
);
/// Layout of the heartbeat topic.
pub const HEARTBEAT: TopicLayout = TopicLayout::for_static_publishers::<Heartbeat>(
    HEARTBEAT_CAPACITY,
    HEARTBEAT_PARTICIPANTS,
    HEARTBEAT_PUBLISHERS,
);

/// Words of the whole buffer: the three regions back to back. Size a
/// `RegionBuffer<REGION_WORDS>` with it.
pub const REGION_WORDS: usize =
    RAW.region_words() + FILTERED.region_words() + HEARTBEAT.region_words();
/// Bytes of the whole buffer.
pub const REGION_BYTES: usize = REGION_WORDS * 8;

/// The three topics, initialised in one buffer.
#[derive(Debug, Clone, Copy)]
pub struct Topics<'r> {
    /// `imu.raw`.
    pub raw: TopicRegion<&'r [AtomicU64]>,
    /// `imu.filtered`.
    pub filtered: TopicRegion<&'r [AtomicU64]>,
    /// `heartbeat`.
    pub heartbeat: TopicRegion<&'r [AtomicU64]>,
}

impl<'r> Topics<'r> {
    /// Initialises the three regions in `words` (at least [`REGION_WORDS`]
    /// long) with creation time `created_ns` (pass 0 for a byte-exact,
    /// reproducible region: the golden layout does).
    pub fn init(words: &'r [AtomicU64], created_ns: u64) -> Result<Self, InitError> {
        if words.len() < REGION_WORDS {
            return Err(InitError::RegionTooSmall {
                needed: REGION_BYTES,
                given: words.len() * 8,
            });
        }
        let (raw, rest) = words.split_at(RAW.region_words());
        let (filtered, heartbeat) = rest.split_at(FILTERED.region_words());
        Ok(Self {
            raw: TopicRegion::init_layout::<Imu>(raw, RAW, created_ns)?,
            filtered: TopicRegion::init_layout::<Imu>(filtered, FILTERED, created_ns)?,
            heartbeat: TopicRegion::init_layout::<Heartbeat>(heartbeat, HEARTBEAT, created_ns)?,
        })
    }
}

// Each region is whole 128-byte blocks, so the next one starts on a block.
const _: () = assert!(
    RAW.region_words() % horus_nostd::layout::BLOCK_WORDS == 0
        && FILTERED.region_words() % horus_nostd::layout::BLOCK_WORDS == 0
);
