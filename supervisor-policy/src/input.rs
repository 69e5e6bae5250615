//! What goes into the engine: [`Input`]s about children, [`Command`]s from
//! operators, and the classified [`ExitKind`] of an incarnation.

use serde::Serialize;
use supervisor_spec::ChildSpec;

use crate::{ChildKey, Generation};

/// Something that happened, reported to [`Engine::handle`](crate::Engine::handle).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// The incarnation `generation` of `child` is running (its task was spawned).
    Started {
        /// The child.
        child: ChildKey,
        /// The incarnation.
        generation: Generation,
    },
    /// The incarnation became ready.
    Ready {
        /// The child.
        child: ChildKey,
        /// The incarnation.
        generation: Generation,
    },
    /// The incarnation stopped being ready while still running (a nested
    /// supervisor whose own children went down). Its dependents keep
    /// running; the supervisor's readiness roll-up drops until it is ready
    /// again.
    Unready {
        /// The child.
        child: ChildKey,
        /// The incarnation.
        generation: Generation,
    },
    /// The incarnation ended.
    Exited {
        /// The child.
        child: ChildKey,
        /// The incarnation.
        generation: Generation,
        /// How it ended.
        exit: ExitKind,
    },
    /// The incarnation is deemed failed while still running (its liveness
    /// deadline passed): the engine stops it and treats the end as `reason`.
    Unhealthy {
        /// The child.
        child: ChildKey,
        /// The incarnation.
        generation: Generation,
        /// Why it is failed; [`ExitKind::LivenessMissed`] in practice.
        reason: ExitKind,
    },
    /// An operator's command.
    Command(Command),
    /// The supervisor is asked to stop all its children and end.
    Shutdown,
    /// The deadline returned by [`Engine::next_deadline`](crate::Engine::next_deadline) passed.
    Timer,
}

/// How an incarnation ended, as the runtime saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExitKind {
    /// The task returned `Ok`: a normal end.
    Completed,
    /// The task returned an error.
    Failed,
    /// The task panicked.
    Panicked,
    /// The task ended because the supervisor stopped it (cooperatively or by
    /// abort).
    Stopped,
    /// The task missed its liveness deadline and was stopped.
    LivenessMissed,
    /// The task did not become ready in time and was stopped.
    ReadinessTimedOut,
}

impl ExitKind {
    /// Whether this end is abnormal in OTP's sense (a transient child is
    /// restarted after it). `Stopped` is not: it was asked for.
    pub fn is_abnormal(self) -> bool {
        !matches!(self, Self::Completed | Self::Stopped)
    }

    /// The snake_case name used in events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Panicked => "panicked",
            Self::Stopped => "stopped",
            Self::LivenessMissed => "liveness_missed",
            Self::ReadinessTimedOut => "readiness_timed_out",
        }
    }
}

/// An operator's command about one child. Every command is checked against
/// the child's state; one that does not apply is rejected in the decision's
/// [`outcome`](crate::Decision::outcome), changing nothing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// Stop the child if it runs, then start it again at once (no backoff,
    /// not counted against intensity or budget). Starts a terminated child.
    Restart(ChildKey),
    /// Stop the child and leave it down until restarted.
    Terminate(ChildKey),
    /// Remove a child that is not running from the supervisor.
    Delete(ChildKey),
    /// Stop the child and keep it quarantined until released.
    Quarantine(ChildKey),
    /// Start a quarantined child again with a fresh budget.
    Release(ChildKey),
    /// Stop the child and keep it paused until resumed.
    Pause(ChildKey),
    /// Start a paused child again.
    Resume(ChildKey),
    /// Add a child (already validated against its siblings) at the end of the
    /// start order and start it.
    Add(Box<ChildSpec>),
}

impl Command {
    /// The snake_case name used in events.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Restart(_) => "restart",
            Self::Terminate(_) => "terminate",
            Self::Delete(_) => "delete",
            Self::Quarantine(_) => "quarantine",
            Self::Release(_) => "release",
            Self::Pause(_) => "pause",
            Self::Resume(_) => "resume",
            Self::Add(_) => "add",
        }
    }
}
