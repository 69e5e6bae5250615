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
    pub path: ChildPath,
    /// The incarnation, for events about one.
    pub generation: Option<Generation>,
    /// When it happened, as time since the tree started. Events are
    /// delivered in the order they happened, as they happen, but for the
    /// stops of a sequential shutdown that the children carry on: those
    /// come when the supervisor catches up, up to about 20 ms later.
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
    /// A nested supervisor is no longer ready: one of its children went down.
    Unready,
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
        /// Who asked, when the caller said (e.g. an HTTP token's label).
        by: Option<String>,
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
            Self::Unready => "unready",
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

impl<F> Observer for F
where
    F: Fn(&Event) + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event) {
        self(event);
    }
}

/// Where every node of one tree sends its events.
#[derive(Debug)]
pub(crate) struct Bus {
    /// Made by the first subscriber: a tree nobody subscribes to never
    /// allocates the channel's buffer (`capacity` slots).
    tx: std::sync::OnceLock<broadcast::Sender<Event>>,
    capacity: usize,
    observers: Vec<ObserverBox>,
    pub(crate) epoch: Instant,
    /// Not about events: the tree's node count, kept here because every
    /// node of the tree holds its bus.
    pub(crate) size: crate::node::TreeSize,
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
        Self {
            tx: std::sync::OnceLock::new(),
            capacity: capacity.max(1),
            observers,
            epoch,
            size: crate::node::TreeSize::default(),
        }
    }

    /// The same bus, counting `nodes` below the tree's root.
    pub(crate) fn with_nodes(mut self, nodes: usize) -> Self {
        self.size = crate::node::TreeSize::new(nodes);
        self
    }

    /// Whether anyone listens: events are not even built otherwise.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        !self.observers.is_empty() || self.tx.get().is_some_and(|tx| tx.receiver_count() > 0)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx
            .get_or_init(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Delivers an event built by `make`, if anyone listens.
    #[inline]
    pub(crate) fn emit(
        &self,
        path: &ChildPath,
        generation: Option<Generation>,
        make: impl FnOnce() -> EventKind,
    ) {
        if self.is_active() {
            self.deliver(path.clone(), generation, None, make());
        }
    }

    /// Delivers an event about the child `id` of the supervisor at
    /// `parent`, if anyone listens; the child's path is built only then.
    ///
    /// Inlined, as `emit` is: with nobody listening, an event then costs
    /// its check alone. A call, and dropping the unused closure, cost about
    /// 30 instructions an event, and a sequential stop emits three a
    /// child.
    #[inline]
    pub(crate) fn emit_child(
        &self,
        parent: &ChildPath,
        id: &ChildId,
        generation: Option<Generation>,
        make: impl FnOnce() -> EventKind,
    ) {
        self.emit_child_at(parent, id, generation, None, make);
    }

    /// [`emit_child`](Self::emit_child) of something that happened at
    /// `at` (time since the epoch), before the supervisor learnt of it (a
    /// shutdown's chain, see `node::chain`), rather than now.
    #[inline]
    pub(crate) fn emit_child_at(
        &self,
        parent: &ChildPath,
        id: &ChildId,
        generation: Option<Generation>,
        at: Option<Duration>,
        make: impl FnOnce() -> EventKind,
    ) {
        if self.is_active() {
            self.deliver(parent.join(id), generation, at, make());
        }
    }

    fn deliver(
        &self,
        path: ChildPath,
        generation: Option<Generation>,
        at: Option<Duration>,
        kind: EventKind,
    ) {
        let elapsed = at.unwrap_or_else(|| Instant::now().saturating_duration_since(self.epoch));
        let event = Event {
            path,
            generation,
            elapsed,
            kind,
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
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(event);
        }
    }
}

impl std::fmt::Display for Event {
    /// One readable line: time since start, node (with its incarnation), and
    /// what happened.
    ///
    /// ```text
    /// [   1.204s] root/ingest#3 exited failed: task returned an error: connection reset
    /// [   1.204s] root/ingest restart in 212ms (restart_transient; intensity 2/5 in 10s; attempt 2)
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(f, "[{secs:>9.3}s] {}", self.path)?;
        if let Some(g) = self.generation {
            write!(f, "#{}", g.0)?;
        }
        match &self.kind {
            EventKind::Started { attempt, restart } => {
                if *restart {
                    write!(f, " restarted (attempt {attempt})")
                } else {
                    write!(f, " started")
                }
            }
            EventKind::Ready => write!(f, " ready"),
            EventKind::Unready => write!(f, " not ready"),
            EventKind::Exited { exit, failure } => {
                write!(f, " exited {}", exit.as_str())?;
                match failure {
                    Some(failure) => write!(f, ": {}", failure.chain()),
                    None => Ok(()),
                }
            }
            EventKind::RestartScheduled {
                delay,
                rule,
                intensity,
                budget,
                backoff,
                affected,
            } => {
                write!(f, " restart in {} ({}", short(*delay), rule.name())?;
                if let Some(i) = intensity {
                    write!(
                        f,
                        "; intensity {}/{} in {}",
                        i.count,
                        i.max,
                        short(i.period)
                    )?;
                }
                if let Some(b) = budget {
                    write!(f, "; budget {}/{} in {}", b.count, b.max, short(b.period))?;
                }
                if let Some(b) = backoff {
                    write!(f, "; attempt {}", b.attempt)?;
                    if b.reset {
                        write!(f, " after reset")?;
                    }
                }
                if !affected.is_empty() {
                    let ids: Vec<&str> = affected.iter().map(|id| id.as_str()).collect();
                    write!(f, "; with {}", ids.join(", "))?;
                }
                write!(f, ")")
            }
            EventKind::StopRequested { reason } => write!(f, " stopping: {reason}"),
            EventKind::Stopped { outcome, took } => {
                write!(f, " {} after {}", outcome.as_str(), short(*took))
            }
            EventKind::Quarantined { retry_after } => match retry_after {
                Some(d) => write!(f, " quarantined; retry in {}", short(*d)),
                None => write!(f, " quarantined until released"),
            },
            EventKind::LivenessMissed { deadline } => {
                write!(f, " missed its liveness deadline of {}", short(*deadline))
            }
            EventKind::Removed => write!(f, " removed"),
            EventKind::Added => write!(f, " added"),
            EventKind::Escalated { reason } => write!(f, " gave up: {reason}"),
            EventKind::Command {
                command,
                reason,
                by,
            } => {
                write!(f, " {command} command")?;
                if let Some(by) = by {
                    write!(f, " by {by}")?;
                }
                match reason {
                    Some(r) => write!(f, ": {r}"),
                    None => Ok(()),
                }
            }
            EventKind::ShutdownBegun { cause } => write!(f, " shutting down ({cause})"),
            EventKind::ShutdownCompleted { took, .. } => {
                write!(f, " shut down in {}", short(*took))
            }
        }
    }
}

/// A duration for people: `0s`, `850µs`, `80ms`, `1.25s`, `59.3s`, `2m 5s`.
fn short(d: Duration) -> String {
    let micros = d.as_micros();
    if micros == 0 {
        "0s".to_owned()
    } else if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{}ms", d.as_millis())
    } else if d.as_secs() < 10 {
        format!("{:.2}s", d.as_secs_f64())
    } else if d.as_secs() < 120 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m {}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
