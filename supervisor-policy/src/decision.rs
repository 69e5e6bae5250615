//! What comes out of the engine: a [`Decision`] of ordered [`Action`]s, each
//! step explained.

use std::time::Duration;

use serde::Serialize;
use supervisor_spec::Strategy;

use crate::{ChildKey, ExitKind, Generation, Time, WindowCount};

/// The engine's answer to one input: actions to carry out in order, the
/// explanation of every rule that fired, and the outcome of a command.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Decision {
    /// What the runtime must do, in this order.
    pub actions: Vec<Action>,
    /// Why: one entry per rule that fired, in the order they fired.
    pub explanations: Vec<Explanation>,
    /// For a [`Command`](crate::Command): accepted, or rejected and why.
    pub outcome: Option<Result<(), Rejection>>,
}

impl Decision {
    /// Empties the decision, keeping its buffers.
    pub fn clear(&mut self) {
        self.actions.clear();
        self.explanations.clear();
        self.outcome = None;
    }

    /// Whether the decision asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The first explanation with this rule, if any fired.
    pub fn explanation(&self, rule: Rule) -> Option<&Explanation> {
        self.explanations.iter().find(|e| e.rule == rule)
    }
}

/// One thing the runtime must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Start a new incarnation of `child`, numbered `generation`.
    Start {
        /// The child.
        child: ChildKey,
        /// The new incarnation's number (unique within this engine).
        generation: Generation,
        /// Restart attempts since the child was last stable (0 on first start).
        attempt: u32,
    },
    /// Stop the running incarnation `generation` of `child` with its shutdown
    /// policy, then report its exit.
    Stop {
        /// The child.
        child: ChildKey,
        /// The incarnation to stop.
        generation: Generation,
        /// Why, for the task's context and the events.
        reason: StopReason,
    },
    /// `child` will be started at `at` (after its backoff delay, once the
    /// children it waits for are down and its dependencies ready).
    RestartScheduled {
        /// The child.
        child: ChildKey,
        /// The delay drawn.
        delay: Duration,
        /// When it elapses.
        at: Time,
    },
    /// `child` is quarantined: down, visible, not restarted.
    Quarantined {
        /// The child.
        child: ChildKey,
        /// When it will be tried again by itself, if ever.
        retry_at: Option<Time>,
    },
    /// `child` was removed from the supervisor (its key is now unknown).
    Removed {
        /// The child.
        child: ChildKey,
    },
    /// The supervisor gives up: it stops its children, then ends with
    /// [`SupervisorExit::Escalated`] so its parent decides.
    Escalate {
        /// Why.
        reason: Escalation,
    },
    /// Every child is down: the supervisor must end now, this way.
    Exit {
        /// How the supervisor ends.
        exit: SupervisorExit,
    },
}

/// Why a running incarnation is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The supervisor shuts down (requested, given up, or auto-shutdown).
    Shutdown,
    /// A sibling failed and the strategy restarts this child with it.
    SiblingRestart {
        /// The sibling whose exit triggered the restart.
        trigger: ChildKey,
        /// The strategy that applies.
        strategy: Strategy,
    },
    /// A child this one depends on restarts.
    DependencyRestart {
        /// The dependency.
        dependency: ChildKey,
    },
    /// An operator's command.
    Manual {
        /// The command's name (`restart`, `terminate`, `quarantine`, `pause`).
        command: &'static str,
    },
    /// The child did not become ready in time.
    ReadinessTimeout,
    /// The child missed its liveness deadline.
    LivenessMissed,
}

/// Why a supervisor gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Escalation {
    /// More restarts than the intensity allows within its period.
    IntensityExceeded {
        /// The child whose exit crossed the limit.
        child: ChildKey,
        /// The counter at that moment.
        intensity: WindowCount,
    },
    /// A child's own budget was exhausted and its spec says escalate.
    BudgetExhausted {
        /// The child.
        child: ChildKey,
        /// The budget counter at that moment.
        budget: WindowCount,
    },
}

/// How a supervisor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "exit", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SupervisorExit {
    /// Shut down because it was asked to: a normal end.
    Shutdown,
    /// Shut down by `auto_shutdown` after significant children ended: a
    /// normal end.
    AutoShutdown {
        /// The significant child whose end triggered it.
        trigger: ChildKey,
    },
    /// Gave up: an abnormal end its parent must handle.
    Escalated {
        /// Why.
        reason: Escalation,
    },
}

impl SupervisorExit {
    /// Whether this end is abnormal (its parent treats it as a failure).
    pub fn is_abnormal(&self) -> bool {
        matches!(self, Self::Escalated { .. })
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

/// The audit record of one rule firing: which rule, about which child and
/// exit, and the counters, windows and backoff at that moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The rule.
    pub rule: Rule,
    /// The child it concerns, if any.
    pub child: Option<ChildKey>,
    /// The incarnation it concerns, if any.
    pub generation: Option<Generation>,
    /// The exit being judged, if any.
    pub exit: Option<ExitKind>,
    /// The supervisor's restart intensity counter, when it was consulted.
    pub intensity: Option<WindowCount>,
    /// The child's budget counter, when it was consulted.
    pub budget: Option<WindowCount>,
    /// The backoff computed, when a restart was scheduled.
    pub backoff: Option<BackoffDraw>,
    /// The children the rule stops and restarts with the child (strategy and
    /// dependents), in stop order.
    pub affected: Vec<ChildKey>,
}

impl Explanation {
    pub(crate) fn new(rule: Rule) -> Self {
        Self {
            rule,
            child: None,
            generation: None,
            exit: None,
            intensity: None,
            budget: None,
            backoff: None,
            affected: Vec::new(),
        }
    }

    pub(crate) fn child(mut self, child: ChildKey, generation: Option<Generation>) -> Self {
        self.child = Some(child);
        self.generation = generation;
        self
    }

    pub(crate) fn exit(mut self, exit: ExitKind) -> Self {
        self.exit = Some(exit);
        self
    }
}

/// How a restart delay was computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BackoffDraw {
    /// Restart attempts since the child was last stable, before this one.
    pub attempt: u32,
    /// The delay on the curve before jitter.
    pub base: Duration,
    /// The uniform draw in `[0, 1)` that scaled the jitter.
    pub draw: f64,
    /// The delay after jitter.
    pub delay: Duration,
    /// Whether the attempt counter was reset first because the child had
    /// been up for `reset_after`.
    pub reset: bool,
}

/// Every rule the engine applies. Each names one documented behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Children are started in declaration order once their dependencies are ready.
    InitialStart,
    /// An incarnation reported it runs.
    Started,
    /// An incarnation reported it is ready.
    Ready,
    /// A running incarnation reported it is no longer ready.
    Unready,
    /// A permanent child ended and is restarted.
    RestartPermanent,
    /// A transient child ended abnormally and is restarted.
    RestartTransient,
    /// A transient child ended normally: it is not restarted.
    TransientCompleted,
    /// A temporary child ended: it is never restarted.
    TemporaryEnded,
    /// A child ended while a dependency of it was down or restarting: it
    /// waits for the dependency, and the exit is not counted.
    WaitingForDependency,
    /// More restarts than the intensity allows: the supervisor gives up.
    IntensityExceeded,
    /// A child's budget is exhausted and it escalates.
    BudgetEscalated,
    /// A child's budget is exhausted and it is quarantined.
    BudgetQuarantined,
    /// A stop the supervisor asked for completed.
    StopCompleted,
    /// A backoff delay or the wait for other children elapsed: the child starts.
    RestartDue,
    /// A child did not become ready within its readiness timeout.
    ReadinessTimedOut,
    /// A child missed its liveness deadline.
    LivenessMissed,
    /// A quarantined child's retry_after elapsed.
    QuarantineRetry,
    /// Significant children ended: the supervisor shuts itself down.
    AutoShutdown,
    /// Shutdown was requested.
    ShutdownRequested,
    /// A child ended during shutdown: recorded, not acted on.
    ExitDuringShutdown,
    /// An input about an older incarnation: ignored.
    StaleGeneration,
    /// An input about a child that is not known (deleted, or never existed): ignored.
    UnknownChild,
    /// An operator's command was carried out.
    CommandAccepted,
    /// An operator's command did not apply and changed nothing.
    CommandRejected,
    /// Every child is down after shutdown or escalation: the supervisor ends.
    SupervisorExit,
}

impl Rule {
    /// The rule's snake_case name, as in serialized explanations.
    pub fn name(self) -> &'static str {
        match self {
            Self::InitialStart => "initial_start",
            Self::Started => "started",
            Self::Ready => "ready",
            Self::Unready => "unready",
            Self::RestartPermanent => "restart_permanent",
            Self::RestartTransient => "restart_transient",
            Self::TransientCompleted => "transient_completed",
            Self::TemporaryEnded => "temporary_ended",
            Self::WaitingForDependency => "waiting_for_dependency",
            Self::IntensityExceeded => "intensity_exceeded",
            Self::BudgetEscalated => "budget_escalated",
            Self::BudgetQuarantined => "budget_quarantined",
            Self::StopCompleted => "stop_completed",
            Self::RestartDue => "restart_due",
            Self::ReadinessTimedOut => "readiness_timed_out",
            Self::LivenessMissed => "liveness_missed",
            Self::QuarantineRetry => "quarantine_retry",
            Self::AutoShutdown => "auto_shutdown",
            Self::ShutdownRequested => "shutdown_requested",
            Self::ExitDuringShutdown => "exit_during_shutdown",
            Self::StaleGeneration => "stale_generation",
            Self::UnknownChild => "unknown_child",
            Self::CommandAccepted => "command_accepted",
            Self::CommandRejected => "command_rejected",
            Self::SupervisorExit => "supervisor_exit",
        }
    }
}
