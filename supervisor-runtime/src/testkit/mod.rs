//! A kit for testing supervision trees (feature `test-util`): scripted
//! faults to make children misbehave on cue, and an event recorder with
//! assertions, both made for tokio's paused clock.
//!
//! # Examples
//!
//! A test a user can copy: a flaky child is restarted with growing delays,
//! then quarantined by its budget.
//!
//! ```
//! use std::time::Duration;
//! use supervisor_runtime::Supervisor;
//! use supervisor_runtime::testkit::{Fault, Recorder, Scripted};
//! use supervisor_spec::{Backoff, Budget, ChildSpec, SupervisorSpec};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ingest = Scripted::new()
//!     .on_start(1, Fault::fail("connection reset"))
//!     .on_start(2, Fault::panic("corrupt record"))
//!     .on_start(3, Fault::fail("again"));
//! let spec = SupervisorSpec::new("root")?.with_child(
//!     ChildSpec::worker("ingest")?
//!         .with_backoff(
//!             Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1))
//!                 .with_jitter(0.0),
//!         )
//!         .with_budget(Budget::new(2, Duration::from_secs(60)).quarantine(None)),
//! );
//! let recorder = Recorder::new();
//! let tree = Supervisor::new(spec)
//!     .task("ingest", ingest)
//!     .observer(recorder.clone())
//!     .start()
//!     .await?;
//! recorder.wait_for("root/ingest quarantined", Duration::from_secs(10)).await?;
//! assert_eq!(
//!     recorder.restart_delays("root/ingest"),
//!     [Duration::from_millis(100), Duration::from_millis(200)]
//! );
//! recorder.assert_in_order(&[
//!     "root/ingest exited failed: task returned an error: connection reset",
//!     "root/ingest exited panicked: task panicked: corrupt record",
//!     "root/ingest exited failed: task returned an error: again",
//!     "root/ingest quarantined",
//! ]);
//! tree.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod fault;
mod recorder;

pub use fault::{Fault, Scripted};
pub use recorder::{Recorder, WaitTimedOut};
