//! Lifecycle [`Event`]s and their delivery: a broadcast subscription that
//! never slows the tree, and synchronous [`Observer`]s.

use std::sync::Arc;
use std::time::Duration;

use supervisor_policy::{BackoffDraw, ExitKind, Generation, Rule, WindowCount};
use supervisor_spec::{ChildId, ChildPath};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::{ChildFailure, ShutdownReport, StopOutcome, StopReason};

/// One step in the life of a tree: what happened, to which node, which
/// incarnation, and when.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event {
    /// The node it is about (a worker, or a supervisor for supervisor-wide events).
    pub path: Arc<ChildPath>,
    /// The incarnation, for events about one.
    pub generation: Option<Generation>,
    /// Time since the tree started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EventKind {
    /// An incarnation started. `attempt` counts restarts since the child was
    /// last stable; `restart` is false only for a child's first start.
    Started {
        /// Restart attempts since last stable.
        attempt: u32,
        /// Whether an earlier incarnation ran before.
        restart: bool,
    },
    /// The incarnation became ready.
    Ready,
    /// The incarnation ended.
    Exited {
        /// How, as classified for the policy.
        exit: ExitKind,
        /// The failure, for abnormal ends.
        failure: Option<Arc<ChildFailure>>,
    },
    /// The supervisor decided to restart the child, and why.
    RestartScheduled {
        /// The delay before the start.
        delay: Duration,
        /// The rule that fired.
        rule: Rule,
        /// The supervisor's intensity counter at that moment.
        intensity: Option<WindowCount>,
        /// The child's budget counter at that moment.
        budget: Option<WindowCount>,
        /// How the delay was drawn.
        backoff: Option<BackoffDraw>,
        /// Siblings stopped and restarted with it (strategy and dependents).
        affected: Vec<ChildId>,
    },
    /// The supervisor asked the incarnation to stop.
    StopRequested {
        /// Why.
        reason: StopReason,
    },
    /// The incarnation is gone after a stop.
    Stopped {
        /// How it ended.
        outcome: StopOutcome,
        /// How long the stop took.
        took: Duration,
    },
    /// The child was quarantined: it stays down while its siblings go on.
    Quarantined {
        /// When it is tried again by itself, if ever.
        retry_after: Option<Duration>,
    },
    /// The child's liveness deadline passed without a heartbeat.
    LivenessMissed {
        /// The deadline.
        deadline: Duration,
    },
    /// The child was removed from its supervisor.
    Removed,
    /// A child was added at run time.
    Added,
    /// The supervisor gave up: it stops its children and fails, and its
    /// parent decides.
    Escalated {
        /// Why.
        reason: String,
    },
    /// An operator's command was carried out.
    Command {
        /// The command (`restart`, `terminate`, ...).
        command: &'static str,
        /// The reason given with it.
        reason: Option<String>,
    },
    /// The supervisor began stopping all its children.
    ShutdownBegun {
        /// Why (`requested`, `escalated`, `auto_shutdown`, `signal`).
        cause: &'static str,
    },
    /// The supervisor stopped all its children and ended.
    ShutdownCompleted {
        /// How long it took.
        took: Duration,
        /// The report, for the root only.
        report: Option<Arc<ShutdownReport>>,
    },
}

impl EventKind {
    /// The snake_case name of the kind (`started`, `exited`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::Ready => "ready",
            Self::Exited { .. } => "exited",
            Self::RestartScheduled { .. } => "restart_scheduled",
            Self::StopRequested { .. } => "stop_requested",
            Self::Stopped { .. } => "stopped",
            Self::Quarantined { .. } => "quarantined",
            Self::LivenessMissed { .. } => "liveness_missed",
            Self::Removed => "removed",
            Self::Added => "added",
            Self::Escalated { .. } => "escalated",
            Self::Command { .. } => "command",
            Self::ShutdownBegun { .. } => "shutdown_begun",
            Self::ShutdownCompleted { .. } => "shutdown_completed",
        }
    }
}

/// A synchronous consumer of events, called on the supervisor's own task
/// right after each step. Keep it cheap and non-blocking (update a counter,
/// push to a ring buffer); slow work belongs behind a
/// [`subscribe`](crate::RunningTree::subscribe) receiver.
pub trait Observer: Send + Sync + 'static {
    /// Called once per event, in order, for every node of the tree.
    fn on_event(&self, event: &Event);
}

/// Where every node of one tree sends its events.
#[derive(Debug)]
pub(crate) struct Bus {
    tx: broadcast::Sender<Event>,
    observers: Vec<ObserverBox>,
    pub(crate) epoch: Instant,
}

#[derive(Clone)]
pub(crate) struct ObserverBox(pub(crate) Arc<dyn Observer>);

impl std::fmt::Debug for ObserverBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl Bus {
    pub(crate) fn new(capacity: usize, observers: Vec<ObserverBox>, epoch: Instant) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            observers,
            epoch,
        }
    }

    /// Whether anyone listens: events are not even built otherwise.
    pub(crate) fn is_active(&self) -> bool {
        !self.observers.is_empty() || self.tx.receiver_count() > 0
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Delivers an event built by `make`, if anyone listens.
    pub(crate) fn emit(
        &self,
        path: &Arc<ChildPath>,
        generation: Option<Generation>,
        make: impl FnOnce() -> EventKind,
    ) {
        if !self.is_active() {
            return;
        }
        let event = Event {
            path: path.clone(),
            generation,
            elapsed: Instant::now().saturating_duration_since(self.epoch),
            kind: make(),
        };
        for o in &self.observers {
            // A panicking observer must not take the supervisor down with it.
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                o.0.on_event(&event);
            }));
            if delivered.is_err() {
                tracing::error!(path = %event.path, event = event.kind.name(), "an event observer panicked");
            }
        }
        // A full buffer drops the oldest event for slow receivers (who are
        // told how many they missed); the sender never waits.
        let _ = self.tx.send(event);
    }
}
