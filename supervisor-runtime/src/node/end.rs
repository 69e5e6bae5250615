//! A child's task ended: classify it, report it, tell the engine. And the
//! end of the node itself, with its shutdown report.

use std::sync::Arc;

use supervisor_policy::{ExitKind, Input, SupervisorExit};
use tokio::task::JoinError;

use super::{Node, NodeEnd, Output};
use crate::event::EventKind;
use crate::{ChildFailure, ShutdownReport, StopOutcome};

impl Node {
    pub(crate) fn on_join(&mut self, joined: Result<(tokio::task::Id, Output), JoinError>) {
        let (task, result) = match joined {
            Ok((id, output)) => (id, Ok(output)),
            Err(e) => (e.id(), Err(e)),
        };
        // Unknown: a detached task that ended late.
        let Some(key) = self.ids.remove(&task) else {
            return;
        };
        let shutting_down = self.shutdown.is_some();
        let Some(kid) = self.kid_mut(key) else { return };
        let Some(live) = kid.live.take() else { return };
        let stopping = live.stopping;
        // Sub-tasks end with their incarnation: counted if the task ended
        // them itself, aborted here if it was aborted or panicked.
        let mut subtasks = live.shared.abort_subtasks();
        let (exit, failure, nested) = match result {
            Ok(Output::Worker(Ok(()), left)) => {
                subtasks += left;
                (ExitKind::Completed, None, None)
            }
            Ok(Output::Worker(Err((source, message)), left)) => {
                subtasks += left;
                (
                    ExitKind::Failed,
                    Some(ChildFailure::Error {
                        source: source.into(),
                        message,
                    }),
                    None,
                )
            }
            Ok(Output::Panicked(message)) => (
                ExitKind::Panicked,
                Some(ChildFailure::Panicked { message }),
                None,
            ),
            Ok(Output::Nested(end)) => {
                let failure = end.exit.is_abnormal().then(|| ChildFailure::Escalated {
                    reason: end.reason.clone().unwrap_or_default(),
                });
                let exit = if failure.is_some() {
                    ExitKind::Failed
                } else {
                    ExitKind::Completed
                };
                (exit, failure, Some(end.report))
            }
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = super::spawn::panic_message(&*payload);
                // A payload whose Drop panics must not take the supervisor down.
                crate::error::drop_quietly(payload);
                (
                    ExitKind::Panicked,
                    Some(ChildFailure::Panicked { message }),
                    None,
                )
            }
            // Cancelled: only we abort tasks. A task aborted while ending
            // its sub-tasks had already returned: report what it returned.
            Err(_) => match live.shared.take_result() {
                Some(Ok(())) => (ExitKind::Completed, None, None),
                Some(Err((source, message))) => (
                    ExitKind::Failed,
                    Some(ChildFailure::Error {
                        source: source.into(),
                        message,
                    }),
                    None,
                ),
                None => (ExitKind::Stopped, None, None),
            },
        };
        // What the stop looked like, if one was asked for.
        let outcome = match (stopping, exit) {
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
        let took = stopping.map_or_else(Default::default, |(t, _)| t.elapsed());
        let failure = failure.map(Arc::new);
        kid.last_exit = Some(exit);
        if let Some(f) = &failure {
            kid.last_failure = Some(f.clone());
        }
        kid.inbox = None;
        kid.subtasks = subtasks;
        kid.stopped_by_us = stopping.is_some();
        if let Some(report) = nested {
            kid.nested_report = Some(Box::new(report));
        }
        if shutting_down {
            kid.outcome = Some((outcome, took));
        }
        let path = kid.path.clone();
        let generation = live.generation;
        if let Some(f) = &failure {
            tracing::warn!(child = %path, generation = generation.0, error = %f.chain(), "child failed");
        }
        self.bus
            .emit(&path, Some(generation), || EventKind::Exited {
                exit,
                failure: failure.clone(),
            });
        if stopping.is_some() {
            self.bus
                .emit(&path, Some(generation), || EventKind::Stopped {
                    outcome,
                    took,
                });
        }
        self.input(Input::Exited {
            child: key,
            generation,
            exit,
        });
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
        let mut children = Vec::new();
        for &key in self.engine.keys() {
            let Some(kid) = self.kids.get_mut(key.index()).and_then(Option::as_mut) else {
                continue;
            };
            let (outcome, took) = kid
                .outcome
                .unwrap_or((StopOutcome::AlreadyStopped, Default::default()));
            children.push(ShutdownReport {
                path: (*kid.path).clone(),
                kind: kid.kind.name(),
                outcome,
                last_exit: kid.last_exit,
                last_error: kid.last_failure.as_ref().map(|f| f.chain()),
                took,
                subtasks: kid.subtasks,
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
            path: (*self.path).clone(),
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
