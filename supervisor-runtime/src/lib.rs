//! Runs supervision trees on tokio: restarts failed tasks by policy, shuts
//! down in order with nothing left behind, and reports every step.
//!
//! The tree is declared with [`supervisor_spec`] types, its restart logic is
//! decided by the pure [`supervisor_policy`] engine (one per supervisor),
//! and this crate carries the decisions out: it spawns incarnations, stops
//! them with their shutdown policies, sleeps until the next deadline, and
//! emits [`Event`]s.
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use supervisor_runtime::{Supervisor, TaskContext};
//! use supervisor_spec::{Backoff, ChildSpec, Restart, SupervisorSpec};
//!
//! async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
//!     loop {
//!         tokio::select! {
//!             _ = ctx.cancelled() => return Ok(()),
//!             _ = tokio::time::sleep(Duration::from_millis(100)) => { /* work */ }
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = SupervisorSpec::new("root")?.with_child(
//!     ChildSpec::worker("ingest")?
//!         .with_restart(Restart::Transient)
//!         .with_backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30))),
//! );
//! let tree = Supervisor::new(spec).task("ingest", ingest).start().await?;
//! let mut events = tree.subscribe();
//! // ... the service runs; `tree.run_until_signal().await` waits for SIGTERM ...
//! let report = tree.shutdown().await;
//! println!("{report}");
//! # let _ = events.try_recv();
//! # Ok(())
//! # }
//! ```
//!
//! # The lifecycle of a child
//!
//! 1. **Start.** Children start in declaration order; a child waits until
//!    every child it `depends_on` is ready. Independent children start
//!    together (see below). Each start is a new *incarnation* with a higher
//!    [`Generation`](supervisor_policy::Generation), a fresh future built by
//!    its [`Task`], and a fresh [`TaskContext`].
//! 2. **Ready.** With `readiness: immediate` a child is ready once its task
//!    has been polled for the first time; with `explicit`, when it calls
//!    [`TaskContext::ready`] — late is a failure.
//! 3. **Exit.** A return, an error or a panic ends the incarnation; the
//!    error or panic message is kept and reported. The engine judges the end
//!    by the child's restart type, budget, the supervisor's intensity, the
//!    backoff, the strategy and the dependencies, and the runtime carries the
//!    decision out: the siblings to stop are stopped (and waited for) first,
//!    and only then is anything restarted, so two incarnations of one child
//!    are never alive at once.
//! 4. **Stop.** A stop cancels the incarnation ([`TaskContext::cancelled`]),
//!    waits its graceful timeout, aborts it, waits its abort wait, and
//!    finally reports it detached (a thread or a task blocking its thread
//!    cannot be forced) — never waiting forever.
//!
//! # Guarantees
//!
//! - A panic in a task is a failure of that child, carrying the panic
//!   message; the supervisor never panics and never calls `process::exit`.
//! - An incarnation is fully ended before its successor starts. Late news
//!   about an old incarnation changes nothing (generation fencing).
//! - Shutdown stops children in reverse start order (dependents first), each
//!   within its shutdown policy; a supervisor's `shutdown` budget bounds the
//!   whole: when it runs out, everything still running is aborted at once.
//! - Shutdown returns a tree-shaped [`ShutdownReport`] saying how each node
//!   ended, whatever the tasks did.
//! - No tree is leaked: dropping the [`RunningTree`] shuts the tree down in
//!   the background; [`RunningTree::shutdown`] does it and waits.
//!
//! One limit comes from tokio itself: a task that blocks its runtime thread
//! (sync I/O or a busy loop in async code) cannot be aborted until it
//! yields, and while it blocks, tokio may be unable to drive the runtime's
//! timers — the supervisor's included. Such a task is still never waited for
//! forever: it is aborted or reported detached as soon as the timers run.
//! Put blocking work in blocking workers (their own threads), which never
//! hold anything up.
//!
//! Independent children start concurrently rather than one after another
//! (as OTP's synchronous start would): a tree of 10,000 workers starts in
//! the time of its slowest child, and `depends_on` states the orderings that
//! matter explicitly.

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

mod binding;
mod config;
mod context;
mod error;
mod event;
mod node;
mod report;
mod signal;
mod snapshot;
mod stop_reason;
mod supervised;
mod supervisor;
mod task;
#[cfg(feature = "test-util")]
pub mod testkit;
mod tree;
mod unwind;

pub use context::{BlockingContext, TaskContext};
pub use error::{ChildFailure, CommandError, StartError, TaskError};
pub use event::{Event, EventKind, Observer};
pub use report::{ShutdownReport, StopOutcome};
pub use snapshot::{NodeSnapshot, NodeState};
pub use stop_reason::StopReason;
pub use supervised::Supervised;
pub use supervisor::{DEFAULT_EVENT_CAPACITY, Supervisor};
#[cfg(feature = "macros")]
pub use supervisor_macros::supervised;
pub use task::{BlockingTask, BoxError, BoxFuture, Spawner, Task};
pub use tree::{ChildCounts, EndReason, RunningTree, SupervisorHandle, TreeEnd};

/// What the code `#[supervised]` generates names by absolute path. Not
/// public API: it changes with the macro.
#[doc(hidden)]
pub mod __private {
    pub use std::time::Duration;

    pub use supervisor_spec::{Backoff, Budget, ChildSpec, Readiness, Restart, Shutdown};

    pub use crate::supervised::{boxed, worker};
}
