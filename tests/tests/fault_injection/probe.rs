//! The task every worker runs: a `Scripted` fault script wrapped in drop
//! guards that count what is alive, sub-tasks spawned through `ctx.spawn`,
//! a check that no two incarnations of a child ever run at once, and a
//! record of how each incarnation really ended.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use supervisor_runtime::testkit::{Fault, Scripted};
use supervisor_runtime::{BoxError, BoxFuture, Event, EventKind, Observer, Task, TaskContext};

use crate::plan::{FaultKind, Sub, Worker};

/// The message of injected errors.
const INJECTED_ERROR: &str = "injected fault: error";

/// The message of injected panics; the panic hook keeps exactly these quiet.
const INJECTED_PANIC: &str = "injected fault: panic";

/// How often a well-behaved incarnation heartbeats.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// How an incarnation really ended, as the task saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Returned `Ok`; `cancelled`: a stop had been asked for by then.
    Ok { cancelled: bool },
    /// Returned this error.
    Err(String),
    /// Panicked with this message.
    Panicked(String),
    /// Dropped before it finished (aborted).
    Dropped,
}

/// What every probe of one run shares.
#[derive(Debug, Default)]
pub(crate) struct World {
    /// Incarnations and sub-tasks alive right now.
    pub(crate) alive: AtomicUsize,
    /// Broken guarantees seen from inside the tasks.
    pub(crate) violations: Mutex<Vec<String>>,
    /// How each incarnation ended, by path and ordinal (see [`Ordinals`]).
    pub(crate) outcomes: Mutex<HashMap<(String, u64), Outcome>>,
    /// `Started` events so far, by path.
    starts: Mutex<HashMap<String, u64>>,
    children: Mutex<BTreeMap<String, Arc<Child>>>,
}

#[derive(Debug)]
struct Child {
    script: Scripted,
    subtasks: Vec<Sub>,
    /// Incarnations between their first poll and their drop: at most one.
    running: AtomicUsize,
    /// Sub-tasks of any incarnation alive right now.
    subtasks_alive: AtomicUsize,
}

impl World {
    /// Registers the plans of every worker, by path.
    pub(crate) fn new(workers: &BTreeMap<String, Worker>) -> Arc<Self> {
        let world = Self::default();
        {
            let mut children = world.children.lock();
            for (path, plan) in workers {
                children.insert(path.clone(), Arc::new(Child::new(plan)));
            }
        }
        Arc::new(world)
    }

    fn violation(&self, what: String) {
        self.violations.lock().push(what);
    }

    /// Workers with an incarnation or a sub-task still alive: each one's
    /// path, incarnations and sub-tasks alive.
    pub(crate) fn alive_children(&self) -> Vec<(String, usize, usize)> {
        self.children
            .lock()
            .iter()
            .map(|(path, c)| {
                let running = c.running.load(Ordering::SeqCst);
                let subtasks = c.subtasks_alive.load(Ordering::SeqCst);
                (path.clone(), running, subtasks)
            })
            .filter(|(_, running, subtasks)| running + subtasks > 0)
            .collect()
    }
}

impl Child {
    fn new(plan: &Worker) -> Self {
        let mut script = Scripted::new().heartbeat_every(HEARTBEAT);
        for rule in &plan.faults {
            let fault = match rule.fault {
                FaultKind::Fail => Fault::fail(INJECTED_ERROR),
                FaultKind::Panic => Fault::panic(INJECTED_PANIC),
                FaultKind::Hang => Fault::Hang,
                FaultKind::NeverReady => Fault::NeverReady,
                FaultKind::StopHeartbeat => Fault::StopHeartbeat,
                FaultKind::Exit => Fault::Exit,
            };
            script = match rule.start {
                Some(n) => script.on_start_after(n, rule.after, fault),
                None => script.always_after(rule.after, fault),
            };
        }
        Self {
            script,
            subtasks: plan.subtasks.clone(),
            running: AtomicUsize::new(0),
            subtasks_alive: AtomicUsize::new(0),
        }
    }
}

/// Counts `Started` events by path. Generations start over in each
/// incarnation of a nested supervisor, so an incarnation is named by its
/// ordinal instead: the number of `Started` events of its path up to its
/// own. That event comes before the incarnation's first poll, and the next
/// one only after it ended, so the task reads its own ordinal at entry.
#[derive(Debug, Clone)]
pub(crate) struct Ordinals(pub(crate) Arc<World>);

impl Observer for Ordinals {
    fn on_event(&self, event: &Event) {
        if let EventKind::Started { .. } = event.kind {
            *self
                .0
                .starts
                .lock()
                .entry(event.path.to_string())
                .or_default() += 1;
        }
    }
}

/// The task bound under [`crate::plan::TASK`]; finds its plan by path.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    world: Arc<World>,
}

impl Probe {
    pub(crate) fn new(world: Arc<World>) -> Self {
        Self { world }
    }
}

impl Task for Probe {
    fn start(&self, ctx: TaskContext) -> BoxFuture {
        let path = ctx.path().to_string();
        let world = self.world.clone();
        let child = world.children.lock().get(&path).cloned();
        let Some(child) = child else {
            world.violation(format!("{path}: started, but no such worker was planned"));
            return Box::pin(async { Ok(()) });
        };
        let inner = child.script.start(ctx.clone());
        Box::pin(async move {
            let generation = ctx.generation().0;
            let ordinal = world.starts.lock().get(&path).copied().unwrap_or_default();
            let _running = Running::enter(&world, &child, &path, generation);
            let mut outcome = Record {
                world: world.clone(),
                key: Some((path, ordinal)),
            };
            for &sub in &child.subtasks {
                let guard = SubGuard::enter(&world, &child);
                let cancelled = ctx.clone();
                ctx.spawn(async move {
                    let _guard = guard;
                    match sub {
                        Sub::Pending => std::future::pending().await,
                        Sub::UntilCancelled => cancelled.cancelled().await,
                        Sub::For(d) => tokio::time::sleep(d).await,
                    }
                });
            }
            match (CatchUnwind { inner }).await {
                Ok(Ok(())) => {
                    outcome.set(Outcome::Ok {
                        cancelled: ctx.is_cancelled(),
                    });
                    Ok(())
                }
                Ok(Err(e)) => {
                    outcome.set(Outcome::Err(e.to_string()));
                    Err(e)
                }
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    outcome.set(Outcome::Panicked(message));
                    std::panic::resume_unwind(payload)
                }
            }
        })
    }
}

/// Polls a future, catching a panic as a value (as `futures`' `catch_unwind`).
struct CatchUnwind {
    inner: BoxFuture,
}

impl Future for CatchUnwind {
    type Output = std::thread::Result<Result<(), BoxError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Held while an incarnation runs.
struct Running {
    world: Arc<World>,
    child: Arc<Child>,
}

impl Running {
    fn enter(world: &Arc<World>, child: &Arc<Child>, path: &str, generation: u64) -> Self {
        let before = child.running.fetch_add(1, Ordering::SeqCst);
        if before > 0 {
            world.violation(format!(
                "{path}#{generation} started while {before} other incarnation(s) ran"
            ));
        }
        let subtasks = child.subtasks_alive.load(Ordering::SeqCst);
        if subtasks > 0 {
            world.violation(format!(
                "{path}#{generation} started while {subtasks} sub-task(s) of an earlier incarnation ran"
            ));
        }
        world.alive.fetch_add(1, Ordering::SeqCst);
        Self {
            world: world.clone(),
            child: child.clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.child.running.fetch_sub(1, Ordering::SeqCst);
        self.world.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Held by each sub-task.
struct SubGuard {
    world: Arc<World>,
    child: Arc<Child>,
}

impl SubGuard {
    fn enter(world: &Arc<World>, child: &Arc<Child>) -> Self {
        child.subtasks_alive.fetch_add(1, Ordering::SeqCst);
        world.alive.fetch_add(1, Ordering::SeqCst);
        Self {
            world: world.clone(),
            child: child.clone(),
        }
    }
}

impl Drop for SubGuard {
    fn drop(&mut self) {
        self.child.subtasks_alive.fetch_sub(1, Ordering::SeqCst);
        self.world.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records the outcome; an incarnation dropped before it set one was aborted.
struct Record {
    world: Arc<World>,
    key: Option<(String, u64)>,
}

impl Record {
    fn set(&mut self, outcome: Outcome) {
        if let Some(key) = self.key.take() {
            self.world.outcomes.lock().insert(key, outcome);
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.set(Outcome::Dropped);
    }
}

/// Keeps injected panics off stderr; every other panic is reported as usual.
pub(crate) fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if text != INJECTED_PANIC {
                previous(info);
            }
        }));
    });
}
