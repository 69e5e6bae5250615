//! [`Task`] and [`BlockingTask`]: what a worker runs, one fresh future (or
//! thread body) per incarnation.

use std::error::Error;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::context::ExitReport;
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
    fn __spawn(self: Arc<Self>, ctx: TaskContext, spawner: Spawner) -> JoinHandle<()> {
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

    fn __spawn(self: Arc<Self>, ctx: TaskContext, spawner: Spawner) -> JoinHandle<()> {
        spawner.spawn(ctx, move |ctx| self(ctx))
    }
}

/// How an incarnation is spawned: how it reports readiness, and its tracing
/// span. Only the runtime makes one.
#[doc(hidden)]
pub struct Spawner {
    pub(crate) immediate: bool,
    pub(crate) span: tracing::Span,
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

impl Spawner {
    /// Spawns the incarnation that `make` builds. The future is built inside
    /// the new task, so a panic while building it is caught like any other.
    pub fn spawn<M, Fut, E>(self, ctx: TaskContext, make: M) -> JoinHandle<()>
    where
        M: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let immediate = self.immediate;
        let report = ExitReport::new(ctx.shared.clone());
        let fut = async move {
            // First, so that it is dropped last (see `ExitReport`).
            let report = report;
            // The user's future lives in this block only: it is dropped
            // (even after a panic) before the sub-tasks are ended.
            let result = {
                let mut make = Some(make);
                let mut fut = std::pin::pin!(CatchDrop {
                    fut: None,
                    shared: &ctx.shared,
                });
                let mut first = true;
                // Ready once the task has been polled for the first time:
                // signalled after that poll returns, when the task yields its
                // thread, so the supervisor woken by it gets to run next even
                // if the task then blocks the thread. A panic (also while
                // building the future) is caught here, so the sub-tasks are
                // ended and waited for on that path too.
                let result = std::future::poll_fn(|cx| {
                    let poll = catch_unwind(AssertUnwindSafe(|| {
                        let mut fut = fut.as_mut().project().fut;
                        if let Some(make) = make.take() {
                            fut.set(Some(make(ctx.clone())));
                        }
                        // Always `Some` here: a panic in `make` ends the
                        // poll_fn, which is then never polled again.
                        match fut.as_pin_mut() {
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
                .await;
                // Dropped here, so that a `Drop` that panics fails this
                // incarnation like any other panic.
                match catch_unwind(AssertUnwindSafe(|| fut.as_mut().project().fut.set(None))) {
                    Ok(()) => result,
                    Err(payload) => {
                        let message = crate::node::panic_message(&*payload);
                        crate::error::drop_quietly(payload);
                        // A panic while polling is the one reported.
                        result.and(Err(message))
                    }
                }
            };
            // Sub-tasks end with their incarnation, before it is reported.
            let (result, leftover) = ctx.shared.finish(result).await;
            let output = match result {
                Err(message) => Output::Panicked(message, leftover),
                Ok(result) => Output::Worker(result, leftover),
            };
            report.send(output);
        };
        // Without a subscriber the span is disabled: spawn the bare future
        // rather than carry a span nobody records.
        if self.span.is_disabled() {
            tokio::spawn(fut)
        } else {
            tokio::spawn(fut.instrument(self.span))
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

pin_project_lite::pin_project! {
    /// Holds an incarnation's future. Dropping it while the task is aborted
    /// catches a panic of the future's `Drop` and parks its message, so the
    /// supervisor reports that panic, not a plain abort.
    struct CatchDrop<'a, F> {
        #[pin]
        fut: Option<F>,
        shared: &'a crate::context::Shared,
    }

    impl<F> PinnedDrop for CatchDrop<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut fut = this.fut;
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| fut.set(None))) {
                let message = crate::node::panic_message(&*payload);
                crate::error::drop_quietly(payload);
                this.shared.park_result(Err(message));
            }
        }
    }
}
