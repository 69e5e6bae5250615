//! rust-tokio-supervisor 0.1.4 (library crate `rust_supervisor`): one
//! `SupervisorSpec::root` with every child an `AsyncWorker` built by
//! `service_fn`, restart policy `Permanent`, backoff zero without jitter,
//! and every limit the spec exposes opened up (restart limit, meltdown
//! fuses, restart budget, failure window, concurrent restarts). Its
//! supervision pipeline also has a cold-start budget (5 restarts in the
//! first 60 s) and a hot-loop detector (3 crashes in 10 s) that the spec
//! does not expose; the restart scenarios show what they do.

use std::sync::Arc;
use std::time::Duration;

use rust_supervisor::control::handle::SupervisorHandle;
use rust_supervisor::error::types::{TaskFailure, TaskFailureKind};
use rust_supervisor::id::types::ChildId;
use rust_supervisor::policy::budget::RestartBudgetConfig;
use rust_supervisor::policy::failure_window::FailureWindowConfig;
use rust_supervisor::policy::meltdown::MeltdownPolicy;
use rust_supervisor::runtime::supervisor::Supervisor;
use rust_supervisor::spec::child::{BackoffPolicy, ChildSpec, RestartPolicy, TaskKind};
use rust_supervisor::spec::supervisor::{RestartLimit, SupervisorSpec};
use rust_supervisor::task::context::TaskContext;
use rust_supervisor::task::factory::{TaskResult, service_fn};

use super::{Contender, Tree};
use crate::scenarios::Row;
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

pub struct RustTokioSupervisor;

fn worker(
    id: String,
    factory: Arc<dyn rust_supervisor::task::factory::TaskFactory>,
) -> Outcome<ChildSpec> {
    let mut spec = ChildSpec::worker(ChildId::new(id.clone()), id, TaskKind::AsyncWorker, factory)
        .map_err(|e| format!("child spec: {e}"))?;
    spec.restart_policy = RestartPolicy::Permanent;
    spec.backoff_policy = BackoffPolicy::new(Duration::ZERO, Duration::ZERO, 0.0);
    Ok(spec)
}

fn idle(entered: Arc<Countdown>) -> Arc<dyn rust_supervisor::task::factory::TaskFactory> {
    Arc::new(service_fn(move |ctx: TaskContext| {
        let entered = entered.clone();
        async move {
            entered.arrive();
            ctx.cancellation_token().cancelled().await;
            TaskResult::Succeeded
        }
    }))
}

fn victim(v: Arc<Victim>) -> Arc<dyn rust_supervisor::task::factory::TaskFactory> {
    Arc::new(service_fn(move |ctx: TaskContext| {
        let v = v.clone();
        async move {
            if v.on_start() {
                let token = ctx.cancellation_token();
                tokio::select! {
                    () = token.cancelled() => return TaskResult::Succeeded,
                    () = v.quit.cancelled() => return TaskResult::Succeeded,
                    () = v.go.notified() => {}
                }
            }
            match v.fail() {
                Ok(()) => TaskResult::Succeeded,
                Err(e) => TaskResult::Failed(TaskFailure::new(
                    TaskFailureKind::Error,
                    "bench",
                    e.to_string(),
                )),
            }
        }
    }))
}

fn spec(children: Vec<ChildSpec>) -> SupervisorSpec {
    let mut spec = SupervisorSpec::root(children);
    spec.default_restart_policy = RestartPolicy::Permanent;
    spec.default_backoff_policy = BackoffPolicy::new(Duration::ZERO, Duration::ZERO, 0.0);
    spec.restart_limit = Some(RestartLimit::new(u32::MAX, Duration::from_millis(1)));
    let tiny = Duration::from_millis(1);
    spec.meltdown_policy =
        MeltdownPolicy::new(u32::MAX, tiny, u32::MAX, tiny, u32::MAX, tiny, tiny);
    spec.restart_budget_config = RestartBudgetConfig::new(tiny, 10_000, 1e9);
    spec.failure_window_config = FailureWindowConfig::count_sliding(1, usize::MAX);
    spec.concurrent_restart_limit = u32::MAX;
    spec
}

struct Running(SupervisorHandle);

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            self.0
                .shutdown_tree("bench", "benchmark done")
                .await
                .map(drop)
                .map_err(|e| format!("shutdown failed: {e}"))
        })
    }
}

async fn start(children: Vec<ChildSpec>) -> Outcome<Box<dyn Tree>> {
    let handle = Supervisor::start(spec(children))
        .await
        .map_err(|e| format!("start failed: {e}"))?;
    Ok(Box::new(Running(handle)))
}

fn idle_children(n: usize, entered: &Arc<Countdown>) -> Outcome<Vec<ChildSpec>> {
    let factory = idle(entered.clone());
    (0..n)
        .map(|i| worker(format!("w{i}"), factory.clone()))
        .collect()
}

impl Contender for RustTokioSupervisor {
    fn key(&self) -> &'static str {
        "rust-tokio-supervisor"
    }

    fn version(&self) -> &'static str {
        "rust-tokio-supervisor 0.1.4"
    }

    fn note(&self, row: Row) -> Option<&'static str> {
        matches!(
            row,
            Row::RestartErr | Row::RestartPanic | Row::RestartSiblings
        )
        .then_some("hot-loop detector, 3 crashes in 10 s, not configurable")
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move { start(idle_children(n, &entered)?).await })
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let mut children = idle_children(siblings, &entered)?;
            children.push(worker("victim".to_owned(), victim(v))?);
            start(children).await
        })
    }
}
