//! [`Shutdown`]: how one child is stopped.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{self, HumanDuration};

/// How a child is stopped, as OTP's `shutdown` child-spec field, plus a bound
/// on how long an aborted task is waited for.
///
/// Written in config files as a scalar, `"5s"` (graceful timeout with the
/// default abort wait), `"brutal_kill"` or `"infinity"`, or as a map
/// `{ timeout: "5s", abort_wait: "2s" }` where `timeout` takes the same
/// scalars.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use supervisor_spec::Shutdown;
///
/// let s = Shutdown::graceful(Duration::from_secs(10));
/// assert_eq!(s.worst_case(), Some(Duration::from_secs(11)));
/// assert_eq!(Shutdown::Infinity.worst_case(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shutdown {
    /// Cancel the task cooperatively and give it `timeout` to end; then abort
    /// it and wait up to `abort_wait` for it to end. A task still running
    /// after that is reported as detached, never waited for forever.
    Graceful {
        /// Time allowed for a cooperative stop (OTP's shutdown timeout).
        timeout: Duration,
        /// Time allowed for an aborted task to end.
        abort_wait: Duration,
    },
    /// Abort at once (OTP's `brutal_kill`), then wait up to `abort_wait`.
    BrutalKill {
        /// Time allowed for an aborted task to end.
        abort_wait: Duration,
    },
    /// Wait for as long as it takes. Only for nested supervisors (as in OTP),
    /// whose own children are bounded by their own shutdown settings.
    Infinity,
}

impl Shutdown {
    /// The default graceful timeout of a worker: 5 s, OTP's default for workers.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The default wait after an abort: 1 s. An aborted async task ends at
    /// its next `.await`; one that does not end within a second is blocking
    /// its thread and will be reported as detached.
    pub const DEFAULT_ABORT_WAIT: Duration = Duration::from_secs(1);

    /// A graceful stop with `timeout` and the default abort wait.
    pub const fn graceful(timeout: Duration) -> Self {
        Self::Graceful {
            timeout,
            abort_wait: Self::DEFAULT_ABORT_WAIT,
        }
    }

    /// An immediate abort with the default abort wait.
    pub const fn brutal_kill() -> Self {
        Self::BrutalKill {
            abort_wait: Self::DEFAULT_ABORT_WAIT,
        }
    }

    /// The longest this child can take to stop, or `None` for `Infinity`.
    pub fn worst_case(&self) -> Option<Duration> {
        match *self {
            Self::Graceful {
                timeout,
                abort_wait,
            } => Some(timeout.saturating_add(abort_wait)),
            Self::BrutalKill { abort_wait } => Some(abort_wait),
            Self::Infinity => None,
        }
    }

    /// The wait after an abort, or `None` for `Infinity`.
    pub fn abort_wait(&self) -> Option<Duration> {
        match *self {
            Self::Graceful { abort_wait, .. } | Self::BrutalKill { abort_wait } => Some(abort_wait),
            Self::Infinity => None,
        }
    }

    fn mode_str(&self) -> String {
        match *self {
            Self::Graceful { timeout, .. } => duration::format(timeout),
            Self::BrutalKill { .. } => "brutal_kill".to_owned(),
            Self::Infinity => "infinity".to_owned(),
        }
    }

    fn from_mode(mode: &str, abort_wait: Option<Duration>) -> Result<Self, String> {
        let wait = abort_wait.unwrap_or(Self::DEFAULT_ABORT_WAIT);
        match mode.trim() {
            "brutal_kill" => Ok(Self::BrutalKill { abort_wait: wait }),
            "infinity" if abort_wait.is_some() => {
                Err("shutdown: infinity waits forever, so abort_wait does not apply".to_owned())
            }
            "infinity" => Ok(Self::Infinity),
            other => duration::parse(other)
                .map(|timeout| Self::Graceful {
                    timeout,
                    abort_wait: wait,
                })
                .map_err(|e| {
                    format!("shutdown: expected a duration, brutal_kill or infinity; {e}")
                }),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ShutdownMap {
    /// A duration (graceful timeout), "brutal_kill" or "infinity".
    timeout: String,
    /// Time allowed for an aborted task to end (default 1s).
    #[serde(
        default,
        with = "duration::human_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<HumanDuration>")]
    abort_wait: Option<Duration>,
}

/// Schema of the two written forms.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ShutdownSchema {
    /// A duration (graceful timeout), "brutal_kill" or "infinity".
    Short(String),
    /// A mode and an abort wait.
    Full(ShutdownMap),
}

impl Serialize for Shutdown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.abort_wait() {
            Some(w) if w != Self::DEFAULT_ABORT_WAIT => ShutdownMap {
                timeout: self.mode_str(),
                abort_wait: Some(w),
            }
            .serialize(s),
            _ => s.serialize_str(&self.mode_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Shutdown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration::str_or_map(
            d,
            "a duration, \"brutal_kill\", \"infinity\" or a map with `timeout` and `abort_wait`",
            |s| Self::from_mode(s, None),
            |m: ShutdownMap| Self::from_mode(&m.timeout, m.abort_wait),
        )
    }
}

impl JsonSchema for Shutdown {
    fn schema_name() -> Cow<'static, str> {
        "Shutdown".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        ShutdownSchema::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de(json: &str) -> Result<Shutdown, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_written_form() {
        assert_eq!(de("\"5s\""), Ok(Shutdown::graceful(Duration::from_secs(5))));
        assert_eq!(de("\"brutal_kill\""), Ok(Shutdown::brutal_kill()));
        assert_eq!(de("\"infinity\""), Ok(Shutdown::Infinity));
        assert_eq!(
            de(r#"{"timeout":"2s","abort_wait":"250ms"}"#),
            Ok(Shutdown::Graceful {
                timeout: Duration::from_secs(2),
                abort_wait: Duration::from_millis(250)
            })
        );
    }

    #[test]
    fn rejects_abort_wait_with_infinity() {
        let err = de(r#"{"timeout":"infinity","abort_wait":"1s"}"#).unwrap_err();
        assert!(err.contains("abort_wait does not apply"), "{err}");
    }

    #[test]
    fn rejects_unknown_keys_in_map_form() {
        let err = de(r#"{"timeout":"1s","abort":"1s"}"#).unwrap_err();
        assert!(err.contains("unknown field `abort`"), "{err}");
    }

    #[test]
    fn round_trips() {
        for s in [
            Shutdown::graceful(Duration::from_millis(1500)),
            Shutdown::BrutalKill {
                abort_wait: Duration::from_secs(3),
            },
            Shutdown::Infinity,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(de(&json), Ok(s), "{json}");
        }
    }
}
