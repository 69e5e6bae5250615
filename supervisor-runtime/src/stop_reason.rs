//! [`StopReason`]: why an incarnation is being stopped, as its task sees it.

use std::fmt;

use supervisor_spec::ChildId;

/// Why the supervisor asked an incarnation to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Its supervisor shuts down: asked to, gave up, or auto-shutdown.
    Shutdown,
    /// A sibling failed and the supervisor's strategy restarts this child with it.
    SiblingRestart {
        /// The sibling that failed.
        sibling: ChildId,
    },
    /// A child this one depends on restarts; this one comes back after it.
    DependencyRestart {
        /// The dependency.
        dependency: ChildId,
    },
    /// An operator's command.
    Manual {
        /// The command (`restart`, `terminate`, `quarantine`, `pause`).
        command: &'static str,
        /// The reason the operator gave, if any.
        reason: Option<String>,
    },
    /// It did not become ready within its readiness timeout.
    ReadinessTimeout,
    /// It missed its liveness deadline.
    LivenessMissed,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown => f.write_str("shutdown"),
            Self::SiblingRestart { sibling } => write!(f, "sibling {sibling} restarts"),
            Self::DependencyRestart { dependency } => {
                write!(f, "dependency {dependency} restarts")
            }
            Self::Manual { command, reason } => {
                write!(f, "{command} command")?;
                if let Some(r) = reason {
                    write!(f, ": {r}")?;
                }
                Ok(())
            }
            Self::ReadinessTimeout => f.write_str("readiness timed out"),
            Self::LivenessMissed => f.write_str("liveness deadline missed"),
        }
    }
}
