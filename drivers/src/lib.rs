//! Sensor drivers for HORUS robots, generic over [`embedded-hal` 1.0].
//!
//! Each driver takes any bus implementing the embedded-hal trait (a Linux
//! `/dev/i2c-*` adapter, a microcontroller's I²C peripheral, or a mock in
//! tests), talks to one part through its register map, and returns readings
//! in SI units. Drivers are `no_std`, allocation-free and never panic: every
//! bus failure is a typed error that carries the bus's own error.
//!
//! | driver | part | readings |
//! |---|---|---|
//! | [`mpu6050::Mpu6050`] | InvenSense MPU-6050 (I²C 0x68/0x69) | acceleration m/s², angular velocity rad/s, temperature °C |
//!
//! With the `std` feature (on by default), the `node` module wraps each driver as a
//! [`horus::Node`] that publishes a standard message (`horus::msgs::Imu`)
//! and records bus errors in the namespace's blackbox instead of panicking.
//! Without it the crate builds for any target `embedded-hal` does:
//!
//! ```sh
//! cargo build -p horus-drivers --no-default-features --target thumbv7em-none-eabihf
//! ```
//!
//! [`embedded-hal` 1.0]: embedded_hal
//! [`horus::Node`]: https://docs.rs/horus-std/latest/horus/trait.Node.html
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod mpu6050;
#[cfg(feature = "std")]
pub mod node;

pub use mpu6050::Mpu6050;
