//! [`Supervised`]: a task that carries its own child spec, as
//! `#[supervised]` fns do, and [`Supervisor::supervised`] to add one.

use std::future::Future;

use supervisor_spec::ChildSpec;

use crate::{BoxError, BoxFuture, Supervisor, Task};

/// A task that knows the child it runs as: its id, task name and policies.
///
/// `#[supervised]` implements it for the value it makes of an `async fn`;
/// implement it by hand for a task that carries state of its own. Add one
/// to a tree with [`Supervisor::supervised`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use supervisor_runtime::{BoxFuture, Supervised, Supervisor, Task, TaskContext};
/// use supervisor_spec::{ChildSpec, Restart, SupervisorSpec};
///
/// struct Poller {
///     every: Duration,
/// }
///
/// impl Task for Poller {
///     fn start(&self, ctx: TaskContext) -> BoxFuture {
///         let every = self.every;
///         Box::pin(async move {
///             loop {
///                 tokio::select! {
///                     _ = ctx.cancelled() => return Ok(()),
///                     _ = tokio::time::sleep(every) => { /* poll */ }
///                 }
///             }
///         })
///     }
/// }
///
/// impl Supervised for Poller {
///     fn child_spec(&self) -> ChildSpec {
///         let spec = ChildSpec::worker("poller").expect("a valid id");
///         spec.with_restart(Restart::Transient)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let poller = Poller { every: Duration::from_secs(1) };
/// assert_eq!(poller.child_spec().restart, Restart::Transient);
/// let tree = Supervisor::new(SupervisorSpec::new("root")?)
///     .supervised(poller)
///     .start()
///     .await?;
/// tree.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub trait Supervised: Task {
    /// The child this task runs as. Its task name is the name the task is
    /// bound under.
    fn child_spec(&self) -> ChildSpec;
}

impl Supervisor {
    /// Appends `child` to the root as a worker with its own [`ChildSpec`],
    /// and binds its task under the spec's task name, as
    /// [`Supervisor::child`] does.
    ///
    /// To put a `#[supervised]` fn under a nested supervisor instead, add
    /// its [`Supervised::child_spec`] to that supervisor's spec and bind it
    /// with [`Supervisor::task`].
    ///
    /// # Examples
    ///
    #[cfg_attr(feature = "macros", doc = "```")]
    #[cfg_attr(not(feature = "macros"), doc = "```ignore")]
    /// use supervisor_runtime::{Supervised, Supervisor, TaskContext, supervised};
    /// use supervisor_spec::{Restart, SupervisorSpec};
    ///
    /// #[supervised(restart = "transient", backoff(initial = "100ms", max = "30s"))]
    /// async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ///     ctx.cancelled().await;
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(ingest.child_spec().restart, Restart::Transient);
    /// let tree = Supervisor::new(SupervisorSpec::new("root")?)
    ///     .supervised(ingest)
    ///     .start()
    ///     .await?;
    /// let report = tree.shutdown().await;
    /// assert_eq!(report.children.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn supervised(self, child: impl Supervised) -> Self {
        let spec = child.child_spec();
        self.child(spec, child)
    }
}

/// The worker a `#[supervised]` fn declares, with its task name and
/// dependencies. Not public API.
#[doc(hidden)]
pub fn worker(id: &str, task: &str, depends_on: &[&str]) -> ChildSpec {
    // `#[supervised]` built this spec at compile time from these same
    // strings with this same `supervisor-spec`, and emits this call only if
    // the id, the task name and every dependency were valid; none of the
    // three steps can fail here.
    ChildSpec::worker(id)
        .and_then(|c| c.with_task(task))
        .and_then(|c| c.with_depends_on(depends_on))
        .expect("#[supervised] checked the child's names at compile time")
}

/// Boxes the future of one incarnation of a `#[supervised]` fn, as the
/// blanket [`Task`] impl of async fns does. Not public API.
#[doc(hidden)]
pub fn boxed<F, E>(fut: F) -> BoxFuture
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    Box::pin(async move { fut.await.map_err(Into::into) })
}
