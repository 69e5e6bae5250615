//! Stopping children: cooperative cancellation, then abort, then detach;
//! the shutdown budget; aborting everything at once.

use supervisor_policy::{ChildKey, ExitKind, Generation, Input};
use supervisor_spec::Shutdown;

use super::{Joined, KidKind, Node, ShutdownState, Stamp, Timer, nanos};
use crate::event::EventKind;
use crate::{StopOutcome, StopReason};

impl Node {
    /// Asks an incarnation to stop and arms the timers of its shutdown policy.
    pub(crate) fn stop_child(&mut self, key: ChildKey, generation: Generation, reason: StopReason) {
        let abort_all = self.shutdown.as_ref().is_some_and(|s| s.abort_all);
        let now = self.since_epoch();
        let stamp = self.stamp();
        if self.is_reaping(key) {
            // It ended already; its sub-tasks are being waited for.
            return;
        }
        let Some(shutdown) = self.kid(key).map(|k| self.policy(k).shutdown) else {
            return;
        };
        let Some(kid) = self.kid_mut(key) else { return };
        let Some(live) = kid.live.as_mut().filter(|l| l.generation == generation) else {
            return;
        };
        if live.stopping().is_some() {
            // Already being stopped (an abort-all got there first).
            return;
        }
        if !abort_all && live.shared.is_cancelled() {
            // Asked already, by the child before it in a shutdown's chain.
            self.chained_stop(key, generation, reason, shutdown);
            return;
        }
        let policy = if abort_all {
            Shutdown::BrutalKill {
                abort_wait: shutdown
                    .abort_wait()
                    .unwrap_or(Shutdown::DEFAULT_ABORT_WAIT),
            }
        } else {
            shutdown
        };
        // Since the epoch, as the shared state keeps it.
        let deadline = match policy {
            Shutdown::Graceful { timeout, .. } => Some(now.saturating_add(timeout)),
            _ => None,
        };
        if !live.shared.cancel(reason.clone(), deadline) && live.shared.has_ended() {
            // It ended on its own before it could be asked (its exit was
            // taken in the same batch as the one that decided this stop,
            // after it, or is in a message): not a stop, and its exit
            // says how it ended.
            return;
        }
        live.set_stopping(stamp, false);
        self.emit_kid(key, Some(generation), || EventKind::StopRequested {
            reason,
        });
        match policy {
            Shutdown::Graceful { timeout, .. } => {
                self.timer_after(timeout, Timer::Abort(key, generation));
                self.start_chain(key, generation);
            }
            Shutdown::BrutalKill { .. } => self.abort_child(key, generation),
            _ => {}
        }
    }

    /// The engine's stop of a child the chain asked to stop already: the
    /// stop is recorded as made when the child before it ended, and its
    /// timeout runs from then (unless it has ended too).
    fn chained_stop(
        &mut self,
        key: ChildKey,
        generation: Generation,
        reason: StopReason,
        shutdown: Shutdown,
    ) {
        let since = self.chain_from().unwrap_or_else(|| self.since_epoch());
        let epoch = self.bus.epoch;
        let Some(live) = self
            .kid_mut(key)
            .and_then(|k| k.live.as_mut())
            .filter(|l| l.generation == generation)
        else {
            return;
        };
        live.set_stopping(Stamp(nanos(since)), false);
        let ended = live.shared.has_clean_exit();
        if let Some(kid) = self.kid(key) {
            self.bus
                .emit_child_at(&self.path, &kid.id, Some(generation), Some(since), || {
                    EventKind::StopRequested { reason }
                });
        }
        if let (false, Shutdown::Graceful { timeout, .. }) = (ended, shutdown) {
            self.timer_at(epoch + since + timeout, Timer::Abort(key, generation));
        }
    }

    /// Aborts an incarnation now and arms its abort wait. Threads cannot be
    /// aborted; nested supervisors abort their own children.
    pub(crate) fn abort_child(&mut self, key: ChildKey, generation: Generation) {
        let stamp = self.stamp();
        if self.is_reaping(key) {
            // It ended already; its sub-tasks are aborted and waited for
            // within its abort wait.
            return;
        }
        let Some(wait) = self.kid(key).map(|k| self.policy(k).shutdown.abort_wait()) else {
            return;
        };
        let Some(kid) = self.kid_mut(key) else { return };
        let nested = matches!(kid.kind, KidKind::Supervisor(_));
        let thread = kid.is_thread();
        let Some(live) = kid.live.as_mut().filter(|l| l.generation == generation) else {
            return;
        };
        if live.stopping().is_some_and(|(_, aborted)| aborted) || live.shared.has_ended() {
            // Aborted already; or it ended (its exit is on its way) and an
            // abort would change nothing but how its end is reported.
            return;
        }
        let announce = live.stopping().is_none().then_some(live.generation);
        let since = live.stopping().map_or(stamp, |(t, _)| t);
        live.set_stopping(since, true);
        if !live.shared.is_cancelled() && !nested {
            live.shared.cancel(StopReason::Shutdown, None);
        }
        if let Some(generation) = announce {
            // Aborted without a stop asked first (budget out, parent's
            // abort): every stop is still announced.
            self.emit_kid(key, Some(generation), || EventKind::StopRequested {
                reason: StopReason::Shutdown,
            });
        }
        let Some(live) = self.kid_mut(key).and_then(|k| k.live.as_mut()) else {
            return;
        };
        if nested {
            // It aborts its children and ends within their abort waits.
            live.shared.abort();
            return;
        }
        if !thread {
            live.handle.abort();
        }
        let wait = wait.unwrap_or(Shutdown::DEFAULT_ABORT_WAIT);
        self.timer_after(wait, Timer::Detach(key, generation));
    }

    pub(crate) fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Abort(key, generation) => self.abort_child(key, generation),
            Timer::Detach(key, generation) => self.detach(key, generation),
            Timer::Liveness(key, generation) => self.check_liveness(key, generation),
            Timer::Budget => self.abort_all("budget"),
            // The wake-up was all it was for (see `Node::run`).
            Timer::Chain => {}
        }
    }

    /// Gives up on an incarnation that did not end after its abort wait: it
    /// is reported as detached and its supervisor goes on without it.
    fn detach(&mut self, key: ChildKey, generation: Generation) {
        let shutting_down = self.shutdown.is_some();
        let now = self.stamp();
        if self.is_reaping(key) {
            // It ended; the wait for its sub-tasks has a deadline of its own.
            return;
        }
        let live = self
            .kid(key)
            .and_then(|k| k.live.as_ref())
            .filter(|l| l.generation == generation);
        if live.is_some_and(|l| l.shared.has_ended()) {
            // It ended in time, and its end (on the board or in a message)
            // is not taken in yet: that end says how it went.
            return;
        }
        if live.is_some() {
            // Its readiness, if it said so, comes before its end.
            self.catch_up_ready(key);
        }
        let Some(kid) = self.kids.get_mut(key.index()).and_then(Option::as_mut) else {
            return;
        };
        let Some(live) = kid.live.take_if(|l| l.generation == generation) else {
            return;
        };
        self.ended_with_timers += 1;
        live.handle.abort();
        kid.subtasks = u32::try_from(live.shared.abort_subtasks()).unwrap_or(u32::MAX);
        kid.stopped_by_us = true;
        let took = live
            .stopping()
            .map_or_else(Default::default, |(t, _)| now.since(t));
        let id = kid.id.clone();
        kid.last_exit = Some(ExitKind::Stopped);
        if shutting_down {
            kid.set_outcome(StopOutcome::Detached, took.into());
        }
        // A late end of this task is ignored from now on: no incarnation
        // of that generation is live any more.
        self.bus
            .emit_child(&self.path, &id, Some(generation), || EventKind::Stopped {
                outcome: StopOutcome::Detached,
                took,
            });
        tracing::warn!(child = %Joined(&self.path, &id), generation = generation.0, "child detached: it did not end after being aborted");
        self.input(Input::Exited {
            child: key,
            generation,
            exit: ExitKind::Stopped,
        });
    }

    /// Starts this supervisor's shutdown (the engine stops the children).
    pub(crate) fn begin_shutdown(&mut self, cause: &'static str) {
        self.note_shutdown(cause);
        self.input(Input::Shutdown);
    }

    /// Records that shutdown began and arms the overall budget.
    pub(crate) fn note_shutdown(&mut self, cause: &'static str) {
        if self.shutdown.is_some() {
            return;
        }
        let now = self.clock();
        self.shutdown = Some(ShutdownState {
            since: now,
            abort_all: false,
            chain: Default::default(),
        });
        // Children already down are accounted for now.
        for kid in self.kids.iter_mut().flatten() {
            if kid.live.is_none() {
                let outcome = if kid.last_exit == Some(ExitKind::Completed) {
                    StopOutcome::Completed
                } else {
                    StopOutcome::AlreadyStopped
                };
                kid.set_outcome(outcome, Default::default());
            }
        }
        let path = self.path.clone();
        self.bus
            .emit(&path, None, || EventKind::ShutdownBegun { cause });
        if let Some(budget) = self.header.shutdown {
            self.timer_after(budget, Timer::Budget);
        }
        if self.path.len() == 1 {
            // The root marks its own state as asked to stop, whatever began
            // its shutdown (a request, an escalation, auto_shutdown): the
            // handles read it to tell "the tree shuts down" from one
            // nested supervisor stopping. A no-op if a request began it.
            self.me.cancel(crate::StopReason::Shutdown, None);
        }
    }

    /// Stops every child at once: the shutdown budget ran out, or the
    /// parent (or a second signal) asked for an immediate stop.
    pub(crate) fn abort_all(&mut self, cause: &'static str) {
        if self.shutdown.is_none() {
            self.begin_shutdown(cause);
        }
        if let Some(s) = self.shutdown.as_mut() {
            if s.abort_all {
                return;
            }
            s.abort_all = true;
        }
        let alive: Vec<(ChildKey, Generation)> = self
            .kids
            .iter()
            .flatten()
            .filter_map(|k| Some((k.key, k.live.as_ref()?.generation)))
            .collect();
        for (key, generation) in alive {
            self.abort_child(key, generation);
        }
    }
}
