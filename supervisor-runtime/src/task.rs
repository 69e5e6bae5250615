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

use crate::node::Output;
use crate::unwind::message_of;

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
        let task = Incarnation {
            stage: Stage::Make { make: Some(make) },
            shared: ctx.shared,
            immediate: self.immediate,
            armed: true,
        };
        // Without a subscriber the span is disabled: spawn the bare future
        // rather than carry a span nobody records.
        if self.span.is_disabled() {
            tokio::spawn(task)
        } else {
            tokio::spawn(task.instrument(self.span))
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
    /// One incarnation's task, written out by hand rather than as an
    /// `async` block, so that it adds 24 bytes to the user's future: a
    /// task's state is then small enough for tokio's 256-byte task cell
    /// for most futures, instead of the 384-byte one.
    ///
    /// The user's future is built at the first poll (so a panic while
    /// building it is caught like any other) and the incarnation is ready
    /// once that first poll returns (when the task yields its thread, so
    /// the supervisor woken by it runs next even if the task then blocks
    /// the thread). The future is dropped before its result counts, then
    /// the end is reported, with the sub-tasks still running left to the
    /// supervisor to end. Panics while
    /// building, polling or dropping it, and errors whose `Display`
    /// panics, end it with the panic's message. Dropped before it reported
    /// (aborted, or its runtime shut down), it drops the future first and
    /// then reports `Aborted`, so the supervisor never hears of the end
    /// while the task's own state is still alive.
    struct Incarnation<M, Fut> {
        #[pin]
        stage: Stage<M, Fut>,
        shared: Arc<crate::context::Shared>,
        // Signal readiness after the next poll (immediate readiness).
        immediate: bool,
        // Report `Aborted` when dropped: no end was reported yet.
        armed: bool,
    }

    impl<M, Fut> PinnedDrop for Incarnation<M, Fut> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A panic of the future's `Drop` is parked, so the supervisor
            // reports it, not a plain abort.
            if let Err(message) = drop_stage(this.stage) {
                this.shared.park_panic(message);
            }
            if *this.armed {
                this.shared.report_exit(Output::Aborted);
            }
        }
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<M, Fut> {
        Make { make: Option<M> },
        Run { #[pin] fut: Fut },
        Done,
    }
}

/// Drops the stage (the user's future) in place, catching a panic of its
/// `Drop`.
fn drop_stage<M, Fut>(mut stage: Pin<&mut Stage<M, Fut>>) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| stage.set(Stage::Done))).map_err(message_of)
}

impl<M, Fut> Incarnation<M, Fut> {
    /// Reports how the incarnation ended, with the sub-tasks that were left.
    fn report(
        shared: &crate::context::Shared,
        armed: &mut bool,
        result: crate::context::Ended,
        leftover: usize,
    ) {
        let output = match result {
            Err(message) => Output::Panicked(message, leftover),
            Ok(result) => Output::Worker(result, leftover),
        };
        *armed = false;
        shared.report_exit(output);
    }
}

impl<M, Fut, E> Future for Incarnation<M, Fut>
where
    M: FnOnce(TaskContext) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError> + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let shared = &*this.shared;
        let poll = catch_unwind(AssertUnwindSafe(|| {
            let make = match this.stage.as_mut().project() {
                StageProj::Make { make } => make.take(),
                _ => None,
            };
            if let Some(make) = make {
                let ctx = TaskContext {
                    shared: shared.clone(),
                };
                this.stage.set(Stage::Run { fut: make(ctx) });
            }
            match this.stage.as_mut().project() {
                // Rendered here, so an error whose `Display` panics is a
                // panic of this task.
                StageProj::Run { fut } => fut
                    .poll(cx)
                    .map(|r| r.map_err(|e| crate::error::rendered(e.into()))),
                // Not reached: the stage runs from the first poll until
                // it ends, and this task is not polled after it reported.
                _ => Poll::Pending,
            }
        }));
        if std::mem::take(this.immediate) {
            if matches!(poll, Ok(Poll::Pending)) {
                shared.set_ready();
            } else {
                // It ended in its first poll: its exit carries its readiness
                // along (see `Shared::set_ready_flag`).
                shared.set_ready_flag();
            }
        }
        let result = match poll {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => Ok(result),
            Err(payload) => Err(message_of(payload)),
        };
        // Dropped here, before the sub-tasks end; a panic while polling is
        // the one reported if dropping panics too.
        let dropped = drop_stage(this.stage.as_mut());
        let result = match (result, dropped) {
            (Ok(result), Ok(())) => Ok(result),
            (Ok(result), Err(message)) => {
                crate::error::drop_quietly(result);
                Err(message)
            }
            (Err(message), _) => Err(message),
        };
        // Sub-tasks end with their incarnation: those still running are
        // left to its supervisor, which aborts them and waits for them (at
        // most the child's abort wait: one may block its thread) before
        // the end counts and a successor starts (see `Node::on_exit`).
        let running = shared.close();
        Self::report(shared, this.armed, result, running);
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::Incarnation;
    use crate::TaskContext;

    /// The size of an incarnation's task around a user future of type `Fut`.
    fn overhead<M, Fut>(_: &M) -> (usize, usize)
    where
        M: FnOnce(TaskContext) -> Fut,
        Fut: Future,
    {
        let future = std::mem::size_of::<Fut>();
        (future, std::mem::size_of::<Incarnation<M, Fut>>() - future)
    }

    /// What the runtime adds to the user's future stays small enough that
    /// an idle worker's task fits tokio's 256-byte task cell (160 bytes of
    /// future, next to the cell's 96 bytes of its own).
    #[test]
    fn an_incarnation_adds_little_to_the_users_future() {
        let idle = |ctx: TaskContext| async move {
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        };
        let (future, added) = overhead(&idle);
        assert!(added <= 24, "{added} bytes added to a {future}-byte future");
        assert!(future + added <= 160, "{future} + {added} bytes");
    }
}
