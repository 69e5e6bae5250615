//! [`Budget`]: a per-child restart limit, separate from the supervisor's intensity.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{self, HumanDuration};

/// A restart limit for one child: at most `max_restarts` restarts within any
/// sliding `window`. It lets one flapping child be dealt with before it uses
/// up the restart intensity its siblings share.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use supervisor_spec::{Budget, OnExhausted};
///
/// let b = Budget::new(5, Duration::from_secs(60))
///     .quarantine(Some(Duration::from_secs(300)));
/// assert_eq!(b.on_exhausted, OnExhausted::Quarantine { retry_after: Some(Duration::from_secs(300)) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "BudgetRepr", into = "BudgetRepr")]
#[schemars(with = "BudgetRepr")]
#[non_exhaustive]
pub struct Budget {
    /// Restarts allowed within `window`; one more exhausts the budget.
    pub max_restarts: u32,
    /// The sliding window restarts are counted in.
    pub window: Duration,
    /// What happens to the child when the budget is exhausted.
    pub on_exhausted: OnExhausted,
}

/// What happens to a child whose [`Budget`] is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnExhausted {
    /// The supervisor gives up, as if its own intensity were exceeded: it
    /// stops its children and fails, and its parent decides.
    Escalate,
    /// The child stays down and visible as quarantined while its siblings go
    /// on. It is started again after `retry_after` (if set) or when an
    /// operator releases it.
    Quarantine {
        /// When to try the child again by itself; `None` waits for a release.
        retry_after: Option<Duration>,
    },
}

impl Budget {
    /// A budget that escalates when exhausted.
    pub fn new(max_restarts: u32, window: Duration) -> Self {
        Self {
            max_restarts,
            window,
            on_exhausted: OnExhausted::Escalate,
        }
    }

    /// Quarantines the child instead of escalating, retrying after `retry_after`.
    pub fn quarantine(mut self, retry_after: Option<Duration>) -> Self {
        self.on_exhausted = OnExhausted::Quarantine { retry_after };
        self
    }
}

#[derive(Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ExhaustedTag {
    Escalate,
    Quarantine,
}

/// Serialized form of a per-child restart budget.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Budget")]
struct BudgetRepr {
    /// Restarts allowed within `window`.
    max_restarts: u32,
    /// Sliding window the restarts are counted in.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    window: Duration,
    /// `escalate` (default) or `quarantine`.
    #[serde(default = "escalate")]
    on_exhausted: ExhaustedTag,
    /// With `quarantine`: when to try the child again by itself.
    #[serde(
        default,
        with = "duration::human_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<HumanDuration>")]
    retry_after: Option<Duration>,
}

fn escalate() -> ExhaustedTag {
    ExhaustedTag::Escalate
}

impl TryFrom<BudgetRepr> for Budget {
    type Error = String;

    fn try_from(r: BudgetRepr) -> Result<Self, String> {
        let on_exhausted = match (r.on_exhausted, r.retry_after) {
            (ExhaustedTag::Escalate, Some(_)) => {
                return Err(
                    "budget: retry_after applies only with on_exhausted: quarantine".into(),
                );
            }
            (ExhaustedTag::Escalate, None) => OnExhausted::Escalate,
            (ExhaustedTag::Quarantine, retry_after) => OnExhausted::Quarantine { retry_after },
        };
        Ok(Self {
            max_restarts: r.max_restarts,
            window: r.window,
            on_exhausted,
        })
    }
}

impl From<Budget> for BudgetRepr {
    fn from(b: Budget) -> Self {
        let (on_exhausted, retry_after) = match b.on_exhausted {
            OnExhausted::Escalate => (ExhaustedTag::Escalate, None),
            OnExhausted::Quarantine { retry_after } => (ExhaustedTag::Quarantine, retry_after),
        };
        Self {
            max_restarts: b.max_restarts,
            window: b.window,
            on_exhausted,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quarantine_with_retry() {
        let b: Budget = serde_json::from_str(
            r#"{"max_restarts":2,"window":"1m","on_exhausted":"quarantine","retry_after":"5m"}"#,
        )
        .unwrap();
        assert_eq!(
            b,
            Budget::new(2, Duration::from_secs(60)).quarantine(Some(Duration::from_secs(300)))
        );
    }

    #[test]
    fn rejects_retry_after_with_escalate() {
        let err = serde_json::from_str::<Budget>(
            r#"{"max_restarts":2,"window":"1m","retry_after":"5m"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("retry_after applies only"),
            "{err}"
        );
    }
}
