//! An HTTP server for a running tree (feature `http`, on by default):
//! Kubernetes probes, a JSON API, a live event stream, Prometheus metrics,
//! a dashboard page, and token-guarded control.
//!
//! [`HttpServer`] serves the endpoints listed on it, set up by
//! [`HttpConfig`]; it listens on `127.0.0.1` unless told otherwise, and the
//! control endpoints exist only when a token is configured.
//! [`install_prometheus_recorder`] makes the `metrics` facade record into
//! the registry `/metrics` serves.
//!
//! # Examples
//!
//! ```
//! use supervisor_observe::http::{HttpConfig, HttpServer, install_prometheus_recorder};
//! use supervisor_observe::{Journal, MetricsObserver};
//! use supervisor_runtime::{Supervisor, TaskContext};
//! use supervisor_spec::{ChildSpec, SupervisorSpec};
//!
//! async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = install_prometheus_recorder()?;
//! let journal = Journal::new(1024);
//! let tree = Supervisor::new(SupervisorSpec::new("root")?)
//!     .child(ChildSpec::worker("api")?, api)
//!     .observer(journal.clone())
//!     .observer(MetricsObserver::new())
//!     .start()
//!     .await?;
//! let config = HttpConfig::default()
//!     .bind(([127, 0, 0, 1], 0).into())
//!     .token("ops", "a long random secret")
//!     .journal(journal)
//!     .prometheus(metrics);
//! let server = HttpServer::start(config, tree.handle()).await?;
//! println!("dashboard: http://{}/", server.local_addr());
//! tree.shutdown().await;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod config;
mod control;
mod dashboard;
mod events;
mod probes;
mod prometheus;
mod reply;
mod server;
mod state;

pub use config::{DEFAULT_BODY_LIMIT, HttpConfig};
pub use metrics_exporter_prometheus::PrometheusHandle;
pub use prometheus::{InstallError, install_prometheus_recorder};
pub use server::{HttpServer, SHUTDOWN_GRACE};
