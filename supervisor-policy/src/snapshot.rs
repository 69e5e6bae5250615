//! Read-only queries on an [`Engine`]: ids and keys, each child's status,
//! the readiness roll-up.

use serde::Serialize;
use supervisor_spec::{ChildId, Restart};

use crate::child::{Group, State};
use crate::engine::{Engine, Phase, id_of};
use crate::{ChildKey, ExitKind, Generation, SupervisorExit, Time};

/// A child's state as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChildStatus {
    /// Waiting to start: until `not_before` (backoff), for siblings to stop,
    /// or for its dependencies to be ready.
    Waiting {
        /// The end of its backoff delay.
        not_before: Time,
    },
    /// Running; `ready` once it signalled readiness.
    Running {
        /// The incarnation.
        generation: Generation,
        /// When it started.
        since: Time,
        /// Whether it is ready.
        ready: bool,
    },
    /// Being stopped.
    Stopping {
        /// The incarnation.
        generation: Generation,
    },
    /// Down: never started, ended and not restarted, or terminated.
    Stopped,
    /// Down by budget or command; retried at `retry_at`, if set.
    Quarantined {
        /// When it is tried again by itself.
        retry_at: Option<Time>,
    },
    /// Down by command until resumed.
    Paused,
}

impl Engine {
    /// The key of the child with `id`.
    pub fn key(&self, id: &str) -> Option<ChildKey> {
        let children = &self.children;
        self.by_id().get(id, |k| id_of(children, k))
    }

    /// The id of child `key`.
    pub fn id(&self, key: ChildKey) -> Option<&ChildId> {
        self.slot(key).map(|c| &c.id)
    }

    /// The children's keys in start order.
    ///
    /// Right after [`Engine::new`] that is the spec's order: `keys()[i]` is
    /// the key of the spec's `children[i]`, so a caller walking the spec can
    /// pair children with keys without looking each one up by id.
    pub fn keys(&self) -> &[ChildKey] {
        &self.order
    }

    /// Child `key`'s status.
    pub fn status(&self, key: ChildKey) -> Option<ChildStatus> {
        let c = self.slot(key)?;
        Some(match c.state {
            State::Idle => ChildStatus::Stopped,
            State::Waiting { not_before, .. } => ChildStatus::Waiting { not_before },
            State::Running {
                generation,
                since,
                ready,
                ..
            } => ChildStatus::Running {
                generation,
                since,
                ready,
            },
            State::StopQueued { generation, .. } | State::Stopping { generation, .. } => {
                ChildStatus::Stopping { generation }
            }
            State::Quarantined { retry_at } => ChildStatus::Quarantined { retry_at },
            State::Paused => ChildStatus::Paused,
        })
    }

    /// Whether incarnation `generation` of child `key` runs and is neither
    /// queued for a stop nor being stopped: the one state in which its
    /// readiness counts.
    #[inline]
    pub fn is_running(&self, key: ChildKey, generation: crate::Generation) -> bool {
        matches!(
            self.slot(key).map(|c| &c.state),
            Some(State::Running { generation: g, .. }) if *g == generation
        )
    }

    /// Restarts decided for child `key` so far.
    pub fn restarts(&self, key: ChildKey) -> u64 {
        self.slot(key).map_or(0, |c| c.restarts)
    }

    /// How child `key`'s last incarnation ended, if one did.
    pub fn last_exit(&self, key: ChildKey) -> Option<ExitKind> {
        self.slot(key).and_then(|c| c.last_exit)
    }

    /// Whether every child that is not temporary is ready (or has completed
    /// its work): the supervisor's own readiness.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Running) && self.unready == 0
    }

    /// How many children are in a change whose end their tasks will tell:
    /// being stopped, or running and not ready yet. A runtime can batch
    /// its work while more than one is.
    pub fn in_flux(&self) -> usize {
        self.stopping + self.starting
    }

    /// Whether shutdown (requested, escalation or auto-shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        matches!(self.phase, Phase::ShuttingDown(_) | Phase::Exited(_))
    }

    /// How the supervisor ended, once every child is down after shutdown.
    pub fn exit(&self) -> Option<SupervisorExit> {
        match self.phase {
            Phase::Exited(exit) => Some(exit),
            _ => None,
        }
    }

    /// Children with an incarnation alive.
    pub fn alive(&self) -> usize {
        self.alive
    }

    /// Recounts what the engine keeps count of as its children change
    /// state (alive, stopping, running and not ready, not satisfied), and
    /// checks the sets of waiting and stop-queued children and the
    /// deadline heap against their states, and the free slots against the
    /// empty ones; names the first that differs. For tests: every state change
    /// keeps them in step, and a property test checks that they do after
    /// every input.
    #[doc(hidden)]
    pub fn check_counts(&self) -> Result<(), String> {
        let children = || self.children.iter().flatten();
        let recount = [
            (
                "alive",
                self.alive,
                children().filter(|c| c.state.is_alive()).count(),
            ),
            (
                "stopping",
                self.stopping,
                children()
                    .filter(|c| matches!(c.state, State::Stopping { .. }))
                    .count(),
            ),
            (
                "starting",
                self.starting,
                children()
                    .filter(|c| matches!(c.state, State::Running { ready: false, .. }))
                    .count(),
            ),
            (
                "unready",
                self.unready,
                children()
                    .filter(|c| c.restart != Restart::Temporary && !c.is_satisfied())
                    .count(),
            ),
        ];
        if let Some((what, kept, counted)) = recount
            .into_iter()
            .find(|(_, kept, counted)| kept != counted)
        {
            return Err(format!("{what}: kept {kept}, counted {counted}"));
        }
        // Every slot holds a child in the start order, or is free to reuse.
        let free = self.children.iter().filter(|c| c.is_none()).count();
        if (self.reuse_keys && free != self.free.len())
            || self.order.len() + free != self.children.len()
            || self.free.iter().any(|k| self.slot(*k).is_some())
        {
            return Err(format!(
                "slots: {} in all, {} in the start order, {free} empty, {} free to reuse",
                self.children.len(),
                self.order.len(),
                self.free.len()
            ));
        }
        // The indices, by start position: `waiting` holds exactly the
        // waiting children not parked behind their group, `stop_queue`
        // exactly those queued for a stop.
        let parked = |key: ChildKey, group: Option<Group>| {
            group.is_some_and(|g| self.parked.get(&g).is_some_and(|keys| keys.contains(&key)))
        };
        let (mut waiting, mut queued) = (0, 0);
        for (i, child) in self.children.iter().enumerate() {
            let Some(child) = child else { continue };
            let key = ChildKey(i as u32);
            let should_wait = match child.state {
                State::Waiting { group, .. } => !parked(key, group),
                _ => false,
            };
            let should_queue = matches!(child.state, State::StopQueued { .. });
            let (waits, queues) = (
                self.waiting.contains(child.pos),
                self.stop_queue.contains(child.pos),
            );
            if waits != should_wait || queues != should_queue {
                return Err(format!(
                    "indices: {} (position {}) is {:?}, in waiting {waits}, in stop_queue {queues}",
                    child.id, child.pos, child.state
                ));
            }
            waiting += usize::from(waits);
            queued += usize::from(queues);
        }
        if waiting != self.waiting.len() || queued != self.stop_queue.len() {
            return Err(format!(
                "index sizes: waiting {} for {waiting} members, stop_queue {} for {queued}",
                self.waiting.len(),
                self.stop_queue.len()
            ));
        }
        // Every deadline still to come is in the heap (stale entries may
        // linger there; `clean_deadlines` drops them when they surface).
        for (i, child) in self.children.iter().enumerate() {
            let Some(t) = child.as_ref().and_then(|c| c.deadline()) else {
                continue;
            };
            let key = ChildKey(i as u32);
            if t > self.now && !self.deadlines.iter().any(|e| e.0 == (t, key)) {
                return Err(format!("deadlines: {key:?}'s {t:?} is not in the heap"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use supervisor_spec::{ChildSpec, SupervisorSpec};

    use crate::Engine;

    #[test]
    fn keys_follow_the_spec_order_right_after_new() {
        let ids = ["db", "cache", "api", "worker"];
        let spec = SupervisorSpec::new("root")
            .unwrap()
            .with_children(ids.map(|id| ChildSpec::worker(id).unwrap()))
            .validate()
            .unwrap();
        let engine = Engine::new(&spec, 0);
        let by_keys: Vec<&str> = engine
            .keys()
            .iter()
            .map(|&k| engine.id(k).unwrap().as_str())
            .collect();
        assert_eq!(by_keys, ids);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(engine.key(id), Some(engine.keys()[i]));
        }
    }
}
