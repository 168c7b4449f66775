//! Large messages across processes through the loan APIs: a 640x480 rgb8
//! [`Image`] (921,600 B) and a 4 MiB [`Tensor`] (1024 x 1024 f32), 1:1 and
//! 1:4, HORUS (`Topic::loan` + write the stamp + `try_send`; `try_recv` +
//! read the stamp + drop the view) beside iceoryx2
//! ([`crate::iceoryx_slice`]: `loan_slice_uninit` of a `[u8]` of the same
//! size), with the 64-byte POD rows of the same topologies, all interleaved
//! block by block ([`crate::interleave`]).
//!
//! The same ping-pong as [`crate::horus_rows`] (one-way = round trip / 2,
//! latency to the last of the S subscribers), in both directions with the
//! large message. The latency rows write and read only the 8-byte stamp
//! (the round-trip number) at the start of the block: what is measured is
//! the cost of moving a large message, not of producing or consuming its
//! bytes. The `every byte` row fills the whole block on the sending side
//! and checks every byte on the receiving side, on both systems. The
//! `Image::new` row makes each HORUS image with the constructor (zeroed,
//! not loaned from the topic) as the seed's example does; iceoryx2 loans. Beside
//! them, the same HORUS operations with both sides in one thread: the cost
//! of the code itself per hop, with no cross-core transfer.

use std::fmt;
use std::hint::spin_loop;
use std::str::FromStr;

use horus::Topic;
use horus::image::{Encoding, Image, ImageLayout};
use horus::pooled::{PoolView, Pooled, PooledLayout};
use horus::tensor::{DType, Tensor, TensorLayout};

use crate::child::{self, arg};
use crate::horus_rows::{Ctx, Geom, Mode};
use crate::msgs::Bench64;
use crate::stats::{self, STOP, Samples, Summary};
use crate::{Block, Config, Res};

pub use crate::pooled_report::{LargeRow, Section};

mod core_hop;
mod hop;
pub use hop::{HopKind, hop_loop};

/// The image's geometry: 640 x 480 rgb8.
pub const IMAGE_WIDTH: u32 = 640;
pub const IMAGE_HEIGHT: u32 = 480;
/// The tensor's shape (f32): 4 MiB.
pub const TENSOR_SHAPE: [u64; 2] = [1024, 1024];

/// Which large message a row moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Tensor,
}

impl Kind {
    /// Bytes of one message.
    pub fn bytes(self) -> usize {
        match self {
            Self::Image => IMAGE_WIDTH as usize * IMAGE_HEIGHT as usize * 3,
            Self::Tensor => TENSOR_SHAPE.iter().product::<u64>() as usize * 4,
        }
    }

    /// As the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Image => "image 640x480 rgb8",
            Self::Tensor => "tensor 1024x1024 f32",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Image => "image",
            Self::Tensor => "tensor",
        })
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "image" => Ok(Self::Image),
            "tensor" => Ok(Self::Tensor),
            other => Err(format!(
                "unknown large message kind {other:?}: image or tensor"
            )),
        }
    }
}

/// What each side does with the bytes of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Writes / reads the 8-byte stamp only (the latency rows).
    Stamp,
    /// Fills every byte / checks every byte (the bandwidth-bound row).
    Every,
    /// As `Stamp`, but the message is made with the kind's constructor
    /// (`Image::try_new`, `Tensor::try_new`: zeroed bytes, not a loan of
    /// the topic's pool) before the stamp is written; iceoryx2 loans as in
    /// the `Stamp` rows.
    New,
}

impl fmt::Display for Touch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stamp => "stamp",
            Self::Every => "every",
            Self::New => "new",
        })
    }
}

impl FromStr for Touch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stamp" => Ok(Self::Stamp),
            "every" => Ok(Self::Every),
            "new" => Ok(Self::New),
            other => Err(format!("unknown touch {other:?}: stamp, every or new")),
        }
    }
}

/// Bytes of the stamp at the start of every block.
pub const STAMP_BYTES: usize = 8;

/// Writes message `seq` into `buf` (at least [`STAMP_BYTES`] long): the
/// stamp, and with [`Touch::Every`] every other byte set to `seq as u8`.
pub fn write_message(buf: &mut [u8], seq: u64, touch: Touch) {
    if touch == Touch::Every {
        buf[STAMP_BYTES..].fill(seq as u8);
    }
    buf[..STAMP_BYTES].copy_from_slice(&seq.to_le_bytes());
}

/// Reads the stamp of `buf` (with [`Touch::Every`], after checking every
/// other byte is the stamp's low byte): a torn or foreign message is an error.
pub fn read_message(buf: &[u8], touch: Touch) -> Result<u64, String> {
    let stamp: [u8; STAMP_BYTES] = buf
        .get(..STAMP_BYTES)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("message of {} bytes has no stamp", buf.len()))?;
    let seq = u64::from_le_bytes(stamp);
    if touch == Touch::Every {
        if let Some(at) = buf[STAMP_BYTES..].iter().position(|&b| b != seq as u8) {
            return Err(format!(
                "message {seq}: byte {} is {}, not {}",
                at + STAMP_BYTES,
                buf[at + STAMP_BYTES],
                seq as u8
            ));
        }
    }
    Ok(seq)
}

/// A large message kind as a HORUS pooled layout, loaned as a user does.
trait Large: PooledLayout {
    fn loan(topic: &Topic<Pooled<Self>>) -> Res<Pooled<Self>>;
    /// The message made as the seed writes it (`Image::new`), not loaned.
    fn construct() -> Res<Pooled<Self>>;
}

impl Large for ImageLayout {
    #[inline]
    fn loan(topic: &Topic<Image>) -> Res<Image> {
        Ok(topic.loan(IMAGE_WIDTH, IMAGE_HEIGHT, Encoding::Rgb8)?)
    }
    #[inline]
    fn construct() -> Res<Image> {
        Ok(Image::try_new(IMAGE_WIDTH, IMAGE_HEIGHT, "rgb8")?)
    }
}

impl Large for TensorLayout {
    #[inline]
    fn loan(topic: &Topic<Tensor>) -> Res<Tensor> {
        Ok(topic.loan(DType::F32, &TENSOR_SHAPE)?)
    }
    #[inline]
    fn construct() -> Res<Tensor> {
        Ok(Tensor::try_new(&TENSOR_SHAPE, "float32")?)
    }
}

fn open<L: Large>(ns: &str, name: &str, g: Geom, bytes: usize) -> Res<Topic<Pooled<L>>> {
    Ok(Topic::<Pooled<L>>::builder(name)
        .namespace(ns)
        .capacity(g.capacity)
        .max_participants(g.participants)
        .max_publishers(g.publishers)
        .block_size(u32::try_from(bytes)?)
        .build()?)
}

/// One side of a large-message ping-pong: HORUS here, iceoryx2 in
/// [`crate::iceoryx_slice`]; the loops that drive it are the same for both.
pub trait LargeSide {
    /// Loan + write + send message `seq`: the whole sending operation.
    fn send(&self, seq: u64) -> Res<()>;
    /// Receive + read + release on subscriber `k`: the message's stamp, if
    /// one was waiting.
    fn try_take(&self, k: usize) -> Res<Option<u64>>;
    /// Subscriber handles of this side.
    fn subscribers(&self) -> usize;
    /// Called once the other side is ready, before the first message.
    fn connect(&self) -> Res<()> {
        Ok(())
    }
}

/// Spins until every subscriber has message `seq`; false on [`STOP`].
#[inline]
fn wait_all(side: &impl LargeSide, seq: u64) -> Res<bool> {
    for k in 0..side.subscribers() {
        let got = loop {
            if let Some(got) = side.try_take(k)? {
                break got;
            }
            spin_loop();
        };
        if got == STOP {
            return Ok(false);
        }
        if got != seq {
            return Err(format!("ping-pong out of step: {got} instead of {seq}").into());
        }
    }
    Ok(true)
}

/// Side A of one block: waits for the child `peer` to be ready, records the
/// round trips, stops the child.
pub fn pinger(
    a: &impl LargeSide,
    mut peer: child::ChildProc,
    warmup: usize,
    samples: usize,
) -> Res<Samples> {
    peer.expect("ready")?;
    a.connect()?;
    let s = stats::record(warmup, samples, |i| -> Res<()> {
        a.send(i)?;
        wait_all(a, i)?;
        Ok(())
    })?;
    a.send(STOP)?;
    peer.finish()?;
    Ok(s)
}

/// Side B (a child role): answers every message until [`STOP`].
pub fn ponger(b: impl LargeSide) -> Res<()> {
    b.connect()?;
    child::say("ready");
    for i in 1.. {
        if !wait_all(&b, i)? {
            break;
        }
        b.send(i)?;
    }
    drop(b);
    child::say("done");
    Ok(())
}

/// One HORUS side: publishes through `out`, receives through every `inp`.
struct Side<L: Large> {
    out: Topic<Pooled<L>>,
    inp: Vec<Topic<Pooled<L>>>,
    touch: Touch,
}

impl<L: Large> Side<L> {
    /// Subscribers on `in_name` first (they exist before anything is sent).
    fn new(ns: &str, out_name: &str, in_name: &str, r: RowArgs) -> Res<Self> {
        let g = Geom::for_topo(1, r.subs);
        let bytes = r.kind.bytes();
        let inp = (0..r.subs)
            .map(|_| open::<L>(ns, in_name, g, bytes))
            .collect::<Res<Vec<_>>>()?;
        Ok(Self {
            out: open::<L>(ns, out_name, g, bytes)?,
            inp,
            touch: r.touch,
        })
    }
}

impl<L: Large> LargeSide for Side<L> {
    #[inline]
    fn send(&self, seq: u64) -> Res<()> {
        let mut m = if self.touch == Touch::New {
            L::construct()?
        } else {
            L::loan(&self.out)?
        };
        write_message(m.data_mut(), seq, self.touch);
        self.out.try_send(m)?;
        Ok(())
    }

    #[inline]
    fn try_take(&self, k: usize) -> Res<Option<u64>> {
        match self.inp[k].try_recv() {
            None => Ok(None),
            Some(view) => {
                let view: PoolView<L> = view?;
                Ok(Some(read_message(view.data(), self.touch)?))
            }
        }
    }

    fn subscribers(&self) -> usize {
        self.inp.len()
    }
}

/// What a large row is, as the child is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowArgs {
    pub kind: Kind,
    pub subs: usize,
    pub touch: Touch,
}

/// One HORUS block of a large row: A here, B a child process.
pub fn ping_pong(ctx: &Ctx, r: RowArgs, warmup: usize, samples: usize) -> Res<Samples> {
    match r.kind {
        Kind::Image => ping_pong_typed::<ImageLayout>(ctx, r, warmup, samples),
        Kind::Tensor => ping_pong_typed::<TensorLayout>(ctx, r, warmup, samples),
    }
}

fn ping_pong_typed<L: Large>(ctx: &Ctx, r: RowArgs, warmup: usize, samples: usize) -> Res<Samples> {
    let (ping, pong) = ctx.pair();
    let a = Side::<L>::new(&ctx.ns, &ping, &pong, r)?;
    let args = [
        ctx.ns.clone(),
        ping,
        pong,
        r.kind.to_string(),
        r.subs.to_string(),
        r.touch.to_string(),
    ];
    let s = pinger(&a, child::spawn("pooled-pong", &args)?, warmup, samples)?;
    drop(a);
    // This block's pool segments and regions are no one's any more: remove
    // them now rather than at the end of the run (the `every byte` rows make
    // every block of a pool resident).
    if let Some(ns) = horus::shm::Namespace::open_existing(&ctx.ns)? {
        horus::shm::clean_namespace(&ns, false)?;
    }
    Ok(s)
}

/// Child role `pooled-pong NS PING PONG KIND SUBS TOUCH`.
pub fn child_pong(args: &[String]) -> Res<()> {
    let ns: String = arg(args, 0)?;
    let (ping, pong): (String, String) = (arg(args, 1)?, arg(args, 2)?);
    let r = RowArgs {
        kind: arg(args, 3)?,
        subs: arg(args, 4)?,
        touch: arg(args, 5)?,
    };
    match r.kind {
        Kind::Image => ponger(Side::<ImageLayout>::new(&ns, &pong, &ping, r)?),
        Kind::Tensor => ponger(Side::<TensorLayout>::new(&ns, &pong, &ping, r)?),
    }
}

/// Both sides of a 1:1 large row in the calling thread: what the sending
/// and receiving code costs with no cross-core transfer.
fn same_thread<L: Large>(ctx: &Ctx, r: RowArgs, warmup: usize, samples: usize) -> Res<Samples> {
    let (ping, pong) = ctx.pair();
    let a = Side::<L>::new(&ctx.ns, &ping, &pong, r)?;
    let b = Side::<L>::new(&ctx.ns, &pong, &ping, r)?;
    stats::record(warmup, samples, |i| -> Res<()> {
        a.send(i)?;
        wait_all(&b, i)?;
        b.send(i)?;
        wait_all(&a, i)?;
        Ok(())
    })
}

/// The large rows, in report order.
pub const ROWS: [RowArgs; 6] = [
    RowArgs {
        kind: Kind::Image,
        subs: 1,
        touch: Touch::Stamp,
    },
    RowArgs {
        kind: Kind::Image,
        subs: 4,
        touch: Touch::Stamp,
    },
    RowArgs {
        kind: Kind::Tensor,
        subs: 1,
        touch: Touch::Stamp,
    },
    RowArgs {
        kind: Kind::Tensor,
        subs: 4,
        touch: Touch::Stamp,
    },
    RowArgs {
        kind: Kind::Image,
        subs: 1,
        touch: Touch::Every,
    },
    RowArgs {
        kind: Kind::Image,
        subs: 1,
        touch: Touch::New,
    },
];

/// The topologies of the POD rows measured beside the large ones.
pub const POD_SUBS: [usize; 2] = [1, 4];

/// The physical limits measured beside them (processes, cores A and B):
/// the one-word ping-pong and the held block, its hold on the block's
/// control line or in the slot's ([`crate::raw_held`]).
pub const LIMITS: [crate::raw::Kind; 3] = [
    crate::raw::Kind::Word,
    crate::raw::Kind::HeldBlock,
    crate::raw::Kind::HeldInSlot,
];

/// Measures the section: the same HORUS operations with both sides in one
/// thread (image, tensor, POD; 1:1), then the [`LIMITS`], the POD rows of
/// [`POD_SUBS`] and HORUS and iceoryx2 for each of [`ROWS`], interleaved.
pub fn section(cfg: &Config, ctx: &Ctx) -> Res<Section> {
    let (w, n) = (cfg.sweep_warmup, cfg.sweep_samples);
    let mut blocks: Vec<Block> = Vec::new();
    for kind in LIMITS {
        blocks.push(Box::new(move |w, n| crate::raw::processes(kind, w, n)));
    }
    for subs in POD_SUBS {
        blocks.push(Box::new(move |w, n| {
            let g = Geom::for_topo(1, subs);
            crate::horus_rows::ping_pong::<Bench64>(ctx, Mode::Processes, 1, subs, g, w, n)
        }));
    }
    for r in ROWS {
        blocks.push(Box::new(move |w, n| ping_pong(ctx, r, w, n)));
        blocks.push(Box::new(move |w, n| {
            crate::iceoryx_slice::ping_pong(r, w, n)
        }));
    }
    let mut same: Vec<(String, Summary)> = Vec::new();
    let (sw, sn) = (cfg.warmup, cfg.samples);
    for kind in [Kind::Image, Kind::Tensor] {
        let r = RowArgs {
            kind,
            subs: 1,
            touch: Touch::Stamp,
        };
        let s = match kind {
            Kind::Image => same_thread::<ImageLayout>(ctx, r, sw, sn)?,
            Kind::Tensor => same_thread::<TensorLayout>(ctx, r, sw, sn)?,
        };
        same.push((kind.label().to_owned(), s.one_way()));
    }
    let g = Geom::for_topo(1, 1);
    let s = crate::horus_rows::ping_pong::<Bench64>(ctx, Mode::SameThread, 1, 1, g, sw, sn)?;
    same.push(("POD 64 B".to_owned(), s.one_way()));
    for (what, s) in &same {
        crate::progress(&format!("same thread {what}"), s);
    }
    let mut sums = crate::interleave(cfg, w, n, &mut blocks)?.into_iter();
    let mut next = || {
        sums.next()
            .ok_or("a block of the large-message section is missing")
    };
    let mut limits: Vec<(crate::raw::Kind, Summary)> = Vec::new();
    for kind in LIMITS {
        let s = next()?;
        crate::progress(
            &format!("limit: {}, processes (beside large)", kind.label()),
            &s,
        );
        limits.push((kind, s));
    }
    let mut pod: Vec<(usize, Summary)> = Vec::new();
    for subs in POD_SUBS {
        let s = next()?;
        crate::progress(&format!("POD 64 B 1:{subs} (beside large)"), &s);
        pod.push((subs, s));
    }
    let mut rows = Vec::new();
    for r in ROWS {
        let (horus, iox) = (next()?, next()?);
        let row = LargeRow {
            args: r,
            horus,
            iox,
        };
        crate::progress(&row.name(), &row.horus);
        crate::progress(&format!("iceoryx2 {}", row.name()), &row.iox);
        rows.push(row);
    }
    Ok(Section {
        limits,
        pod,
        rows,
        same_thread: same,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_as_named() {
        assert_eq!(Kind::Image.bytes(), 921_600);
        assert_eq!(Kind::Tensor.bytes(), 4 << 20);
        let img = ImageLayout::try_new(IMAGE_WIDTH, IMAGE_HEIGHT, Encoding::Rgb8).unwrap();
        assert_eq!(img.bytes(), Kind::Image.bytes());
        let t = TensorLayout::contiguous(DType::F32, &TENSOR_SHAPE).unwrap();
        assert_eq!(t.bytes(), Kind::Tensor.bytes());
    }

    #[test]
    fn kind_and_touch_round_trip_through_child_arguments() {
        for k in [Kind::Image, Kind::Tensor] {
            assert_eq!(k.to_string().parse::<Kind>(), Ok(k));
        }
        for t in [Touch::Stamp, Touch::Every, Touch::New] {
            assert_eq!(t.to_string().parse::<Touch>(), Ok(t));
        }
        assert!(
            "video"
                .parse::<Kind>()
                .unwrap_err()
                .contains("image or tensor")
        );
        assert!(
            "some"
                .parse::<Touch>()
                .unwrap_err()
                .contains("stamp, every or new")
        );
    }

    #[test]
    fn stamp_only_writes_eight_bytes() {
        let mut buf = vec![7u8; 64];
        write_message(&mut buf, 0x0102_0304_0506_0708, Touch::Stamp);
        assert_eq!(read_message(&buf, Touch::Stamp), Ok(0x0102_0304_0506_0708));
        assert!(
            buf[STAMP_BYTES..].iter().all(|&b| b == 7),
            "stamp row wrote past the stamp"
        );
        assert!(
            read_message(&buf[..4], Touch::Stamp)
                .unwrap_err()
                .contains("no stamp")
        );
    }

    #[test]
    fn every_byte_is_written_and_checked() {
        let mut buf = vec![0u8; 1000];
        write_message(&mut buf, 0x1_23, Touch::Every);
        assert!(buf[STAMP_BYTES..].iter().all(|&b| b == 0x23));
        assert_eq!(read_message(&buf, Touch::Every), Ok(0x1_23));
        buf[999] = 0;
        let e = read_message(&buf, Touch::Every).unwrap_err();
        assert!(e.contains("byte 999 is 0, not 35"), "{e}");
        // The stamp row does not look past the stamp.
        assert_eq!(read_message(&buf, Touch::Stamp), Ok(0x1_23));
    }
}
