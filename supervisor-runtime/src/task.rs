//! [`Task`] and [`BlockingTask`]: what a worker runs, one fresh future (or
//! thread body) per incarnation.

use std::error::Error;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::task::{AbortHandle, JoinSet};
use tracing::Instrument;

use crate::node::Output;

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

    /// Spawns one incarnation. The default spawns [`start`](Self::start)'s
    /// boxed future; closures and `async fn`s spawn theirs unboxed, one
    /// allocation per incarnation instead of two. Not meant to be called or
    /// overridden outside this crate.
    #[doc(hidden)]
    fn __spawn(self: Arc<Self>, ctx: TaskContext, spawner: Spawner<'_>) -> AbortHandle {
        spawner.spawn(ctx, move |ctx| self.start(ctx))
    }
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

    fn __spawn(self: Arc<Self>, ctx: TaskContext, spawner: Spawner<'_>) -> AbortHandle {
        spawner.spawn(ctx, move |ctx| self(ctx))
    }
}

/// Where an incarnation is spawned: the supervisor's set of tasks, with how
/// it reports readiness and its tracing span. Only the runtime makes one.
#[doc(hidden)]
pub struct Spawner<'a> {
    pub(crate) set: &'a mut JoinSet<Output>,
    pub(crate) immediate: bool,
    pub(crate) span: tracing::Span,
}

impl std::fmt::Debug for Spawner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

impl Spawner<'_> {
    /// Spawns the incarnation that `make` builds. The future is built inside
    /// the new task, so a panic while building it is caught like any other.
    pub fn spawn<M, Fut, E>(self, ctx: TaskContext, make: M) -> AbortHandle
    where
        M: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let immediate = self.immediate;
        let fut = async move {
            // The user's future lives in this block only: it is dropped
            // (even after a panic) before the sub-tasks are ended.
            let result = {
                let mut make = Some(make);
                let mut fut = std::pin::pin!(None);
                let mut first = true;
                // Ready once the task has been polled for the first time:
                // signalled after that poll returns, when the task yields its
                // thread, so the supervisor woken by it gets to run next even
                // if the task then blocks the thread. A panic (also while
                // building the future) is caught here, so the sub-tasks are
                // ended and waited for on that path too.
                std::future::poll_fn(|cx| {
                    let poll = catch_unwind(AssertUnwindSafe(|| {
                        if let Some(make) = make.take() {
                            fut.set(Some(make(ctx.clone())));
                        }
                        // Always `Some` here: a panic in `make` ends the
                        // poll_fn, which is then never polled again.
                        match fut.as_mut().as_pin_mut() {
                            // Rendered here, so an error whose `Display`
                            // panics is a panic of this task.
                            Some(fut) => fut
                                .poll(cx)
                                .map(|r| r.map_err(|e| crate::error::rendered(e.into()))),
                            None => Poll::Pending,
                        }
                    }));
                    if first {
                        first = false;
                        if immediate {
                            ctx.ready();
                        }
                    }
                    match poll {
                        Ok(Poll::Pending) => Poll::Pending,
                        Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
                        Err(payload) => {
                            let message = crate::node::panic_message(&*payload);
                            // A payload whose Drop panics must not take the
                            // supervisor down (it fails this task instead).
                            crate::error::drop_quietly(payload);
                            Poll::Ready(Err(message))
                        }
                    }
                })
                .await
            };
            // Parked while the sub-tasks end: if the supervisor aborts the
            // task in that window, it still finds what the task did.
            ctx.shared.park_result(result);
            let leftover = ctx.shared.end_subtasks().await;
            match ctx.shared.take_result() {
                Some(Err(message)) => Output::Panicked(message, leftover),
                Some(Ok(result)) => Output::Worker(result, leftover),
                None => Output::Worker(Ok(()), leftover),
            }
        };
        // Without a subscriber the span is disabled: spawn the bare future
        // rather than carry a span nobody records.
        if self.span.is_disabled() {
            self.set.spawn(fut)
        } else {
            self.set.spawn(fut.instrument(self.span))
        }
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
