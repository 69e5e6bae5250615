//! The engine's record of one child: its state, its counters, and which of
//! the engine's shared policies apply to it.

use std::num::NonZeroU32;

use serde::Serialize;
use supervisor_spec::{ChildId, ChildSpec, Restart};

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

/// A child's state.
///
/// # Invariants
///
/// Whether an alive incarnation is ready is a flag, not a time: it became
/// ready at [`Child::last_ready_at`], which only a ready input sets while
/// the child runs (the backoff draw clears it once the child is down), so the
/// time is kept once per child instead of in each state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum State {
    /// Down with nothing planned.
    Idle,
    /// To be started at `not_before`, once `group` has stopped and every
    /// dependency is ready.
    Waiting {
        not_before: Time,
        group: Option<Group>,
    },
    /// An incarnation is alive.
    Running {
        generation: crate::Generation,
        since: Time,
        /// Ready since [`Child::last_ready_at`].
        ready: bool,
        ready_deadline: Option<Time>,
    },
    /// An incarnation is alive and will be stopped when its turn comes.
    StopQueued {
        generation: crate::Generation,
        reason: StopReason,
        then: Then,
        group: Option<Group>,
    },
    /// A stop was asked for; waiting for the exit.
    Stopping {
        generation: crate::Generation,
        then: Then,
        group: Option<Group>,
    },
    /// Down after its budget ran out or by command.
    Quarantined { retry_at: Option<Time> },
    /// Down by command until resumed.
    Paused,
}

/// A restart group: children stopped together, started again once all of
/// them are down. Numbered from 1 (so `Option<Group>` takes 4 bytes); the
/// numbers wrap, skipping 0.
pub(crate) type Group = NonZeroU32;

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

/// The engine's record of one child.
///
/// Kept small (120 bytes on 64-bit targets) because an engine holds one per
/// child: the policies copied from the spec live once per distinct set in
/// the engine's [`Policies`](crate::policy::Policies) table, dependencies and
/// budget (which most children do not have) in one box, and the jitter
/// generator is derived from the seed, the id and `restarts` when drawn.
#[derive(Debug)]
pub(crate) struct Child {
    pub(crate) id: ChildId,
    pub(crate) state: State,
    /// When the last incarnation became ready, kept after it ended to decide
    /// whether the backoff resets.
    pub(crate) last_ready_at: Option<Time>,
    /// Restarts decided so far (for snapshots). Each restart draws one
    /// backoff jitter, so this is also the position in the child's stream.
    pub(crate) restarts: u64,
    /// Boxed: most children have no dependencies, dependents or budget.
    pub(crate) extras: Option<Box<Extras>>,
    /// Position in the start order.
    pub(crate) pos: u32,
    /// Restart attempts since the child was last stable.
    pub(crate) attempt: u32,
    /// Index of its policies in the engine's table.
    pub(crate) policy: u32,
    pub(crate) restart: Restart,
    pub(crate) significant: bool,
    pub(crate) last_exit: Option<ExitKind>,
    /// Ended by itself and was not restarted (OTP's significant-child rule,
    /// and "completed its work" for dependents and readiness).
    pub(crate) ended: bool,
}

/// The parts of a child most children do not have.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// Keys of the siblings this child depends on.
    pub(crate) deps: Vec<ChildKey>,
    /// Keys of the siblings that depend on this child.
    pub(crate) dependents: Vec<ChildKey>,
    /// Restarts counted against the child's own budget.
    pub(crate) budget: Option<Window>,
}

impl Child {
    /// A child in `state`; `policy` is `spec`'s index in the policy table.
    pub(crate) fn new(spec: &ChildSpec, pos: u32, policy: u32, state: State) -> Self {
        let extras = spec.budget.map(|b| {
            Box::new(Extras {
                budget: Some(Window::new(b.max_restarts, b.window)),
                ..Extras::default()
            })
        });
        Self {
            id: spec.id.clone(),
            state,
            last_ready_at: None,
            restarts: 0,
            extras,
            pos,
            attempt: 0,
            policy,
            restart: spec.restart,
            significant: spec.significant,
            last_exit: None,
            ended: false,
        }
    }

    /// Keys of the siblings this child depends on.
    pub(crate) fn deps(&self) -> &[ChildKey] {
        self.extras.as_ref().map_or(&[], |e| &e.deps)
    }

    /// Keys of the siblings that depend on this child.
    pub(crate) fn dependents(&self) -> &[ChildKey] {
        self.extras.as_ref().map_or(&[], |e| &e.dependents)
    }

    /// The extras, allocated on first use.
    pub(crate) fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// The child's own restart counter, if it has a budget.
    pub(crate) fn budget_mut(&mut self) -> Option<&mut Window> {
        self.extras.as_mut().and_then(|e| e.budget.as_mut())
    }

    /// Ready, or done for good after completing normally: what dependents
    /// and the readiness roll-up wait for.
    pub(crate) fn is_satisfied(&self) -> bool {
        match self.state {
            State::Running { ready, .. } => ready,
            State::Idle => self.ended && self.last_exit == Some(ExitKind::Completed),
            _ => false,
        }
    }

    /// The deadline the engine must wake up for, if any.
    pub(crate) fn deadline(&self) -> Option<Time> {
        match self.state {
            State::Waiting { not_before, .. } => Some(not_before),
            State::Running {
                ready: false,
                ready_deadline,
                ..
            } => ready_deadline,
            State::Quarantined { retry_at } => retry_at,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_record_stays_small() {
        // Per child, so it multiplies by thousands; see `benches/README.md`.
        let size = std::mem::size_of::<Child>();
        println!(
            "size_of::<Child>() = {size}, size_of::<State>() = {}",
            std::mem::size_of::<State>()
        );
        assert!(size <= 120, "Child is {size} bytes");
        assert_eq!(std::mem::size_of::<Option<Child>>(), size);
    }
}
