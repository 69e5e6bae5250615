//! Starting an incarnation: an async task, a thread, or a nested supervisor.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use supervisor_policy::{ChildKey, ExitKind, Generation, Input};
use tracing::Instrument;

use super::{Joined, KidKind, Live, Node, Output};
use crate::binding::Binding;
use crate::context::{Shared, spawn_reporting};
use crate::event::EventKind;
use crate::task::Spawner;
use crate::{BlockingContext, ChildFailure, TaskContext};

impl Node {
    pub(crate) fn start_child(&mut self, key: ChildKey, generation: Generation, attempt: u32) {
        let Some(kid) = self.kid(key) else { return };
        let blocking = kid.is_thread();
        let policy = self.policy(kid);
        let (immediate, liveness) = (policy.immediate, policy.liveness);
        let restart = kid.started_before;
        let kind = match &kid.kind {
            KidKind::Worker(binding) => Ok(Binding::clone(binding)),
            KidKind::Supervisor(nested) => Err(nested.spec.clone()),
        };
        let shared = Arc::new(Shared::new(
            self.siblings.clone(),
            kid.id.clone(),
            Some(key),
            generation,
            attempt,
            self.since_epoch(),
            blocking,
        ));
        let path = Joined(&self.path, &kid.id);
        let span = tracing::info_span!("child", path = %path, generation = generation.0);
        let mut inbox = None;
        let handle = match kind {
            Ok(Binding::Async(task)) => task.__spawn(
                TaskContext {
                    shared: shared.clone(),
                },
                Spawner { immediate, span },
            ),
            Ok(Binding::Blocking(task)) => {
                let ctx = BlockingContext {
                    shared: shared.clone(),
                };
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                let name = format!("sv:{path}");
                let spawned = std::thread::Builder::new().name(name).spawn(move || {
                    let _entered = span.entered();
                    if immediate {
                        ctx.ready();
                    }
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        task.run(ctx).map_err(crate::error::rendered)
                    }));
                    let _ = done_tx.send(result.map_err(crate::unwind::message_of));
                });
                match spawned {
                    Ok(_) => spawn_reporting(shared.clone(), async move {
                        match done_rx.await {
                            Ok(Ok(result)) => Output::Worker(result, 0),
                            Ok(Err(message)) => Output::Panicked(message, 0),
                            Err(_) => Output::Panicked("worker thread vanished".to_owned(), 0),
                        }
                    }),
                    Err(e) => {
                        let message = format!("cannot spawn a thread: {e}");
                        spawn_reporting(shared.clone(), async move {
                            Output::Worker(Err((message.clone().into(), message)), 0)
                        })
                    }
                }
            }
            Err(spec) => {
                let nested = Box::new(Node::new(
                    spec,
                    shared.path(),
                    shared.clone(),
                    self.bus.clone(),
                    self.bindings.clone(),
                    self.seed,
                ));
                inbox = Some(nested.inbox());
                spawn_reporting(
                    shared.clone(),
                    async move { Output::Nested(Box::new(nested.run().await)) }.instrument(span),
                )
            }
        };
        let started = self.stamp();
        if let Some(kid) = self.kid_mut(key) {
            kid.live = Some(Live::new(generation, shared, handle, started));
            kid.started_before = true;
            kid.set_inbox(inbox);
        }
        if let Some(deadline) = liveness {
            self.timer_after(deadline, super::Timer::Liveness(key, generation));
        }
        self.emit_kid(key, Some(generation), || EventKind::Started {
            attempt,
            restart,
        });
    }

    /// A liveness check came due: either the child heartbeat since (check
    /// again one deadline after that heartbeat) or it failed.
    pub(crate) fn check_liveness(&mut self, key: ChildKey, generation: Generation) {
        let Some(kid) = self.kid(key) else { return };
        let (Some(live), Some(deadline)) = (kid.live.as_ref(), self.policy(kid).liveness) else {
            return;
        };
        if live.generation != generation || live.stopping().is_some() {
            return;
        }
        let due = live.shared.last_heartbeat() + deadline;
        if due > self.clock() {
            self.timer_at(due, super::Timer::Liveness(key, generation));
            return;
        }
        self.emit_kid(key, Some(generation), || EventKind::LivenessMissed {
            deadline,
        });
        if let Some(kid) = self.kid_mut(key) {
            kid.last_failure = Some(Arc::new(ChildFailure::LivenessMissed { deadline }));
        }
        self.input(Input::Unhealthy {
            child: key,
            generation,
            reason: ExitKind::LivenessMissed,
        });
    }
}
