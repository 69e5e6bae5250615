//! [`Supervisor`]: binds a tree's task names to implementations and starts it.

use std::sync::Arc;

use supervisor_spec::{ChildPath, ChildSpec, SupervisorSpec, TaskName};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::binding::{Binding, Bindings};
use crate::context::Shared;
use crate::event::{Bus, ObserverBox};
use crate::node::Node;
use crate::tree::{RunningTree, TreeEnd, lost_end};
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
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StartError::NoRuntime);
        }
        let epoch = Instant::now();
        let bus = Arc::new(
            Bus::new(self.event_capacity, self.observers, epoch).with_nodes(valid.node_count()),
        );
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
        let (end_tx, mut end_rx) = watch::channel::<Option<Arc<TreeEnd>>>(None);
        let root = path.clone();
        tokio::spawn(async move {
            let end = match crate::unwind::caught(node.run()).await {
                Ok(end) => Arc::new(TreeEnd::from(end)),
                Err(panic) => {
                    tracing::error!(supervisor = %root, %panic, "the root supervisor panicked; its children were aborted");
                    lost_end(&root, format!("the root supervisor panicked: {panic}"))
                }
            };
            let _ = end_tx.send(Some(end));
        });
        let tree = RunningTree::new(path, inbox, me, end_rx.clone(), bus);
        tokio::select! {
            biased;
            ready = ready_rx.wait_for(|n| *n > 0) => {
                if ready.is_ok() {
                    return Ok(tree);
                }
            }
            _ = end_rx.wait_for(Option::is_some) => {}
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
