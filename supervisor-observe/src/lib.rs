//! Watch running supervision trees from outside: everything here consumes
//! the runtime's events and handle, and nothing changes how the tree is
//! supervised.
//!
//! - [`Journal`]: a bounded ring buffer of recent events, queryable by path
//!   and time; memory stays flat however long the tree runs.
//! - [`SummaryCollector`] / [`RunSummary`]: per-child starts, restarts,
//!   failures by reason and last errors, printable as text and JSON.
//! - [`MetricsObserver`]: events as metrics through the `metrics` facade
//!   (names and labels in [`metrics`]).
//! - [`TracingObserver`] and [`format_event`]: structured `tracing` events
//!   and compact human lines.
//! - [`SystemdNotifier`]: `READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`.
//! - [`http`] (feature `http`, on by default; `default-features = false`
//!   drops it and its dependencies): Kubernetes probes, a JSON API, a live
//!   event stream, Prometheus `/metrics`, a dashboard and token-guarded
//!   control, served by [`http::HttpServer`].
//!
//! # Examples
//!
//! ```
//! use supervisor_observe::{Journal, MetricsObserver, SummaryCollector, TracingObserver};
//! use supervisor_runtime::{Supervisor, TaskContext};
//! use supervisor_spec::{ChildSpec, SupervisorSpec};
//!
//! async fn worker(ctx: TaskContext) -> Result<(), std::io::Error> {
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let journal = Journal::new(1024);
//! let summary = SummaryCollector::new();
//! let tree = Supervisor::new(SupervisorSpec::new("root")?)
//!     .child(ChildSpec::worker("worker")?, worker)
//!     .observer(journal.clone())
//!     .observer(summary.clone())
//!     .observer(MetricsObserver::new())
//!     .observer(TracingObserver)
//!     .start()
//!     .await?;
//! let report = tree.shutdown().await;
//! println!("{}", summary.summary(Some(&report)));
//! assert!(journal.len() > 0);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "http")]
pub mod http;
mod journal;
pub mod json;
mod log;
pub mod metrics;
mod summary;
#[cfg(unix)]
mod systemd;

pub use journal::{DEFAULT_JOURNAL_CAPACITY, Journal, JournalQuery};
pub use log::{TracingObserver, format_event};
pub use metrics::MetricsObserver;
pub use summary::{ChildStats, RunSummary, SummaryCollector};
#[cfg(unix)]
pub use systemd::SystemdNotifier;
