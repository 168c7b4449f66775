//! The seed's camera of the mixed-language pattern ("Rust for control
//! loops, Python for ML inference"): a 30 FPS 640x480 rgb8 `Image`
//! publisher on `camera.rgb`. Each frame shows a bright green 64x64 square
//! moving across a dark background (`detector.py` finds it) and carries its
//! frame number in its first 8 bytes (little endian).
//!
//! The frame is a block of the topic's pool (`loan`): filled in place and
//! published without a copy; a Python subscriber's `img.to_numpy()` is an
//! array over that same block.
//!
//!     horus run examples/camera.rs examples/detector.py

use horus::prelude::*;

/// Frame size (the seed's).
const WIDTH: u32 = 640;
/// Frame size (the seed's).
const HEIGHT: u32 = 480;
/// The square's side, in pixels.
const SQUARE: usize = 64;

/// Top-left corner of frame `seq`'s square (never on row 0, which holds the
/// frame number). `detector.py` states the same formula.
fn square_at(seq: u64) -> (usize, usize) {
    let x = (seq as usize * 8) % (WIDTH as usize - SQUARE);
    let y = 8 + (seq as usize * 4) % (HEIGHT as usize - SQUARE - 16);
    (x, y)
}

struct CameraNode {
    pub_img: Topic<Image>,
    seq: u64,
}

impl CameraNode {
    fn new() -> Result<Self> {
        Ok(Self {
            pub_img: Topic::new("camera.rgb")?,
            seq: 0,
        })
    }

    /// Draws frame `seq` into `px` (rows of `WIDTH * 3` bytes).
    fn draw(px: &mut [u8], seq: u64) {
        px.fill(16);
        let (x0, y0) = square_at(seq);
        let row = WIDTH as usize * 3;
        for y in y0..y0 + SQUARE {
            for x in x0..x0 + SQUARE {
                px[y * row + x * 3 + 1] = 255;
            }
        }
        px[..8].copy_from_slice(&seq.to_le_bytes());
    }
}

impl Node for CameraNode {
    fn name(&self) -> &str {
        "camera"
    }

    fn tick(&mut self) {
        // ... capture from hardware: here, drawn straight into a pool block.
        match self.pub_img.loan(WIDTH, HEIGHT, Encoding::Rgb8) {
            Ok(mut img) => {
                Self::draw(img.data_mut(), self.seq);
                self.pub_img.send(img);
                if self.seq % 30 == 0 {
                    println!("camera: frame {} published", self.seq);
                }
                self.seq += 1;
            }
            // Every block held by slow readers: skip this frame (never block).
            Err(e) => log::warn!("{e}"),
        }
    }
}

fn main() -> Result<()> {
    let mut sched = Scheduler::new().tick_rate(30_u64.hz());
    sched.add(CameraNode::new()?).order(0).build()?;
    sched.run()?;
    Ok(())
}
