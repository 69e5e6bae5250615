//! The contenders: one adapter per library, each in its own file, all
//! behind one object-safe trait so every scenario drives them alike.

use std::sync::Arc;

use crate::scenarios::Row;
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

mod ours;
mod ractor;
mod raw_tokio;
mod rust_tokio_supervisor;
mod task_supervisor;
mod tokio_graceful_shutdown;

/// A library under test.
pub trait Contender: Sync {
    /// Short name: the column header and the heap probe's argument.
    fn key(&self) -> &'static str;

    /// Crate and exact version (as pinned in Cargo.toml).
    fn version(&self) -> &'static str;

    /// Starts `n` idle, supervised children, each of which calls
    /// `entered.arrive()` first and then waits to be stopped. Resolves once
    /// the library's own start call returns; the harness then waits for
    /// `entered`.
    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>>;

    /// Starts `siblings` idle children and, after them, the failing
    /// `victim`, to be restarted at once (no backoff, no limit) on every
    /// error or panic.
    fn start_restarting(
        &self,
        victim: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>>;

    /// What the cell of `row` must say next to (or instead of) the number:
    /// a minimum delay the library enforces, or why it stops restarting.
    fn note(&self, _row: Row) -> Option<&'static str> {
        None
    }
}

/// A running tree of one contender.
pub trait Tree: Send {
    /// Stops every child cooperatively and waits until the library says
    /// they are all down.
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>>;
}

/// Every contender, raw tokio first (the lower bound every ratio is taken
/// against), then ours, then the peers.
pub fn all() -> Vec<Box<dyn Contender>> {
    vec![
        Box::new(raw_tokio::RawTokio),
        Box::new(ours::Ours::parallel()),
        Box::new(ractor::Ractor),
        Box::new(tokio_graceful_shutdown::TokioGracefulShutdown),
        Box::new(task_supervisor::TaskSupervisor),
        Box::new(rust_tokio_supervisor::RustTokioSupervisor),
    ]
}

/// Ours with the default `ShutdownOrder::Sequential`, for the one extra
/// shutdown row.
pub fn ours_sequential() -> Box<dyn Contender> {
    Box::new(ours::Ours::sequential())
}
