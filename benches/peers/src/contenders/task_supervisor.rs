//! task-supervisor: one `SupervisorBuilder` with every child as a named
//! task, unlimited restarts, base and maximum restart delay zero, no
//! jitter. Its restart goes through a timer even at zero delay
//! (`sleep_until(now)`), which tokio rounds up to its next millisecond tick.

use std::sync::Arc;
use std::time::Duration;

use task_supervisor::{
    CancellationToken, SupervisedTask, SupervisorBuilder, SupervisorHandle, TaskResult,
};

use super::{Contender, Tree};
use crate::scenarios::Row;
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

pub struct TaskSupervisor;

#[derive(Clone)]
struct Idle(Arc<Countdown>);

impl SupervisedTask for Idle {
    async fn run(self, cancel: CancellationToken) -> TaskResult {
        self.0.arrive();
        cancel.cancelled().await;
        Ok(())
    }
}

#[derive(Clone)]
struct Failing(Arc<Victim>);

impl SupervisedTask for Failing {
    async fn run(self, cancel: CancellationToken) -> TaskResult {
        let v = self.0;
        if v.on_start() {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = v.quit.cancelled() => return Ok(()),
                () = v.go.notified() => {}
            }
        }
        Ok(v.fail()?)
    }
}

struct Running(SupervisorHandle);

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            self.0
                .shutdown()
                .await
                .map_err(|e| format!("shutdown failed: {e}"))
        })
    }
}

fn builder(idle: usize, entered: &Arc<Countdown>) -> SupervisorBuilder {
    let mut b = SupervisorBuilder::new()
        .with_unlimited_restarts()
        .with_base_restart_delay(Duration::ZERO)
        .with_max_restart_delay(Duration::ZERO)
        .with_restart_jitter(0.0);
    for i in 0..idle {
        b = b.with_task(&format!("w{i}"), Idle(entered.clone()));
    }
    b
}

impl Contender for TaskSupervisor {
    fn key(&self) -> &'static str {
        "task-supervisor"
    }

    fn version(&self) -> &'static str {
        "task-supervisor 0.5.2"
    }

    fn note(&self, row: Row) -> Option<&'static str> {
        matches!(
            row,
            Row::RestartErr | Row::RestartPanic | Row::RestartSiblings
        )
        .then_some("zero delay still waits for the next 1 ms timer tick")
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let handle = builder(n, &entered).spawn();
            Ok(Box::new(Running(handle)) as Box<dyn Tree>)
        })
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let handle = builder(siblings, &entered)
                .with_task("victim", Failing(v))
                .spawn();
            Ok(Box::new(Running(handle)) as Box<dyn Tree>)
        })
    }
}
