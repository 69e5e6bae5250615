//! [`Backoff`]: the delay before each restart of one child.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{self, HumanDuration};

/// Exponential backoff with jitter between restarts of one child.
///
/// Before jitter, the delay before restart attempt `n` (counting from 0) is
/// `min(initial * multiplier^n, max)`. Jitter then shortens it by a random
/// fraction of at most `jitter` (`delay * (1 - jitter * u)`, `u` uniform in
/// `[0, 1)`), so delays always lie within `[0, max]` and children that failed
/// together do not restart in lock step. The attempt counter resets once the
/// child has been up (ready, when it signals readiness) for `reset_after`.
///
/// OTP restarts at once; systemd waits `RestartSec` (100 ms by default);
/// Kubernetes doubles from 10 s up to 5 min. The defaults here follow
/// systemd's first step and Kubernetes' doubling, capped lower because an
/// in-process task is cheap to restart: 100 ms, x2, at most 30 s, 20 %
/// jitter, reset after 60 s up.
///
/// Written in config files as a map (every key optional) or as `"none"` for
/// immediate restarts, OTP style.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use supervisor_spec::Backoff;
///
/// let b = Backoff::default();
/// assert_eq!(b.base_delay(0), Duration::from_millis(100));
/// assert_eq!(b.base_delay(3), Duration::from_millis(800));
/// assert_eq!(b.base_delay(50), Duration::from_secs(30));
/// assert_eq!(Backoff::none().base_delay(7), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "BackoffMap")]
#[non_exhaustive]
pub struct Backoff {
    /// Delay before the first restart. Default 100 ms.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    pub initial: Duration,
    /// Upper bound on any delay. Default 30 s.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    pub max: Duration,
    /// Growth factor per attempt, at least 1. Default 2.
    pub multiplier: f64,
    /// Largest fraction of a delay removed at random, within `0..=1`. Default 0.2.
    pub jitter: f64,
    /// Time a child must stay up (ready) before its attempt counter resets. Default 60 s.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            reset_after: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// No delay at all: restart at once, as OTP does.
    pub fn none() -> Self {
        Self {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            multiplier: 1.0,
            jitter: 0.0,
            ..Self::default()
        }
    }

    /// Exponential backoff from `initial` up to `max`, other settings default.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            ..Self::default()
        }
    }

    /// Sets the growth factor per attempt.
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets the jitter ratio.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets how long a child must stay up before its attempts reset.
    pub fn with_reset_after(mut self, reset_after: Duration) -> Self {
        self.reset_after = reset_after;
        self
    }

    /// Whether restarts happen at once (`initial` and `max` both zero).
    pub fn is_none(&self) -> bool {
        self.initial.is_zero() && self.max.is_zero()
    }

    /// The delay before restart attempt `attempt` (from 0), before jitter:
    /// `min(initial * multiplier^attempt, max)`.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        if self.is_none() {
            return Duration::ZERO;
        }
        let max = self.max.as_secs_f64();
        let mut d = self.initial.as_secs_f64();
        // Repeated multiplication stops as soon as the cap is reached, so
        // huge attempt counts cost nothing and never overflow.
        for _ in 0..attempt {
            if d >= max {
                break;
            }
            d *= self.multiplier.max(1.0);
        }
        if d.is_finite() && d < max {
            Duration::from_secs_f64(d).min(self.max)
        } else {
            self.max
        }
    }

    /// The delay after jitter, given a uniform draw `u` in `[0, 1)`.
    pub fn jittered(&self, base: Duration, u: f64) -> Duration {
        let cut = (self.jitter.clamp(0.0, 1.0) * u.clamp(0.0, 1.0)).min(1.0);
        base.mul_f64(1.0 - cut)
    }
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum BackoffSchema {
    /// "none": restart at once.
    None(String),
    /// Exponential backoff settings.
    Map(Backoff),
}

/// Serde form of [`Backoff`]: `"none"` or the map.
pub(crate) mod repr {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(b: &Backoff, s: S) -> Result<S::Ok, S::Error> {
        if *b == Backoff::none() {
            s.serialize_str("none")
        } else {
            b.serialize(s)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Backoff, D::Error> {
        duration::str_or_map(
            d,
            "\"none\" or a map of backoff settings",
            |s| match s.trim() {
                "none" => Ok(Backoff::none()),
                other => Err(format!(
                    "backoff: expected \"none\" or a map of settings, found {other:?}"
                )),
            },
            |b: Backoff| Ok(b),
        )
    }

    pub(crate) struct Schema;

    impl JsonSchema for Schema {
        fn schema_name() -> Cow<'static, str> {
            "Backoff".into()
        }

        fn json_schema(g: &mut SchemaGenerator) -> super::Schema {
            BackoffSchema::json_schema(g)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct W {
        #[serde(with = "repr")]
        b: Backoff,
    }

    #[test]
    fn curve_is_exponential_and_capped() {
        let b = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(10));
        let got: Vec<_> = (0..6).map(|n| b.base_delay(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
        assert_eq!(b.base_delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn jitter_only_shortens() {
        let b = Backoff::default().with_jitter(0.5);
        let base = Duration::from_secs(4);
        assert_eq!(b.jittered(base, 0.0), base);
        assert_eq!(b.jittered(base, 0.5), Duration::from_secs(3));
        assert!(b.jittered(base, 0.999) > Duration::from_secs(2));
    }

    #[test]
    fn reads_none_and_partial_maps() {
        let w: W = serde_json::from_str(r#"{"b":"none"}"#).unwrap();
        assert_eq!(w.b, Backoff::none());
        let w: W = serde_json::from_str(r#"{"b":{"max":"1m"}}"#).unwrap();
        assert_eq!(w.b.max, Duration::from_secs(60));
        assert_eq!(w.b.initial, Backoff::default().initial);
        let err = serde_json::from_str::<W>(r#"{"b":"fast"}"#).unwrap_err();
        assert!(err.to_string().contains("expected \"none\""), "{err}");
    }
}
