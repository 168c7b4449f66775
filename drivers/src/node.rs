//! The drivers as HORUS nodes (feature `std`).
//!
//! [`ImuNode`] owns an [`Mpu6050`] and, on every tick, reads one sample and
//! publishes it as a [`horus::msgs::Imu`]. A bus error never panics and
//! never stops the scheduler:
//!
//! - the tick publishes nothing, counts the error ([`ImuNodeStats`]) and
//!   keeps it ([`ImuNode::last_error`]);
//! - every failed tick is reported with [`horus::node::report_error`]: the
//!   scheduler records it as a node error (`NodeError` in the blackbox, at
//!   most one record a second while the counts stay exact; state `Error` in
//!   `horus node list`) and keeps ticking the node; the first good tick after
//!   a run of errors records an [`AnomalyKind::Note`] saying how many ticks
//!   failed;
//! - the next tick runs [`Mpu6050::init`] again before reading, so a sensor
//!   that was unplugged or browned out (and so woke up asleep, with reset
//!   scales) is configured again as soon as it answers.
//!
//! State of the node, and the tick that moves it:
//!
//! ```text
//!            init ok                     read error
//!  NeedsInit ───────> Ready ─(read ok)─> ... ───────> NeedsInit (reported)
//!      ^  │                                              │
//!      │  └── init error (reported) ─ ──────────────┘
//!      └─────────────────────────────────────────────────┘
//! ```

use std::string::{String, ToString};

use embedded_hal::i2c::I2c;
use horus::msgs::Imu;
use horus::system::blackbox::{AnomalyKind, Blackbox};
use horus::{Node, Topic};

use crate::mpu6050::{Config, Error, Mpu6050};

/// Name of an [`ImuNode`] unless set with [`ImuNode::named`].
pub const DEFAULT_NODE_NAME: &str = "imu";

/// What an [`ImuNode`] has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImuNodeStats {
    /// Ticks run.
    pub ticks: u64,
    /// Samples published.
    pub published: u64,
    /// Ticks that failed (bus error or wrong device, in init or read).
    pub errors: u64,
    /// Failed ticks since the last good one (0 when healthy).
    pub consecutive_errors: u64,
}

/// An MPU-6050 as a node publishing [`Imu`] (see the [module docs](self)).
///
/// ```no_run
/// # fn demo<I2C: embedded_hal::i2c::I2c + Send + 'static>(i2c: I2C) -> horus::Result<()> {
/// use horus_drivers::mpu6050::{Address, Mpu6050};
/// use horus_drivers::node::ImuNode;
///
/// // `i2c`: e.g. linux-embedded-hal's `I2cdev::new("/dev/i2c-1")`.
/// let node = ImuNode::new(Mpu6050::new(i2c, Address::Ad0Low), "imu")?;
/// // Scheduler::new().add(node)...; each tick publishes one `Imu` on "imu".
/// # let _ = node; Ok(()) }
/// ```
#[derive(Debug)]
pub struct ImuNode<I2C: I2c> {
    name: String,
    sensor: Mpu6050<I2C>,
    config: Config,
    topic: Topic<Imu>,
    blackbox: Option<Blackbox>,
    ready: bool,
    stats: ImuNodeStats,
    last_error: Option<Error<I2C::Error>>,
}

impl<I2C: I2c> ImuNode<I2C> {
    /// A node publishing on `topic` of the current namespace
    /// (`HORUS_NAMESPACE`) and recording errors in its blackbox.
    pub fn new(sensor: Mpu6050<I2C>, topic: &str) -> horus::Result<Self> {
        Ok(Self::with_handles(
            sensor,
            Topic::new(topic)?,
            Some(Blackbox::open(None)?),
        ))
    }

    /// A node publishing on `topic` and recording errors in `blackbox`
    /// (`None`: errors are only counted), for any namespace.
    pub fn with_handles(
        sensor: Mpu6050<I2C>,
        topic: Topic<Imu>,
        blackbox: Option<Blackbox>,
    ) -> Self {
        Self {
            name: DEFAULT_NODE_NAME.to_string(),
            sensor,
            config: Config::default(),
            topic,
            blackbox,
            ready: false,
            stats: ImuNodeStats::default(),
            last_error: None,
        }
    }

    /// Sets the node's name (the scheduler's and the blackbox's).
    #[must_use]
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Sets the full scales the first tick configures (default: ±2 g, ±250 °/s).
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> ImuNodeStats {
        self.stats
    }

    /// The error of the last failed tick, if any tick failed.
    pub fn last_error(&self) -> Option<&Error<I2C::Error>> {
        self.last_error.as_ref()
    }

    /// The topic the node publishes on.
    pub fn topic(&self) -> &Topic<Imu> {
        &self.topic
    }

    /// Gives the driver back (and with it the bus).
    pub fn into_sensor(self) -> Mpu6050<I2C> {
        self.sensor
    }

    /// One step: configure the part if needed, read a sample, publish it.
    fn step(&mut self) -> Result<(), (&'static str, Error<I2C::Error>)> {
        if !self.ready {
            self.sensor.init(self.config).map_err(|e| ("init", e))?;
            self.ready = true;
        }
        let sample = self.sensor.read().map_err(|e| {
            // The part may have reset: configure it again before the next read.
            self.ready = false;
            ("read", e)
        })?;
        self.topic.send(Imu {
            orientation: [0.0; 4],
            angular_velocity: sample.angular_velocity.map(f64::from),
            linear_acceleration: sample.acceleration.map(f64::from),
            timestamp_ns: horus::now_ns(),
        });
        Ok(())
    }

    fn record(&self, kind: AnomalyKind, detail: &str, value: u64) {
        if let Some(bb) = &self.blackbox {
            bb.record(kind, &self.name, detail, value);
        }
    }
}

impl<I2C: I2c> Node for ImuNode<I2C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn tick(&mut self) {
        self.stats.ticks += 1;
        match self.step() {
            Ok(()) => {
                self.stats.published += 1;
                if self.stats.consecutive_errors > 0 {
                    let detail = std::format!(
                        "MPU-6050 answers again after {} failed ticks",
                        self.stats.consecutive_errors
                    );
                    self.record(AnomalyKind::Note, &detail, self.stats.consecutive_errors);
                    self.stats.consecutive_errors = 0;
                }
            }
            Err((during, e)) => {
                self.stats.errors += 1;
                self.stats.consecutive_errors += 1;
                // The scheduler records it (NodeError in the blackbox, state
                // Error in `horus node list`) and keeps ticking the node.
                horus::node::report_error(std::format!("{during}: {e}"));
                self.last_error = Some(e);
            }
        }
    }
}
