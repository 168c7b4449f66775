//! Standard messages, all declared with [`message!`](crate::message!).
//!
//! Units are SI unless a field says otherwise: metres, radians, seconds,
//! metres per second, radians per second, volts, amperes, degrees Celsius.
//! Timestamps are nanoseconds of the publisher's monotonic clock
//! (`horus::now_ns()` on Linux). Frame names are NUL-padded ASCII.
//! Fields are ordered largest first so no message has padding.

use crate::message;

/// Most joints a [`JointState`] carries.
pub const MAX_JOINTS: usize = 16;
/// Most ranges a [`LaserScan`] carries (one per degree).
pub const MAX_RANGES: usize = 360;

message! {
    /// Velocity command for a mobile base.
    CmdVel {
        /// Time of the command, ns.
        timestamp_ns: u64,
        /// Forward velocity, m/s.
        linear: f32,
        /// Yaw rate, rad/s (counter-clockwise positive).
        angular: f32,
    }

    /// Linear and angular velocity in 3-D.
    Twist {
        /// Linear velocity (x, y, z), m/s.
        linear: [f64; 3],
        /// Angular velocity (x, y, z), rad/s.
        angular: [f64; 3],
        /// Time, ns.
        timestamp_ns: u64,
    }

    /// A pose in the plane.
    Pose2D {
        /// Position x, m.
        x: f64,
        /// Position y, m.
        y: f64,
        /// Heading, rad (counter-clockwise from x).
        theta: f64,
        /// Time, ns.
        timestamp_ns: u64,
    }

    /// A pose in space.
    Pose3D {
        /// Position (x, y, z), m.
        position: [f64; 3],
        /// Orientation quaternion (x, y, z, w), unit norm.
        orientation: [f64; 4],
        /// Time, ns.
        timestamp_ns: u64,
    }

    /// Inertial measurement.
    Imu {
        /// Orientation quaternion (x, y, z, w); all zero if not estimated.
        orientation: [f64; 4],
        /// Angular velocity (x, y, z), rad/s.
        angular_velocity: [f64; 3],
        /// Linear acceleration (x, y, z), m/s².
        linear_acceleration: [f64; 3],
        /// Time of the measurement, ns.
        timestamp_ns: u64,
    }

    /// Odometry of a mobile base.
    Odometry {
        /// Pose of the base in the odometry frame.
        pose: Pose2D,
        /// Velocity of the base in its own frame.
        twist: Twist,
        /// Row-major 3×3 covariance of (x, y, theta).
        pose_covariance: [f64; 9],
        /// Time, ns.
        timestamp_ns: u64,
        /// Odometry frame name.
        frame_id: [u8; 32],
        /// Base frame name.
        child_frame_id: [u8; 32],
    }

    /// Positions, velocities and efforts of up to [`MAX_JOINTS`] joints.
    JointState {
        /// Joint positions, rad (or m for prismatic joints).
        position: [f64; MAX_JOINTS],
        /// Joint velocities, rad/s (or m/s).
        velocity: [f64; MAX_JOINTS],
        /// Joint efforts, N·m (or N).
        effort: [f64; MAX_JOINTS],
        /// Time, ns.
        timestamp_ns: u64,
        /// Joints in use (the first `count` entries).
        count: u32,
        /// Explicit padding.
        _pad: u32,
    }

    /// One sweep of a planar laser scanner, up to [`MAX_RANGES`] ranges.
    LaserScan {
        /// Time of the first range, ns.
        timestamp_ns: u64,
        /// Ranges, m; 0 for no return.
        ranges: [f32; MAX_RANGES],
        /// Angle of the first range, rad.
        angle_min: f32,
        /// Angle of the last range, rad.
        angle_max: f32,
        /// Angle between ranges, rad.
        angle_increment: f32,
        /// Shortest valid range, m.
        range_min: f32,
        /// Longest valid range, m.
        range_max: f32,
        /// Time between ranges, s.
        time_increment: f32,
        /// Ranges in use.
        count: u32,
        /// Explicit padding.
        _pad: u32,
    }

    /// State of a battery.
    BatteryState {
        /// Time, ns.
        timestamp_ns: u64,
        /// Voltage, V.
        voltage: f32,
        /// Current, A (negative while discharging).
        current: f32,
        /// Remaining charge, 0.0 to 1.0.
        percentage: f32,
        /// Temperature, °C.
        temperature: f32,
    }

    /// A liveness beacon.
    Heartbeat {
        /// Time, ns.
        timestamp_ns: u64,
        /// Beats since the sender started.
        sequence: u64,
        /// Sender's process id.
        pid: u32,
        /// Sender-defined health code (0 = healthy).
        status: u32,
    }

    /// Emergency stop request or release.
    EmergencyStop {
        /// Time, ns.
        timestamp_ns: u64,
        /// 1 = engaged (stop), 0 = released.
        engaged: u8,
        /// Explicit padding.
        _pad: [u8; 7],
        /// Why, NUL-padded ASCII.
        reason: [u8; 48],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use core::mem::size_of;

    #[test]
    fn sizes_are_fixed_and_ids_distinct() {
        assert_eq!(size_of::<CmdVel>(), 16);
        assert_eq!(size_of::<Imu>(), 88);
        let ids = [
            CmdVel::TYPE_ID,
            Twist::TYPE_ID,
            Pose2D::TYPE_ID,
            Pose3D::TYPE_ID,
            Imu::TYPE_ID,
            Odometry::TYPE_ID,
            JointState::TYPE_ID,
            LaserScan::TYPE_ID,
            BatteryState::TYPE_ID,
            Heartbeat::TYPE_ID,
            EmergencyStop::TYPE_ID,
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
