//! [`Time`]: the engine's notion of "now", passed in by the caller.

use std::ops::{Add, Sub};
use std::time::Duration;

use serde::Serialize;

/// A point in time, as the duration since an origin the caller chooses
/// (typically when the supervisor started).
///
/// The engine never reads a clock: every input carries the time it happened,
/// so tests can drive an engine through hours in microseconds and a recorded
/// run replays exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Time(Duration);

impl Time {
    /// The origin.
    pub const ZERO: Time = Time(Duration::ZERO);

    /// The time `since` after the origin.
    pub const fn from_duration(since: Duration) -> Self {
        Self(since)
    }

    /// The time `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    /// The duration since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this is; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;

    fn sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(d))
    }
}
