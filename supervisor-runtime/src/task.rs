//! [`Task`] and [`BlockingTask`]: what a worker runs, one fresh future (or
//! thread body) per incarnation.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use crate::{BlockingContext, TaskContext};

/// A task's error, boxed at the boundary; the original is kept as the
/// source of the failure report.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A boxed future, as [`Task::start`] returns.
pub type BoxFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'static>>;

/// An async worker: builds a fresh future for each incarnation.
///
/// Any `Fn(TaskContext) -> impl Future<Output = Result<(), E>>` is a task,
/// so a plain `async fn` works; implement the trait for tasks that carry
/// state of their own.
///
/// # Examples
///
/// ```
/// use supervisor_runtime::{BoxFuture, Task, TaskContext};
///
/// struct Poller {
///     url: String,
/// }
///
/// impl Task for Poller {
///     fn start(&self, ctx: TaskContext) -> BoxFuture {
///         let url = self.url.clone();
///         Box::pin(async move {
///             let _ = url;
///             ctx.cancelled().await;
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait Task: Send + Sync + 'static {
    /// Builds the future of one incarnation.
    fn start(&self, ctx: TaskContext) -> BoxFuture;
}

impl<F, Fut, E> Task for F
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    fn start(&self, ctx: TaskContext) -> BoxFuture {
        let fut = self(ctx);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

/// A synchronous worker, run on a thread of its own for each incarnation.
///
/// It must check [`BlockingContext::is_cancelled`] (or wait with
/// [`BlockingContext::wait_cancelled`]) to stop cooperatively: a thread
/// cannot be aborted, so one that ignores its stop is reported as detached
/// after its abort wait, and never waited for forever.
pub trait BlockingTask: Send + Sync + 'static {
    /// Runs one incarnation to its end.
    ///
    /// # Errors
    ///
    /// An error is a failure of the incarnation, handled by its restart policy.
    fn run(&self, ctx: BlockingContext) -> Result<(), BoxError>;
}

impl<F, E> BlockingTask for F
where
    F: Fn(BlockingContext) -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError> + 'static,
{
    fn run(&self, ctx: BlockingContext) -> Result<(), BoxError> {
        self(ctx).map_err(Into::into)
    }
}
