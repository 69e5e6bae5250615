//! [`Readiness`]: when a started child counts as ready.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{self, HumanDuration};

/// When a started worker counts as ready: the gate for its dependents and for
/// the tree's readiness roll-up.
///
/// Written in config files as `"immediate"`, `"explicit"` (with the default
/// timeout) or `{ explicit: "10s" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Readiness {
    /// Ready once the task has been polled for the first time. The default:
    /// most tasks are ready as soon as they run, as OTP's `start_link` returns
    /// once `init` has.
    #[default]
    Immediate,
    /// Ready when the task says so through its context. Not saying so within
    /// `timeout` is a failure of that incarnation.
    Explicit {
        /// How long the task has to become ready.
        timeout: Duration,
    },
}

impl Readiness {
    /// The default readiness timeout: 30 s (Kubernetes' startup probes and
    /// systemd's `TimeoutStartSec` allow tens of seconds; a task that takes
    /// longer should say so).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Explicit readiness with `timeout`.
    pub const fn explicit(timeout: Duration) -> Self {
        Self::Explicit { timeout }
    }
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReadinessMap {
    /// Readiness timeout.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    explicit: Duration,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ReadinessSchema {
    /// "immediate" or "explicit".
    Mode(String),
    /// Explicit readiness with a timeout.
    Explicit(ReadinessMap),
}

impl Serialize for Readiness {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Immediate => s.serialize_str("immediate"),
            Self::Explicit { timeout } if timeout == Self::DEFAULT_TIMEOUT => {
                s.serialize_str("explicit")
            }
            Self::Explicit { timeout } => ReadinessMap { explicit: timeout }.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Readiness {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration::str_or_map(
            d,
            "\"immediate\", \"explicit\" or { explicit: <timeout> }",
            |s| match s.trim() {
                "immediate" => Ok(Self::Immediate),
                "explicit" => Ok(Self::explicit(Self::DEFAULT_TIMEOUT)),
                other => Err(format!(
                    "readiness: expected \"immediate\", \"explicit\" or {{ explicit: <timeout> }}, found {other:?}"
                )),
            },
            |m: ReadinessMap| Ok(Self::explicit(m.explicit)),
        )
    }
}

impl JsonSchema for Readiness {
    fn schema_name() -> Cow<'static, str> {
        "Readiness".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        ReadinessSchema::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_written_form() {
        let de = |s: &str| serde_json::from_str::<Readiness>(s).map_err(|e| e.to_string());
        assert_eq!(de("\"immediate\""), Ok(Readiness::Immediate));
        assert_eq!(
            de("\"explicit\""),
            Ok(Readiness::explicit(Readiness::DEFAULT_TIMEOUT))
        );
        assert_eq!(
            de(r#"{"explicit":"3s"}"#),
            Ok(Readiness::explicit(Duration::from_secs(3)))
        );
        assert!(de("\"soon\"").unwrap_err().contains("found \"soon\""));
        let r = Readiness::explicit(Duration::from_secs(3));
        assert_eq!(de(&serde_json::to_string(&r).unwrap()), Ok(r));
    }
}
