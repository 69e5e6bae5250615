//! [`NodeSnapshot`]: what a node of a running tree looks like right now.

use std::time::Duration;

use supervisor_policy::{ExitKind, Generation};
use supervisor_spec::ChildPath;

/// A node's state, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeState {
    /// About to start, or waiting for its dependencies to be ready.
    Starting,
    /// Running and ready.
    Ready,
    /// Running, not ready yet.
    RunningNotReady,
    /// Waiting out its backoff delay.
    BackingOff {
        /// Time left.
        remaining: Duration,
    },
    /// Being stopped.
    Stopping,
    /// Down, not to be restarted (completed, temporary, or terminated).
    Stopped,
    /// Down after an abnormal end, not restarted.
    Failed,
    /// Down by budget or command.
    Quarantined,
    /// Down by command until resumed.
    Paused,
}

impl NodeState {
    /// The snake_case name (`ready`, `backing_off`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::RunningNotReady => "running_not_ready",
            Self::BackingOff { .. } => "backing_off",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Quarantined => "quarantined",
            Self::Paused => "paused",
        }
    }
}

/// One node of a running tree, as seen at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NodeSnapshot {
    /// Where it is.
    pub path: ChildPath,
    /// `worker`, `blocking` or `supervisor`.
    pub kind: &'static str,
    /// Its state.
    pub state: NodeState,
    /// The running incarnation, if any.
    pub generation: Option<Generation>,
    /// Restarts decided so far.
    pub restarts: u64,
    /// How its last incarnation ended.
    pub last_exit: Option<ExitKind>,
    /// Its last failure, as one line.
    pub last_error: Option<String>,
    /// How long the running incarnation has been up.
    pub uptime: Option<Duration>,
    /// A supervisor's children (filled by [`SupervisorHandle::tree`](crate::SupervisorHandle::tree)).
    pub children: Vec<NodeSnapshot>,
}
