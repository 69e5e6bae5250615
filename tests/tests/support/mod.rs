//! Shared helpers: an event recorder that renders events as short lines,
//! task factories, and a counter of live tasks.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use supervisor_runtime::{Event, EventKind, Observer, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, SupervisorSpec};

/// Records every event of a tree, in order.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Event>>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.0.lock().push(event.clone());
    }
}

impl Recorder {
    /// Every event as a line such as `root/a exited failed`, filtered to the
    /// kinds named (all kinds if empty).
    pub fn lines(&self, kinds: &[&str]) -> Vec<String> {
        self.0
            .lock()
            .iter()
            .filter(|e| kinds.is_empty() || kinds.contains(&e.kind.name()))
            .map(line)
            .collect()
    }

    pub fn clear(&self) {
        self.0.lock().clear();
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.lock().clone()
    }
}

pub fn line(e: &Event) -> String {
    let what = match &e.kind {
        EventKind::Started { attempt, restart } => {
            if *restart {
                format!("restarted attempt {attempt}")
            } else {
                "started".to_owned()
            }
        }
        EventKind::Exited { exit, failure } => match failure {
            Some(f) => format!("exited {} ({})", exit.as_str(), f.chain()),
            None => format!("exited {}", exit.as_str()),
        },
        EventKind::StopRequested { reason } => format!("stop requested ({reason})"),
        EventKind::Stopped { outcome, .. } => format!("stopped {}", outcome.as_str()),
        EventKind::RestartScheduled { delay, .. } => format!("restart scheduled in {delay:?}"),
        EventKind::ShutdownBegun { cause } => format!("shutdown begun ({cause})"),
        EventKind::Escalated { reason } => format!("escalated: {reason}"),
        EventKind::Command {
            command, reason, ..
        } => match reason {
            Some(r) => format!("command {command} ({r})"),
            None => format!("command {command}"),
        },
        other => other.name().replace('_', " "),
    };
    format!("{} {what}", e.path)
}

/// Counts tasks alive: each incarnation holds a guard while it runs.
#[derive(Clone, Default)]
pub struct Alive(pub Arc<AtomicUsize>);

pub struct AliveGuard(Arc<AtomicUsize>);

impl Alive {
    pub fn enter(&self) -> AliveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        AliveGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A worker spec without backoff, so restarts are immediate.
pub fn worker(id: &str) -> ChildSpec {
    ChildSpec::worker(id).unwrap().with_backoff(Backoff::none())
}

pub fn root(children: impl IntoIterator<Item = ChildSpec>) -> SupervisorSpec {
    SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(10, Duration::from_secs(1))
        .with_children(children)
}

/// A task that runs until cancelled, counting itself alive.
pub fn idle(alive: &Alive) -> impl Fn(TaskContext) -> futures_ready::Idle + Send + Sync + 'static {
    let alive = alive.clone();
    move |ctx| futures_ready::idle(ctx, alive.clone())
}

pub mod futures_ready {
    use super::*;

    pub type Idle =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), std::io::Error>> + Send>>;

    pub fn idle(ctx: TaskContext, alive: Alive) -> Idle {
        Box::pin(async move {
            let _guard = alive.enter();
            ctx.cancelled().await;
            Ok(())
        })
    }
}

/// Lets every spawned task run until nothing more happens at this instant.
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
