//! The MPU-6050 driver against a mock bus: the exact I²C transactions of
//! init and of one read, the SI conversion, and every error path.

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
use horus_drivers::mpu6050::{
    AccelRange, Address, Config, Error, GyroRange, Mpu6050, STANDARD_GRAVITY,
};

const ADDR: u8 = 0x68;
const NACK: ErrorKind = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);

const CONFIG: Config = Config {
    accel: AccelRange::G4,
    gyro: GyroRange::Dps500,
};

/// Init of `CONFIG` at `addr`, register by register.
fn init_transactions(addr: u8) -> Vec<Transaction> {
    vec![
        // WHO_AM_I
        Transaction::write_read(addr, vec![0x75], vec![0x68]),
        // PWR_MGMT_1: SLEEP off, CLKSEL = PLL on gyro X
        Transaction::write(addr, vec![0x6B, 0x01]),
        // GYRO_CONFIG: FS_SEL = 1 (±500 °/s)
        Transaction::write(addr, vec![0x1B, 0x08]),
        // ACCEL_CONFIG: AFS_SEL = 1 (±4 g)
        Transaction::write(addr, vec![0x1C, 0x08]),
    ]
}

/// A burst of 14 bytes from ACCEL_XOUT_H: accel X, Y, Z, temp, gyro X, Y, Z.
fn burst(words: [i16; 7]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * b.abs().max(1.0)
}

#[test]
fn init_and_one_read_are_exactly_these_transactions() {
    let mut expected = init_transactions(ADDR);
    expected.push(Transaction::write_read(
        ADDR,
        vec![0x3B],
        burst([8192, -4096, 0, -521, 655, -32768, 1]),
    ));
    let mut bus = Mock::new(&expected);
    let mut imu = Mpu6050::new(bus.clone(), Address::Ad0Low);
    imu.init(CONFIG).unwrap();
    assert_eq!(imu.config(), CONFIG);
    let r = imu.read().unwrap();
    bus.done();

    // ±4 g: 8192 LSB/g.
    let g = STANDARD_GRAVITY;
    assert!(close(r.acceleration[0], g), "{r:?}");
    assert!(close(r.acceleration[1], -0.5 * g), "{r:?}");
    assert_eq!(r.acceleration[2], 0.0);
    // ±500 °/s: 65.5 LSB/(°/s); 655 LSB = 10 °/s.
    assert!(close(r.angular_velocity[0], 10f32.to_radians()), "{r:?}");
    assert!(
        close(r.angular_velocity[1], (-32768.0f32 / 65.5).to_radians()),
        "{r:?}"
    );
    assert!(
        close(r.angular_velocity[2], (1.0f32 / 65.5).to_radians()),
        "{r:?}"
    );
    // -521 / 340 + 36.53 = 35.0 °C
    assert!((r.temperature - 35.0).abs() < 0.01, "{r:?}");
}

#[test]
fn the_ad0_high_address_is_used_for_every_transaction() {
    let mut expected = init_transactions(0x69);
    expected.push(Transaction::write_read(0x69, vec![0x3B], vec![0; 14]));
    let mut bus = Mock::new(&expected);
    let mut imu = Mpu6050::new(bus.clone(), Address::Ad0High);
    imu.init(CONFIG).unwrap();
    assert_eq!(imu.read_raw().unwrap(), Default::default());
    bus.done();
}

#[test]
fn default_config_is_the_reset_scales() {
    let mut bus = Mock::new(&[
        Transaction::write_read(ADDR, vec![0x75], vec![0x68]),
        Transaction::write(ADDR, vec![0x6B, 0x01]),
        Transaction::write(ADDR, vec![0x1B, 0x00]),
        Transaction::write(ADDR, vec![0x1C, 0x00]),
        Transaction::write_read(ADDR, vec![0x3B], burst([16384, 0, 0, 0, 131, 0, 0])),
    ]);
    let mut imu = Mpu6050::new(bus.clone(), Address::default());
    imu.init(Config::default()).unwrap();
    let r = imu.read().unwrap();
    bus.done();
    assert!(close(r.acceleration[0], STANDARD_GRAVITY), "{r:?}");
    assert!(close(r.angular_velocity[0], 1f32.to_radians()), "{r:?}");
    assert!(close(r.temperature, 36.53), "{r:?}");
}

#[test]
fn a_wrong_who_am_i_is_refused_before_any_write() {
    // An MPU-6500 answers 0x70 at the same address.
    let mut bus = Mock::new(&[Transaction::write_read(ADDR, vec![0x75], vec![0x70])]);
    let mut imu = Mpu6050::new(bus.clone(), Address::Ad0Low);
    let e = imu.init(CONFIG).unwrap_err();
    bus.done();
    assert_eq!(e, Error::WrongDevice { found: 0x70 });
    let text = e.to_string();
    assert!(text.contains("0x70") && text.contains("0x68"), "{text}");
    assert_eq!(
        imu.config(),
        Config::default(),
        "scales changed by a failed init"
    );
}

#[test]
fn a_bus_error_in_init_is_returned_and_the_scales_are_kept() {
    let mut bus = Mock::new(&[
        Transaction::write_read(ADDR, vec![0x75], vec![0x68]),
        Transaction::write(ADDR, vec![0x6B, 0x01]),
        Transaction::write(ADDR, vec![0x1B, 0x08]).with_error(NACK),
    ]);
    let mut imu = Mpu6050::new(bus.clone(), Address::Ad0Low);
    let e = imu.init(CONFIG).unwrap_err();
    bus.done();
    assert_eq!(e, Error::Bus(NACK));
    assert!(e.to_string().starts_with("I2C bus error: "), "{e}");
    assert_eq!(imu.config(), Config::default());
}

#[test]
fn a_bus_error_in_a_read_is_returned() {
    let bus = Mock::new(&[
        Transaction::write_read(ADDR, vec![0x3B], vec![0; 14]).with_error(ErrorKind::Bus)
    ]);
    let mut imu = Mpu6050::new(bus, Address::Ad0Low);
    assert_eq!(imu.read().unwrap_err(), Error::Bus(ErrorKind::Bus));
    // The bus is handed back.
    imu.release().done();
}
