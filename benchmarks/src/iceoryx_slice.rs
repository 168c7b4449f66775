//! iceoryx2 beside the large HORUS rows ([`crate::pooled_rows`]): an
//! `ipc::Service` publish-subscribe of a `[u8]` slice of the same size as
//! the HORUS message, through its loan API: `loan_slice_uninit` + write the
//! stamp (or every byte) + `send`; `receive` + read the stamp (or check
//! every byte) + drop the sample. Beside HORUS's `Image::new` (a black
//! image), `loan_slice`, which zeroes the slice. Same ping-pong, same
//! settings as [`crate::iceoryx`] ([`crate::iceoryx::latency_settings`]).

use std::mem::MaybeUninit;

use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory;

use crate::Res;
use crate::child::{self, arg};
use crate::pooled_rows::{LargeSide, RowArgs, STAMP_BYTES, Touch, pinger, ponger, read_message};
use crate::stats::Samples;

/// Writes the stamp of message `seq` (as
/// [`write_message`](crate::pooled_rows::write_message) does) into the
/// first [`STAMP_BYTES`] of a loaned, not yet initialised slice.
fn write_stamp(dst: &mut [MaybeUninit<u8>], seq: u64) {
    for (d, b) in dst[..STAMP_BYTES].iter_mut().zip(seq.to_le_bytes()) {
        d.write(b);
    }
}

struct Side {
    _node: Node<ipc::Service>,
    out: Publisher<ipc::Service, [u8], ()>,
    inp: Vec<Subscriber<ipc::Service, [u8], ()>>,
    bytes: usize,
    touch: Touch,
}

fn service(
    node: &Node<ipc::Service>,
    name: &str,
    subs: usize,
) -> Res<PortFactory<ipc::Service, [u8], ()>> {
    let b = node
        .service_builder(&name.try_into()?)
        .publish_subscribe::<[u8]>();
    Ok(crate::iceoryx::latency_settings(b, 1, subs).open_or_create()?)
}

impl Side {
    fn new(out_name: &str, in_name: &str, r: RowArgs) -> Res<Self> {
        set_log_level(LogLevel::Error);
        let bytes = r.kind.bytes();
        let node = NodeBuilder::new().create::<ipc::Service>()?;
        let inp_svc = service(&node, in_name, r.subs)?;
        let out_svc = service(&node, out_name, r.subs)?;
        let inp = (0..r.subs)
            .map(|_| inp_svc.subscriber_builder().create())
            .collect::<Result<Vec<_>, _>>()?;
        let out = out_svc
            .publisher_builder()
            .initial_max_slice_len(bytes)
            .create()?;
        out.update_connections()?;
        Ok(Self {
            _node: node,
            out,
            inp,
            bytes,
            touch: r.touch,
        })
    }

    /// Loan + write + send.
    #[inline]
    fn send(&self, seq: u64) -> Res<()> {
        if self.touch == Touch::New {
            // The counterpart of `Image::new`'s black image: `loan_slice`
            // sets every element to its `Default`, 0.
            let mut sample = self.out.loan_slice(self.bytes)?;
            sample.payload_mut()[..STAMP_BYTES].copy_from_slice(&seq.to_le_bytes());
            sample.send()?;
            return Ok(());
        }
        let mut sample = self.out.loan_slice_uninit(self.bytes)?;
        let payload = sample.payload_mut();
        if self.touch == Touch::Every {
            for b in &mut payload[STAMP_BYTES..] {
                b.write(seq as u8);
            }
        }
        write_stamp(payload, seq);
        // SAFETY: the slice is `self.bytes` bytes of iceoryx2's data segment,
        // a shared-memory file mapped with mmap. With `Touch::Every` every
        // byte was just written. With `Touch::Stamp` the first STAMP_BYTES
        // were; the others hold what the kernel (which hands out a new
        // file's pages zero-filled) or an earlier sample written through a
        // `&mut [u8]` left there: they never came from a Rust allocation the
        // compiler could see as uninitialised, and `u8` has no invalid
        // values. (HORUS's loan, measured beside this, does not clear its
        // block either.)
        let sample = unsafe { sample.assume_init() };
        sample.send()?;
        Ok(())
    }
}

impl LargeSide for Side {
    fn send(&self, seq: u64) -> Res<()> {
        Side::send(self, seq)
    }

    #[inline]
    fn try_take(&self, k: usize) -> Res<Option<u64>> {
        match self.inp[k].receive()? {
            None => Ok(None),
            Some(sample) => Ok(Some(read_message(sample.payload(), self.touch)?)),
        }
    }

    fn subscribers(&self) -> usize {
        self.inp.len()
    }

    fn connect(&self) -> Res<()> {
        Ok(self.out.update_connections()?)
    }
}

/// One block of a large row, A here, B a child process.
pub fn ping_pong(r: RowArgs, warmup: usize, samples: usize) -> Res<Samples> {
    let k = {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    };
    let tag = format!("hbench{}/large{k}", std::process::id());
    let (ping, pong) = (format!("{tag}/ping"), format!("{tag}/pong"));
    let a = Side::new(&ping, &pong, r)?;
    let args = [
        ping,
        pong,
        r.kind.to_string(),
        r.subs.to_string(),
        r.touch.to_string(),
    ];
    pinger(&a, child::spawn("iox-slice-pong", &args)?, warmup, samples)
}

/// Child role `iox-slice-pong PING PONG KIND SUBS TOUCH`.
pub fn child_pong(args: &[String]) -> Res<()> {
    let (ping, pong): (String, String) = (arg(args, 0)?, arg(args, 1)?);
    let r = RowArgs {
        kind: arg(args, 2)?,
        subs: arg(args, 3)?,
        touch: arg(args, 4)?,
    };
    ponger(Side::new(&pong, &ping, r)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pooled_rows::write_message;

    #[test]
    fn stamp_written_uninit_reads_back_as_write_message_writes_it() {
        let mut via_uninit = [MaybeUninit::<u8>::uninit(); 16];
        write_stamp(&mut via_uninit, 0xDEAD_BEEF_0042);
        let mut expected = [0u8; 16];
        write_message(&mut expected, 0xDEAD_BEEF_0042, Touch::Stamp);
        // SAFETY: the first STAMP_BYTES elements were written by `write_stamp`.
        let head: Vec<u8> = via_uninit[..STAMP_BYTES]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        assert_eq!(head, expected[..STAMP_BYTES]);
        assert_eq!(read_message(&head, Touch::Stamp), Ok(0xDEAD_BEEF_0042));
    }
}
