//! InvenSense MPU-6050: 3-axis accelerometer and 3-axis gyroscope on I²C.
//!
//! Register map and scales from the *MPU-6000/MPU-6050 Register Map and
//! Descriptions*, revision 4.2. The driver uses these registers:
//!
//! | register | address | use |
//! |---|---|---|
//! | `WHO_AM_I` | 0x75 | identity check: reads 0x68 whatever the AD0 pin |
//! | `PWR_MGMT_1` | 0x6B | wake from sleep (the reset state), clock = PLL on gyro X |
//! | `GYRO_CONFIG` | 0x1B | gyroscope full scale, `FS_SEL` in bits 4:3 |
//! | `ACCEL_CONFIG` | 0x1C | accelerometer full scale, `AFS_SEL` in bits 4:3 |
//! | `ACCEL_XOUT_H` | 0x3B | first of 14 output bytes, read in one burst |
//!
//! The 14 bytes from 0x3B are big-endian `i16`s: accel X, Y, Z, temperature,
//! gyro X, Y, Z. One burst read means all seven come from the same sample
//! (the part latches its output registers during a burst).
//!
//! Bus traffic, exactly (`addr` = 0x68 or 0x69):
//!
//! - [`Mpu6050::init`]: `write_read(addr, [0x75], 1 byte)`, then
//!   `write(addr, [0x6B, 0x01])`, `write(addr, [0x1B, FS_SEL << 3])`,
//!   `write(addr, [0x1C, AFS_SEL << 3])`;
//! - [`Mpu6050::read`] / [`Mpu6050::read_raw`]: `write_read(addr, [0x3B], 14 bytes)`.
//!
//! ```
//! # use embedded_hal::i2c::{ErrorType, I2c, Operation, ErrorKind};
//! # struct Bus;
//! # impl ErrorType for Bus { type Error = ErrorKind; }
//! # impl I2c for Bus {
//! #     fn transaction(&mut self, _: u8, ops: &mut [Operation<'_>]) -> Result<(), ErrorKind> {
//! #         if let [Operation::Write([0x75]), Operation::Read(buf)] = ops { buf[0] = 0x68; }
//! #         Ok(())
//! #     }
//! # }
//! # let i2c = Bus;
//! use horus_drivers::mpu6050::{AccelRange, Address, Config, GyroRange, Mpu6050};
//!
//! let mut imu = Mpu6050::new(i2c, Address::Ad0Low);
//! imu.init(Config { accel: AccelRange::G4, gyro: GyroRange::Dps500 })?;
//! let r = imu.read()?;
//! println!("a = {:?} m/s², w = {:?} rad/s", r.acceleration, r.angular_velocity);
//! # Ok::<(), horus_drivers::mpu6050::Error<ErrorKind>>(())
//! ```

use core::fmt;

use embedded_hal::i2c::I2c;

/// Register addresses (see the module docs).
pub mod reg {
    /// Gyroscope configuration: `FS_SEL` in bits 4:3.
    pub const GYRO_CONFIG: u8 = 0x1B;
    /// Accelerometer configuration: `AFS_SEL` in bits 4:3.
    pub const ACCEL_CONFIG: u8 = 0x1C;
    /// First output register; 14 bytes follow in burst order.
    pub const ACCEL_XOUT_H: u8 = 0x3B;
    /// Power management 1: `DEVICE_RESET` bit 7, `SLEEP` bit 6, `CLKSEL` bits 2:0.
    pub const PWR_MGMT_1: u8 = 0x6B;
    /// Identity register.
    pub const WHO_AM_I: u8 = 0x75;
}

/// What `WHO_AM_I` reads on an MPU-6050 (either address).
pub const WHO_AM_I_VALUE: u8 = 0x68;

/// `PWR_MGMT_1` after init: `SLEEP` = 0, `CLKSEL` = 1 (PLL with the X gyro
/// as reference, which the datasheet recommends over the internal 8 MHz
/// oscillator for stability).
pub const PWR_MGMT_1_WAKE: u8 = 0x01;

/// Bytes of one burst read from `ACCEL_XOUT_H`.
pub const BURST_LEN: usize = 14;

/// Standard gravity, m/s² per g.
pub const STANDARD_GRAVITY: f32 = 9.806_65;

/// The part's 7-bit I²C address, set by its AD0 pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Address {
    /// AD0 tied low: 0x68 (most breakout boards).
    #[default]
    Ad0Low = 0x68,
    /// AD0 tied high: 0x69 (a second IMU on the same bus).
    Ad0High = 0x69,
}

impl Address {
    /// The 7-bit address.
    pub const fn bits(self) -> u8 {
        self as u8
    }
}

/// Accelerometer full scale (`AFS_SEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccelRange {
    /// ±2 g, 16384 LSB/g (reset value).
    #[default]
    G2,
    /// ±4 g, 8192 LSB/g.
    G4,
    /// ±8 g, 4096 LSB/g.
    G8,
    /// ±16 g, 2048 LSB/g.
    G16,
}

impl AccelRange {
    /// `AFS_SEL` (0..=3).
    pub const fn afs_sel(self) -> u8 {
        match self {
            Self::G2 => 0,
            Self::G4 => 1,
            Self::G8 => 2,
            Self::G16 => 3,
        }
    }

    /// The value written to `ACCEL_CONFIG` (self-test bits off, `AFS_SEL` in bits 4:3).
    pub const fn register_value(self) -> u8 {
        self.afs_sel() << 3
    }

    /// Sensitivity, LSB per g.
    pub const fn lsb_per_g(self) -> f32 {
        match self {
            Self::G2 => 16384.0,
            Self::G4 => 8192.0,
            Self::G8 => 4096.0,
            Self::G16 => 2048.0,
        }
    }

    /// Converts a raw sample to m/s².
    pub fn to_m_per_s2(self, raw: i16) -> f32 {
        f32::from(raw) / self.lsb_per_g() * STANDARD_GRAVITY
    }
}

/// Gyroscope full scale (`FS_SEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GyroRange {
    /// ±250 °/s, 131 LSB/(°/s) (reset value).
    #[default]
    Dps250,
    /// ±500 °/s, 65.5 LSB/(°/s).
    Dps500,
    /// ±1000 °/s, 32.8 LSB/(°/s).
    Dps1000,
    /// ±2000 °/s, 16.4 LSB/(°/s).
    Dps2000,
}

impl GyroRange {
    /// `FS_SEL` (0..=3).
    pub const fn fs_sel(self) -> u8 {
        match self {
            Self::Dps250 => 0,
            Self::Dps500 => 1,
            Self::Dps1000 => 2,
            Self::Dps2000 => 3,
        }
    }

    /// The value written to `GYRO_CONFIG` (self-test bits off, `FS_SEL` in bits 4:3).
    pub const fn register_value(self) -> u8 {
        self.fs_sel() << 3
    }

    /// Sensitivity, LSB per °/s.
    pub const fn lsb_per_dps(self) -> f32 {
        match self {
            Self::Dps250 => 131.0,
            Self::Dps500 => 65.5,
            Self::Dps1000 => 32.8,
            Self::Dps2000 => 16.4,
        }
    }

    /// Converts a raw sample to rad/s.
    pub fn to_rad_per_s(self, raw: i16) -> f32 {
        (f32::from(raw) / self.lsb_per_dps()).to_radians()
    }
}

/// Full-scale settings written by [`Mpu6050::init`]. The default is the
/// part's reset state (±2 g, ±250 °/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Config {
    /// Accelerometer full scale.
    pub accel: AccelRange,
    /// Gyroscope full scale.
    pub gyro: GyroRange,
}

/// One sample as the part reports it (two's complement counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawReading {
    /// Accelerometer X, Y, Z, LSB (scale: [`AccelRange::lsb_per_g`]).
    pub accel: [i16; 3],
    /// Die temperature, LSB (°C = raw / 340 + 36.53).
    pub temperature: i16,
    /// Gyroscope X, Y, Z, LSB (scale: [`GyroRange::lsb_per_dps`]).
    pub gyro: [i16; 3],
}

impl RawReading {
    /// Decodes the 14 bytes of a burst read from `ACCEL_XOUT_H`.
    pub fn from_burst(b: &[u8; BURST_LEN]) -> Self {
        let w = |i: usize| i16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
        Self {
            accel: [w(0), w(1), w(2)],
            temperature: w(3),
            gyro: [w(4), w(5), w(6)],
        }
    }

    /// Converts to SI units with the given full-scale settings.
    pub fn to_si(self, config: Config) -> Reading {
        Reading {
            acceleration: self.accel.map(|v| config.accel.to_m_per_s2(v)),
            angular_velocity: self.gyro.map(|v| config.gyro.to_rad_per_s(v)),
            temperature: f32::from(self.temperature) / 340.0 + 36.53,
        }
    }
}

/// One sample in SI units, in the part's own axes (see the package marking).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Specific force X, Y, Z, m/s² (at rest, +9.81 on the axis pointing up).
    pub acceleration: [f32; 3],
    /// Angular velocity X, Y, Z, rad/s (right-handed).
    pub angular_velocity: [f32; 3],
    /// Die temperature, °C (not ambient: the die runs a few degrees warmer).
    pub temperature: f32,
}

/// Why a driver call failed. `Debug` prints the `Display` sentence, which is
/// what a program's `main` returning this error shows.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The bus reported an error (no acknowledge, arbitration loss, ...):
    /// the bus's own error, unchanged.
    Bus(E),
    /// `WHO_AM_I` (0x75) did not read 0x68: another part answers at the address.
    WrongDevice {
        /// What `WHO_AM_I` read.
        found: u8,
    },
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Self::Bus(e)
    }
}

impl<E: embedded_hal::i2c::Error> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bus(e) => write!(f, "I2C bus error: {}", e.kind()),
            Self::WrongDevice { found } => write!(
                f,
                "not an MPU-6050: WHO_AM_I (0x75) reads {found:#04x}, expected {WHO_AM_I_VALUE:#04x} \
                 (check the part number and the AD0 address pin)"
            ),
        }
    }
}

impl<E: embedded_hal::i2c::Error> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<E: embedded_hal::i2c::Error> core::error::Error for Error<E> {}

/// An MPU-6050 on an I²C bus. See the [module docs](self) for the exact
/// bus traffic of each call.
#[derive(Debug)]
pub struct Mpu6050<I2C> {
    i2c: I2C,
    address: Address,
    config: Config,
}

impl<I2C: I2c> Mpu6050<I2C> {
    /// A driver for the part at `address`. Touches no register: call
    /// [`init`](Self::init) to check the part and wake it.
    pub fn new(i2c: I2C, address: Address) -> Self {
        Self {
            i2c,
            address,
            config: Config::default(),
        }
    }

    /// Checks `WHO_AM_I`, wakes the part from sleep and sets the full
    /// scales. Safe to call again (after a bus error or a brown-out of the
    /// sensor): it writes the whole configuration each time.
    ///
    /// On error the part may be left asleep or half-configured; the scales
    /// used to convert readings change only when every write succeeded.
    pub fn init(&mut self, config: Config) -> Result<(), Error<I2C::Error>> {
        let found = self.read_register(reg::WHO_AM_I)?;
        if found != WHO_AM_I_VALUE {
            return Err(Error::WrongDevice { found });
        }
        self.write_register(reg::PWR_MGMT_1, PWR_MGMT_1_WAKE)?;
        self.write_register(reg::GYRO_CONFIG, config.gyro.register_value())?;
        self.write_register(reg::ACCEL_CONFIG, config.accel.register_value())?;
        self.config = config;
        Ok(())
    }

    /// Reads one sample (one 14-byte burst) as raw counts.
    pub fn read_raw(&mut self) -> Result<RawReading, Error<I2C::Error>> {
        let mut buf = [0u8; BURST_LEN];
        self.i2c
            .write_read(self.address.bits(), &[reg::ACCEL_XOUT_H], &mut buf)?;
        Ok(RawReading::from_burst(&buf))
    }

    /// Reads one sample in SI units, converted with the scales of the last
    /// successful [`init`](Self::init) (the reset scales before any).
    pub fn read(&mut self) -> Result<Reading, Error<I2C::Error>> {
        Ok(self.read_raw()?.to_si(self.config))
    }

    /// The full-scale settings readings are converted with.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The part's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    fn read_register(&mut self, register: u8) -> Result<u8, Error<I2C::Error>> {
        let mut value = [0u8];
        self.i2c
            .write_read(self.address.bits(), &[register], &mut value)?;
        Ok(value[0])
    }

    fn write_register(&mut self, register: u8, value: u8) -> Result<(), Error<I2C::Error>> {
        self.i2c.write(self.address.bits(), &[register, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_bytes_are_big_endian_in_register_order() {
        let b = [
            0x40, 0x00, 0xC0, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x83, 0xFF, 0x7D, 0x80, 0x00,
        ];
        let r = RawReading::from_burst(&b);
        assert_eq!(r.accel, [16384, -16384, 1]);
        assert_eq!(r.temperature, -1);
        assert_eq!(r.gyro, [131, -131, i16::MIN]);
    }

    #[test]
    fn register_values_put_the_scale_in_bits_4_3() {
        assert_eq!(AccelRange::G2.register_value(), 0x00);
        assert_eq!(AccelRange::G16.register_value(), 0x18);
        assert_eq!(GyroRange::Dps500.register_value(), 0x08);
        assert_eq!(GyroRange::Dps2000.register_value(), 0x18);
    }

    #[test]
    fn full_scale_raw_is_the_nominal_range() {
        let g = |r: AccelRange| r.to_m_per_s2(i16::MAX) / STANDARD_GRAVITY;
        assert!((g(AccelRange::G2) - 2.0).abs() < 1e-3);
        assert!((g(AccelRange::G16) - 16.0).abs() < 1e-2);
        let dps = |r: GyroRange| r.to_rad_per_s(i16::MAX).to_degrees();
        assert!((dps(GyroRange::Dps250) - 250.0).abs() < 0.2);
        assert!((dps(GyroRange::Dps2000) - 2000.0).abs() < 2.5);
    }
}
