//! [`Supervisor`]: binds a tree's task names to implementations and starts it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use supervisor_spec::{ChildPath, ChildSpec, SupervisorSpec, TaskName};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::binding::{Binding, Bindings};
use crate::context::Shared;
use crate::event::{Bus, ObserverBox};
use crate::node::Node;
use crate::tree::{RunningTree, TreeEnd};
use crate::{BlockingTask, Observer, StartError, Task};

/// The default number of events a slow subscriber may fall behind before
/// it is told how many it missed.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// A tree ready to start: its spec, its task bindings, its observers.
///
/// # Examples
///
/// ```
/// use supervisor_runtime::{Supervisor, TaskContext};
/// use supervisor_spec::{ChildSpec, SupervisorSpec};
///
/// async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tree = Supervisor::new(SupervisorSpec::new("root")?)
///     .child(ChildSpec::worker("api")?, api)
///     .start()
///     .await?;
/// let report = tree.shutdown().await;
/// assert_eq!(report.children.len(), 1);
/// # Ok(())
/// # }
/// ```
#[must_use = "a Supervisor does nothing until started"]
pub struct Supervisor {
    spec: SupervisorSpec,
    bindings: Bindings,
    bad_names: Vec<String>,
    observers: Vec<ObserverBox>,
    event_capacity: usize,
    seed: u64,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("spec", &self.spec.id)
            .field("bindings", &self.bindings)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A tree from `spec`; bind its workers' tasks before starting it.
    pub fn new(spec: SupervisorSpec) -> Self {
        Self {
            spec,
            bindings: Bindings::default(),
            bad_names: Vec::new(),
            observers: Vec::new(),
            event_capacity: DEFAULT_EVENT_CAPACITY,
            seed: 0x5EED,
        }
    }

    fn bind(mut self, name: &str, binding: Binding) -> Self {
        match TaskName::try_from(name) {
            Ok(name) => self.bindings.insert(name, binding),
            Err(e) => self.bad_names.push(e.to_string()),
        }
        self
    }

    /// Binds the async task named `name` (anywhere in the tree).
    pub fn task(self, name: &str, task: impl Task) -> Self {
        self.bind(name, Binding::Async(Arc::new(task)))
    }

    /// Binds the blocking task named `name` (anywhere in the tree).
    pub fn blocking_task(self, name: &str, task: impl BlockingTask) -> Self {
        self.bind(name, Binding::Blocking(Arc::new(task)))
    }

    /// Appends an async worker to the root with its task inline.
    pub fn child(mut self, child: ChildSpec, task: impl Task) -> Self {
        let name = child.task().map(|t| t.as_str().to_owned());
        self.spec.children.push(child);
        match name {
            Some(name) => self.task(&name, task),
            None => self,
        }
    }

    /// Appends a blocking worker to the root with its task inline.
    pub fn blocking_child(mut self, child: ChildSpec, task: impl BlockingTask) -> Self {
        let name = child.task().map(|t| t.as_str().to_owned());
        self.spec.children.push(child);
        match name {
            Some(name) => self.blocking_task(&name, task),
            None => self,
        }
    }

    /// Calls `observer` synchronously for every event of the tree.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observers.push(ObserverBox(Arc::new(observer)));
        self
    }

    /// How many events a subscriber may fall behind (default 1024).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// Seeds the backoff jitter, so a run can be replayed exactly.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validates the tree, checks the bindings, starts every child and waits
    /// until the tree is ready.
    ///
    /// Until then the root supervisor's loop runs in the calling task (so a
    /// start takes no round trips between tasks or threads); from then on,
    /// and if this future is dropped first, in a task of its own. So await
    /// it (or drop it): held without being polled, it holds up the root's
    /// work, such as restarting a child that failed during the start,
    /// until it is polled again.
    ///
    /// # Errors
    ///
    /// [`StartError`] if the spec is invalid, a task name is unbound or
    /// unused, there is no tokio runtime, or the tree gave up before it
    /// became ready — in which case everything started was shut down first.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future while it waits for readiness
    /// drops the tree, which then shuts itself down in the background.
    pub async fn start(self) -> Result<RunningTree, StartError> {
        if let Some(e) = self.bad_names.into_iter().next() {
            return Err(StartError::BadTaskName(e));
        }
        let valid = self.spec.validate()?;
        for w in valid.warnings() {
            tracing::warn!(warning = %w, "supervision tree warning");
        }
        self.bindings.check(valid.spec())?;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(StartError::NoRuntime);
        };
        let epoch = Instant::now();
        let bus = Arc::new(Bus::new(self.event_capacity, self.observers, epoch));
        let path = ChildPath::root(valid.spec().id.clone());
        let (ready_tx, mut ready_rx) = watch::channel(0u64);
        let me = Shared::root(valid.spec().id.clone(), epoch, ready_tx);
        let node = Box::new(Node::new(
            valid,
            path.clone(),
            me.clone(),
            bus.clone(),
            Arc::new(self.bindings),
            self.seed,
        ));
        let inbox = node.inbox();
        let (end_tx, end_rx) = watch::channel::<Option<Arc<TreeEnd>>>(None);
        let tree = RunningTree::new(path, inbox, me, end_rx, bus);
        let mut launch = Launch {
            run: Some(Box::pin(async move {
                let end = node.run().await;
                let _ = end_tx.send(Some(Arc::new(TreeEnd::from(end))));
            })),
            runtime,
        };
        // The root's loop runs here, in the caller's task, until the tree is
        // ready or has ended; then in a task of its own. Started in a task
        // of its own, every start paid a round trip between the two tasks,
        // and with tokio's LIFO slot used up by then, often a wake-up of a
        // parked worker thread (timed at about 8 µs of a 20 µs start of one
        // child on a busy host).
        let mut ready = std::pin::pin!(ready_rx.wait_for(|n| *n > 0));
        let ready = std::future::poll_fn(|cx| {
            let ended = launch.poll(cx);
            match ready.as_mut().poll(cx) {
                Poll::Ready(ready) => Poll::Ready(ready.is_ok()),
                Poll::Pending if ended => Poll::Ready(false),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        launch.go();
        if ready {
            return Ok(tree);
        }
        let end = tree.join().await;
        Err(StartError::Failed {
            reason: end
                .reason
                .clone()
                .unwrap_or_else(|| "the tree ended while starting".to_owned()),
            report: Box::new(end.report.clone()),
        })
    }
}

/// The root's loop while [`Supervisor::start`] drives it in its caller's
/// task. Whatever ends the start, a loop that has not ended goes on in a
/// task of its own: a start future dropped while it waits for readiness
/// drops the tree, which then shuts down in the background (see
/// `RunningTree`'s `Drop`), not leaving the children it started behind.
struct Launch {
    run: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// The runtime `start` was called on (the future may be dropped
    /// elsewhere).
    runtime: tokio::runtime::Handle,
}

impl Launch {
    /// Polls the loop once; returns whether it has ended.
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(run) = self.run.as_mut() else {
            return true;
        };
        if run.as_mut().poll(cx).is_ready() {
            self.run = None;
            return true;
        }
        false
    }

    /// Moves a loop that has not ended to a task of its own.
    fn go(&mut self) {
        if let Some(run) = self.run.take() {
            // Polled first there, the loop registers its wakers again (see
            // `Node::run`).
            drop(self.runtime.spawn(run));
        }
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        self.go();
    }
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("running_here", &self.run.is_some())
            .finish_non_exhaustive()
    }
}
