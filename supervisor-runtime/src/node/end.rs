//! A child's task ended: classify it, report it, tell the engine. And the
//! end of the node itself, with its shutdown report.

use std::sync::Arc;

use supervisor_policy::{ChildKey, ExitKind, Generation, Input, SupervisorExit};
use supervisor_spec::{Shutdown, ShutdownOrder};
use tokio::task::JoinSet;

use super::{Joined, Node, NodeEnd, Output, Stamp, nanos};
use crate::context::{Shared, spawn_reporting};
use crate::event::EventKind;
use crate::{ChildFailure, ShutdownReport, StopOutcome};

/// How an incarnation ended, as far as its task told.
pub(crate) struct Ended {
    exit: ExitKind,
    failure: Option<ChildFailure>,
    /// Boxed: few children are supervisors, and an `Ended` is moved
    /// around on every exit.
    nested: Option<Box<ShutdownReport>>,
    /// Sub-tasks still running when the incarnation ended (all aborted).
    subtasks: usize,
    /// Of those, how many outlived their abort wait.
    left: usize,
    /// When the supervisor began to end the sub-tasks it left (see `reap`).
    reaped_since: Option<Stamp>,
}

impl Node {
    /// An incarnation's task ended (or the reaper of its sub-tasks did).
    pub(crate) fn on_exit(&mut self, key: ChildKey, generation: Generation, output: Output) {
        // None, or another generation: a detached task that ended late.
        if self
            .kid(key)
            .and_then(|k| k.live.as_ref())
            .is_none_or(|l| l.generation != generation)
        {
            return;
        }
        // Its readiness (a bit on the board the loop may not have taken
        // yet) comes before its exit.
        self.catch_up_ready(key);
        let ended = if !self.reaping.is_empty()
            && let Some(ended) = self.reaping.remove(&key)
        {
            // The sub-tasks of the ended incarnation are gone (or given up on).
            let mut ended = *ended;
            if let Output::Reaped { total, left } = output {
                // Some may have ended between the task's end and the reap.
                ended.subtasks = ended.subtasks.max(total);
                ended.left = left;
            }
            ended
        } else {
            let Some(live) = self.kid(key).and_then(|k| k.live.as_ref()) else {
                return;
            };
            // Sub-tasks are left running by a task that ended with some (it
            // says how many) or was aborted: abort them and wait for them
            // before the incarnation counts as ended, so its successor never
            // runs next to them and a shutdown never returns with them
            // alive.
            let left_running = matches!(
                output,
                Output::Aborted | Output::Worker(_, 1..) | Output::Panicked(_, 1..)
            );
            let ended = classify(output, &live.shared);
            if left_running && let Some(set) = live.shared.take_subtasks() {
                self.reap(key, set, ended);
                return;
            }
            ended
        };
        self.conclude(key, ended);
    }

    /// Aborts the sub-tasks an ended incarnation left and waits for them,
    /// in a task of its own, for at most the child's abort wait (one that
    /// blocks its thread cannot be waited for); `on_exit` concludes the
    /// incarnation when it reports.
    fn reap(&mut self, key: ChildKey, mut set: JoinSet<()>, ended: Ended) {
        let Some(shutdown) = self.kid(key).map(|k| self.policy(k).shutdown) else {
            return;
        };
        let wait = shutdown
            .abort_wait()
            .unwrap_or(Shutdown::DEFAULT_ABORT_WAIT);
        let Some(kid) = self.kid_mut(key) else { return };
        let Some(live) = kid.live.as_mut() else {
            return;
        };
        live.handle = spawn_reporting(live.shared.clone(), async move {
            let total = set.len();
            set.abort_all();
            let drained = async {
                while let Some(joined) = set.join_next().await {
                    crate::context::ended(joined);
                }
            };
            let _ = tokio::time::timeout(wait, drained).await;
            // Dropping the set leaves those still blocked to end on their own.
            Output::Reaped {
                total,
                left: set.len(),
            }
        });
        let ended = Ended {
            reaped_since: Some(self.stamp()),
            ..ended
        };
        self.reaping.insert(key, Box::new(ended));
    }

    /// Whether an incarnation has ended and only its sub-tasks are awaited.
    pub(crate) fn is_reaping(&self, key: ChildKey) -> bool {
        !self.reaping.is_empty() && self.reaping.contains_key(&key)
    }

    /// Reports an incarnation's end and tells the engine.
    fn conclude(&mut self, key: ChildKey, ended: Ended) {
        let shutting_down = self.shutdown.is_some();
        // A child of a shutdown's chain ended before the supervisor woke:
        // its end, and its events, are dated when it ended.
        let chained = self.chain_end(key.index());
        let now = chained.map_or_else(|| self.stamp(), |end| Stamp(nanos(end)));
        let liveness = self
            .kid(key)
            .is_some_and(|k| self.policy(k).liveness.is_some());
        let Some(kid) = self.kid_mut(key) else { return };
        let Some(live) = kid.live.take() else { return };
        let stopping = live.stopping();
        let Ended {
            exit,
            failure,
            nested,
            subtasks,
            left,
            reaped_since,
        } = ended;
        // What the stop looked like, if one was asked for.
        let outcome = match (stopping, exit) {
            _ if left > 0 => StopOutcome::Detached,
            (None, ExitKind::Completed) => StopOutcome::Completed,
            (None, _) => StopOutcome::FailedWhileStopping,
            (Some((_, true)), ExitKind::Stopped | ExitKind::Completed) => StopOutcome::Aborted,
            (Some(_), ExitKind::Completed | ExitKind::Stopped) => StopOutcome::Stopped,
            (Some(_), _) => StopOutcome::FailedWhileStopping,
        };
        // A cooperative end after a stop request is the stop we asked for.
        let exit = if stopping.is_some() && exit == ExitKind::Completed {
            ExitKind::Stopped
        } else {
            exit
        };
        // How long its stop took; for sub-tasks left behind by a task that
        // ended by itself, how long they were waited for.
        let took = stopping
            .map(|(t, _)| t)
            .or(reaped_since)
            .map_or_else(Default::default, |t| now.since(t));
        let failure = failure.map(Arc::new);
        kid.last_exit = Some(exit);
        if let Some(f) = &failure {
            kid.last_failure = Some(f.clone());
        }
        kid.set_inbox(None);
        kid.subtasks = u32::try_from(subtasks).unwrap_or(u32::MAX);
        kid.stopped_by_us = stopping.is_some();
        if let Some(report) = nested {
            kid.nested_report = Some(report);
        }
        if shutting_down {
            kid.set_outcome(outcome, took.into());
        }
        let generation = live.generation;
        if let Some(kid) = self.kid(key) {
            let path = Joined(&self.path, &kid.id);
            if let Some(f) = &failure {
                tracing::warn!(child = %path, generation = generation.0, error = %f.chain(), "child failed");
            }
            if left > 0 {
                tracing::warn!(child = %path, generation = generation.0, left, "sub-tasks detached: they did not end after being aborted");
            }
            self.bus
                .emit_child_at(&self.path, &kid.id, Some(generation), chained, || {
                    EventKind::Exited {
                        exit,
                        failure: failure.clone(),
                    }
                });
            if stopping.is_some() || left > 0 {
                self.bus
                    .emit_child_at(&self.path, &kid.id, Some(generation), chained, || {
                        EventKind::Stopped { outcome, took }
                    });
            }
        }
        if stopping.is_some() || liveness {
            // A stop or liveness timer of it may still be pending.
            self.ended_with_timers += 1;
        }
        let exit = Input::Exited {
            child: key,
            generation,
            exit,
        };
        if shutting_down && self.header.shutdown_order == ShutdownOrder::Parallel {
            // During a parallel shutdown an exit only counts down to the
            // node's end: the exits of one turn go to the engine at once.
            // (In sequential order each exit lets the next stop go out, one
            // at a time: there is nothing to gather.)
            self.defer(exit);
        } else {
            self.input(exit);
        }
    }

    /// Every child is down: build the report and end the loop.
    pub(crate) fn finish(&mut self, exit: SupervisorExit) {
        let took = self
            .shutdown
            .as_ref()
            .map_or_else(Default::default, |s| s.since.elapsed());
        let report = self.report(took);
        let path = self.path.clone();
        let is_root = path.len() == 1;
        // The report is copied into the event only when someone listens.
        self.bus.emit(&path, None, || EventKind::ShutdownCompleted {
            took,
            report: is_root.then(|| Arc::new(report.clone())),
        });
        self.ended = Some(NodeEnd {
            exit,
            reason: self.escalation.clone(),
            report,
        });
    }

    fn report(&mut self, took: std::time::Duration) -> ShutdownReport {
        let mut children = Vec::with_capacity(self.engine.keys().len());
        for &key in self.engine.keys() {
            let Some(kid) = self.kids.get_mut(key.index()).and_then(Option::as_mut) else {
                continue;
            };
            let (outcome, took) = kid
                .outcome()
                .unwrap_or((StopOutcome::AlreadyStopped, Default::default()));
            children.push(ShutdownReport {
                path: self.path.join(&kid.id),
                kind: kid.kind.name(),
                outcome,
                last_exit: kid.last_exit,
                last_error: kid.last_failure.as_ref().map(|f| f.chain()),
                took: took.into(),
                subtasks: kid.subtasks as usize,
                children: kid
                    .nested_report
                    .take()
                    .map(|r| r.children)
                    .unwrap_or_default(),
            });
        }
        let outcome = if self.shutdown.as_ref().is_some_and(|s| s.abort_all) {
            StopOutcome::Aborted
        } else {
            StopOutcome::Stopped
        };
        ShutdownReport {
            path: self.path.clone(),
            kind: "supervisor",
            outcome,
            last_exit: None,
            last_error: self.escalation.clone(),
            took,
            subtasks: 0,
            children,
        }
    }
}

/// What a child's task returned, as an incarnation's end.
fn classify(output: Output, shared: &Shared) -> Ended {
    // Sub-tasks end with their incarnation: those it left running are
    // counted here, and ended by `reap`.
    let (exit, failure, nested, subtasks) = match output {
        Output::Worker(Ok(()), left) => (ExitKind::Completed, None, None, left),
        Output::Worker(Err((source, message)), left) => (
            ExitKind::Failed,
            Some(ChildFailure::Error {
                source: source.into(),
                message,
            }),
            None,
            left,
        ),
        Output::Panicked(message, left) => (
            ExitKind::Panicked,
            Some(ChildFailure::Panicked { message }),
            None,
            left,
        ),
        Output::Nested(end) => {
            let failure = end.exit.is_abnormal().then(|| ChildFailure::Escalated {
                reason: end.reason.clone().unwrap_or_default(),
            });
            let exit = if failure.is_some() {
                ExitKind::Failed
            } else {
                ExitKind::Completed
            };
            (exit, failure, Some(Box::new(end.report)), 0)
        }
        // Only a reaper's own task returns this, and it is matched first.
        Output::Reaped { .. } => (ExitKind::Stopped, None, None, 0),
        // Dropped before it ended: only supervisors abort their children's
        // tasks. A panic while its future was dropped is what it did.
        Output::Aborted => match shared.take_panic() {
            Some(message) => (
                ExitKind::Panicked,
                Some(ChildFailure::Panicked { message }),
                None,
                0,
            ),
            None => (ExitKind::Stopped, None, None, 0),
        },
    };
    Ended {
        exit,
        failure,
        nested,
        subtasks,
        left: 0,
        reaped_since: None,
    }
}
