//! The same-thread hop loop of the large messages (`HORUS_BENCH_ONLY=pooled-hop`):
//! both sides in the calling thread, timed as a whole, for `perf`.

use std::hint::spin_loop;

use horus::Topic;
use horus::image::ImageLayout;
use horus::tensor::TensorLayout;

use super::{Kind, Large, LargeSide, RowArgs, Side, Touch, wait_all};
use crate::Res;
use crate::horus_rows::{Ctx, Geom};
use crate::msgs::Bench64;

/// Kinds of the same-thread hop loop ([`hop_loop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopKind {
    Large(Kind),
    /// The same with four subscribing handles on each side (all in the
    /// calling thread): what each further view costs.
    FanOut(Kind),
    /// The image made with `Image::try_new` (not loaned) each hop.
    ImageNew,
    /// The image hop made with the core alone (see `core_hop.rs`): the
    /// floor of our own code for the image hop.
    Core,
    /// The 64-byte POD message, for comparison.
    Pod,
    /// The serialized message of the serialized rows (`String` +
    /// `Vec<f32>`), made for each send and received as a new message.
    Serialized,
}

impl HopKind {
    pub const ALL: [HopKind; 8] = [
        Self::Large(Kind::Image),
        Self::FanOut(Kind::Image),
        Self::ImageNew,
        Self::Core,
        Self::Large(Kind::Tensor),
        Self::FanOut(Kind::Tensor),
        Self::Pod,
        Self::Serialized,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Large(k) => k.label(),
            Self::FanOut(Kind::Image) => "image 640x480 rgb8 1:4",
            Self::FanOut(Kind::Tensor) => "tensor 1024x1024 f32 1:4",
            Self::ImageNew => "image 640x480 rgb8 Image::new",
            Self::Core => "core: image 640x480 rgb8 over horus-nostd alone",
            Self::Pod => "POD 64 B",
            Self::Serialized => "serialized (String + Vec<f32>)",
        }
    }
}

/// `hops` one-way hops (`hops / 2` round trips) with both sides in the
/// calling thread, timed as a whole: the mean CPU cost of one hop (loan +
/// stamp + `try_send` + `try_recv` + read + drop for a large message;
/// `send` + `recv` for the POD one), with no per-sample clock reads. For
/// `perf record` / `perf stat` (`HORUS_BENCH_ONLY=pooled-hop`).
pub fn hop_loop(ctx: &Ctx, kind: HopKind, hops: u64) -> Res<f64> {
    let round_trips = (hops / 2).max(1);
    let g = Geom::for_topo(1, 1);
    let (ping, pong) = ctx.pair();
    let timed = |mut one: Box<dyn FnMut(u64) -> Res<()> + '_>| -> Res<f64> {
        for i in 1..=round_trips.min(10_000) {
            one(i)?; // warm-up: segments made, pages touched
        }
        let t = std::time::Instant::now();
        for i in 1..=round_trips {
            one(i)?;
        }
        Ok(t.elapsed().as_nanos() as f64 / (2 * round_trips) as f64)
    };
    match kind {
        HopKind::Large(_) | HopKind::FanOut(_) | HopKind::ImageNew => {
            let (k, subs, touch) = match kind {
                HopKind::Large(k) => (k, 1, Touch::Stamp),
                HopKind::FanOut(k) => (k, 4, Touch::Stamp),
                _ => (Kind::Image, 1, Touch::New),
            };
            let r = RowArgs {
                kind: k,
                subs,
                touch,
            };
            fn sides<L: Large>(
                ns: &str,
                ping: &str,
                pong: &str,
                r: RowArgs,
            ) -> Res<(Side<L>, Side<L>)> {
                Ok((
                    Side::<L>::new(ns, ping, pong, r)?,
                    Side::<L>::new(ns, pong, ping, r)?,
                ))
            }
            fn round<L: Large>(a: &Side<L>, b: &Side<L>, i: u64) -> Res<()> {
                a.send(i)?;
                wait_all(b, i)?;
                b.send(i)?;
                wait_all(a, i)?;
                Ok(())
            }
            match k {
                Kind::Image => {
                    let (a, b) = sides::<ImageLayout>(&ctx.ns, &ping, &pong, r)?;
                    // `Image::new` in one thread for two topics: the process
                    // pool predicts each image's topic from the order of the
                    // sends, so only the first round may copy; more would
                    // measure a copy, not the hop.
                    let copies = horus::process_pool::stats().copied_sends;
                    let ns = timed(Box::new(|i| round(&a, &b, i)))?;
                    let copies = horus::process_pool::stats().copied_sends - copies;
                    if copies > 1 {
                        return Err(format!("{copies} of the hop loop's images were copied").into());
                    }
                    Ok(ns)
                }
                Kind::Tensor => {
                    let (a, b) = sides::<TensorLayout>(&ctx.ns, &ping, &pong, r)?;
                    timed(Box::new(|i| round(&a, &b, i)))
                }
            }
        }
        HopKind::Core => super::core_hop::with_core_round(timed),
        HopKind::Pod => {
            let open = |name: &str| -> Res<Topic<Bench64>> {
                Ok(Topic::<Bench64>::builder(name)
                    .namespace(&ctx.ns)
                    .capacity(g.capacity)
                    .max_participants(g.participants)
                    .build()?)
            };
            let (a_out, b_in) = (open(&ping)?, open(&ping)?);
            let (b_out, a_in) = (open(&pong)?, open(&pong)?);
            let hop = |out: &Topic<Bench64>, inp: &Topic<Bench64>, i: u64| -> Res<()> {
                out.send(<Bench64 as crate::msgs::BenchMsg>::with_seq(i));
                let got = spin_recv(|| inp.recv().map(|m| crate::msgs::BenchMsg::seq(&m)));
                in_step(got, i)
            };
            timed(Box::new(|i| {
                hop(&a_out, &b_in, i)?;
                hop(&b_out, &a_in, i)
            }))
        }
        HopKind::Serialized => {
            use crate::msgs::BenchSerialized;
            let open = |name: &str| -> Res<Topic<BenchSerialized>> {
                Ok(Topic::<BenchSerialized>::builder(name)
                    .namespace(&ctx.ns)
                    .capacity(g.capacity)
                    .max_participants(g.participants)
                    .build()?)
            };
            let (a_out, b_in) = (open(&ping)?, open(&ping)?);
            let (b_out, a_in) = (open(&pong)?, open(&pong)?);
            let hop =
                |out: &Topic<BenchSerialized>, inp: &Topic<BenchSerialized>, i: u64| -> Res<()> {
                    out.send(BenchSerialized::with_seq(i));
                    in_step(spin_recv(|| inp.recv().map(|m| m.seq)), i)
                };
            timed(Box::new(|i| {
                hop(&a_out, &b_in, i)?;
                hop(&b_out, &a_in, i)
            }))
        }
    }
}

/// Spins on `recv` until it gives something.
#[inline]
fn spin_recv(mut recv: impl FnMut() -> Option<u64>) -> u64 {
    loop {
        if let Some(seq) = recv() {
            return seq;
        }
        spin_loop();
    }
}

/// An error unless the hop loop received round trip `want`'s message.
fn in_step(got: u64, want: u64) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("hop loop out of step: {got} instead of {want}").into())
    }
}
