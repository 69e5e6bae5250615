//! The engine's record of one child: its policies, its state, its counters.

use serde::Serialize;
use supervisor_spec::{Backoff, ChildId, ChildSpec, OnExhausted, Readiness, Restart};

use crate::rng::Rng;
use crate::window::Window;
use crate::{ExitKind, StopReason, Time};

/// Identifies a child within one engine: stable for the child's life (its
/// position in the start order may change when siblings are deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChildKey(pub(crate) u32);

impl ChildKey {
    /// The key as a number (for maps and logs).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Numbers one incarnation of a child: unique within an engine and
/// increasing, so an input about an older incarnation is recognised and
/// ignored (it can never stop, restart or resurrect a newer one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Generation(pub u64);

/// What the engine plans for a child once its current incarnation has ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Then {
    /// Start again at `not_before`, once its group has stopped.
    Restart { not_before: Time },
    /// Stay down (terminated, or temporary, or shutting down).
    Idle,
    /// Stay down as quarantined.
    Quarantine,
    /// Stay down as paused.
    Pause,
    /// The incarnation failed this way while running (readiness, liveness):
    /// judge the end by the restart policy as if it had exited so.
    Judge(ExitKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum State {
    /// Down with nothing planned.
    Idle,
    /// To be started at `not_before`, once `group` has stopped and every
    /// dependency is ready.
    Waiting {
        not_before: Time,
        group: Option<u32>,
    },
    /// An incarnation is alive.
    Running {
        generation: crate::Generation,
        since: Time,
        ready_at: Option<Time>,
        ready_deadline: Option<Time>,
    },
    /// An incarnation is alive and will be stopped when its turn comes.
    StopQueued {
        generation: crate::Generation,
        reason: StopReason,
        then: Then,
        group: Option<u32>,
        ready_at: Option<Time>,
    },
    /// A stop was asked for; waiting for the exit.
    Stopping {
        generation: crate::Generation,
        then: Then,
        group: Option<u32>,
        ready_at: Option<Time>,
    },
    /// Down after its budget ran out or by command.
    Quarantined { retry_at: Option<Time> },
    /// Down by command until resumed.
    Paused,
}

impl State {
    pub(crate) fn generation(&self) -> Option<crate::Generation> {
        match *self {
            Self::Running { generation, .. }
            | Self::StopQueued { generation, .. }
            | Self::Stopping { generation, .. } => Some(generation),
            _ => None,
        }
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.generation().is_some()
    }
}

#[derive(Debug)]
pub(crate) struct Child {
    pub(crate) id: ChildId,
    pub(crate) restart: Restart,
    pub(crate) significant: bool,
    pub(crate) backoff: Backoff,
    pub(crate) readiness: Readiness,
    pub(crate) on_exhausted: OnExhausted,
    /// Boxed: most children have no budget, and the slot is per child.
    pub(crate) budget: Option<Box<Window>>,
    /// Keys of the siblings this child depends on.
    pub(crate) deps: Vec<ChildKey>,
    /// Keys of the siblings that depend on this child.
    pub(crate) dependents: Vec<ChildKey>,
    /// Position in the start order.
    pub(crate) pos: usize,
    pub(crate) state: State,
    /// Restart attempts since the child was last stable.
    pub(crate) attempt: u32,
    pub(crate) rng: Rng,
    /// Restarts decided so far (for snapshots).
    pub(crate) restarts: u64,
    pub(crate) last_exit: Option<ExitKind>,
    /// When the last incarnation became ready, kept after it ended to decide
    /// whether the backoff resets.
    pub(crate) last_ready_at: Option<Time>,
    /// Ended by itself and was not restarted (OTP's significant-child rule,
    /// and "completed its work" for dependents and readiness).
    pub(crate) ended: bool,
}

impl Child {
    pub(crate) fn new(spec: &ChildSpec, pos: usize, seed: u64) -> Self {
        let (budget, on_exhausted) = match spec.budget {
            Some(b) => (
                Some(Box::new(Window::new(b.max_restarts, b.window))),
                b.on_exhausted,
            ),
            None => (None, OnExhausted::Escalate),
        };
        Self {
            id: spec.id.clone(),
            restart: spec.restart,
            significant: spec.significant,
            backoff: spec.backoff,
            readiness: spec.readiness,
            on_exhausted,
            budget,
            deps: Vec::new(),
            dependents: Vec::new(),
            pos,
            state: State::Idle,
            attempt: 0,
            rng: Rng::for_child(seed, spec.id.as_str()),
            restarts: 0,
            last_exit: None,
            last_ready_at: None,
            ended: false,
        }
    }

    /// Ready, or done for good after completing normally: what dependents
    /// and the readiness roll-up wait for.
    pub(crate) fn is_satisfied(&self) -> bool {
        match self.state {
            State::Running { ready_at, .. } => ready_at.is_some(),
            State::Idle => self.ended && self.last_exit == Some(ExitKind::Completed),
            _ => false,
        }
    }

    /// The deadline the engine must wake up for, if any.
    pub(crate) fn deadline(&self) -> Option<Time> {
        match self.state {
            State::Waiting { not_before, .. } => Some(not_before),
            State::Running {
                ready_at: None,
                ready_deadline,
                ..
            } => ready_deadline,
            State::Quarantined { retry_at } => retry_at,
            _ => None,
        }
    }
}
