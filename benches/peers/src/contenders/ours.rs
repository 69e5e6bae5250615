//! This project (`supervisor-runtime` by path): one supervisor, every child
//! a worker with `Backoff::none()`, restart intensity 10,000 (the largest
//! `supervisor-spec` allows) within 1 ms, so the window never fills.

use std::sync::Arc;
use std::time::Duration;

use supervisor_runtime::{RunningTree, Supervisor, Task, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, ShutdownOrder, SupervisorSpec, limits};

use super::{Contender, Tree};
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

pub struct Ours {
    order: ShutdownOrder,
}

impl Ours {
    /// `ShutdownOrder::Parallel`: all children are stopped at once, as
    /// every peer does.
    pub fn parallel() -> Self {
        Self {
            order: ShutdownOrder::Parallel,
        }
    }

    /// `ShutdownOrder::Sequential` (the default, as in OTP): reverse start
    /// order, one child at a time.
    pub fn sequential() -> Self {
        Self {
            order: ShutdownOrder::Sequential,
        }
    }
}

struct Running(RunningTree);

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            self.0.shutdown().await;
            Ok(())
        })
    }
}

fn idle(entered: Arc<Countdown>) -> impl Task {
    move |ctx: TaskContext| {
        let entered = entered.clone();
        async move {
            entered.arrive();
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    }
}

fn victim(v: Arc<Victim>) -> impl Task {
    move |ctx: TaskContext| {
        let v = v.clone();
        async move {
            if v.on_start() {
                tokio::select! {
                    () = ctx.cancelled() => return Ok(()),
                    () = v.quit.cancelled() => return Ok(()),
                    () = v.go.notified() => {}
                }
            }
            v.fail()
        }
    }
}

fn idle_children(n: usize) -> impl Iterator<Item = ChildSpec> {
    (0..n).map(|i| {
        ChildSpec::worker(format!("w{i}").as_str())
            .and_then(|c| c.with_task("idle"))
            .expect("valid ids")
    })
}

fn err(e: impl std::fmt::Display) -> String {
    format!("start failed: {e}")
}

impl Contender for Ours {
    fn key(&self) -> &'static str {
        match self.order {
            ShutdownOrder::Sequential => "ours (sequential)",
            _ => "ours",
        }
    }

    fn version(&self) -> &'static str {
        "supervisor-runtime 0.1.0 (path)"
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let spec = SupervisorSpec::new("bench")
                .map_err(err)?
                .with_shutdown_order(self.order)
                .with_children(idle_children(n));
            let tree = Supervisor::new(spec)
                .task("idle", idle(entered))
                .start()
                .await
                .map_err(err)?;
            Ok(Box::new(Running(tree)) as Box<dyn Tree>)
        })
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let spec = SupervisorSpec::new("bench")
                .map_err(err)?
                .with_intensity(limits::MAX_RESTARTS, Duration::from_millis(1))
                .with_shutdown_order(ShutdownOrder::Parallel)
                .with_children(idle_children(siblings))
                .with_child(
                    ChildSpec::worker("victim")
                        .map_err(err)?
                        .with_backoff(Backoff::none()),
                );
            let mut tree = Supervisor::new(spec).task("victim", victim(v));
            if siblings > 0 {
                tree = tree.task("idle", idle(entered));
            }
            let tree = tree.start().await.map_err(err)?;
            Ok(Box::new(Running(tree)) as Box<dyn Tree>)
        })
    }
}
