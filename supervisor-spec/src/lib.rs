//! Declarative, validated model of a supervision tree.
//!
//! This crate holds the *description* of a tree — what runs, how it is
//! restarted, how it is stopped — and nothing that runs it: no tokio, no
//! clock. The policy engine (`supervisor-policy`) and the runtime
//! (`supervisor-runtime`) build on these types; config files and the JSON
//! Schema are their serialized form.
//!
//! - [`SupervisorSpec`]: a supervisor's [`Strategy`], [`Intensity`],
//!   [`AutoShutdown`], shutdown budget and ordered children.
//! - [`ChildSpec`]: one child, its [`ChildKind`] (async worker, blocking
//!   worker, nested supervisor) and its policies: [`Restart`], significance,
//!   [`Shutdown`], [`Backoff`], [`Budget`], [`Readiness`], liveness,
//!   dependencies and tags.
//! - [`SupervisorSpec::validate`] checks a whole tree at once and returns a
//!   [`ValidatedSpec`] (with warnings) or a [`ValidationError`] listing every
//!   problem with its place.
//! - `load_config_file` (feature `config`, on by default) loads a tree from
//!   a YAML or TOML file and validates it; its `ConfigError` places every
//!   problem at a line of the file.
//!
//! Every field has a documented default, chosen with OTP, systemd and
//! Kubernetes as the reference; [`limits`] bounds what a spec may ask for.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use supervisor_spec::{Backoff, ChildSpec, Restart, Strategy, SupervisorSpec};
//!
//! let tree = SupervisorSpec::new("root")?
//!     .with_intensity(5, Duration::from_secs(10))
//!     .with_child(ChildSpec::worker("db")?)
//!     .with_child(
//!         ChildSpec::worker("ingest")?
//!             .with_restart(Restart::Transient)
//!             .with_backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30)))
//!             .with_depends_on(["db"])?,
//!     )
//!     .with_child(ChildSpec::supervisor(
//!         SupervisorSpec::new("jobs")?
//!             .with_strategy(Strategy::OneForAll)
//!             .with_child(ChildSpec::blocking("writer")?),
//!     ));
//!
//! let valid = tree.validate()?;
//! assert_eq!(valid.spec().children.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same tree in YAML:
//!
//! ```yaml
//! id: root
//! intensity: { max_restarts: 5, period: 10s }
//! children:
//!   - id: db
//!   - id: ingest
//!     restart: transient
//!     backoff: { initial: 100ms, max: 30s }
//!     depends_on: [db]
//!   - id: jobs
//!     supervisor:
//!       strategy: one_for_all
//!       children:
//!         - id: writer
//!           kind: blocking
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

mod backoff;
mod budget;
mod child;
#[cfg(feature = "config")]
mod config;
mod duration;
mod error;
mod id;
mod id_hash;
pub mod limits;
mod path;
mod problem;
mod readiness;
mod render;
mod shutdown;
mod supervisor;
mod validate;

pub use backoff::Backoff;
pub use budget::{Budget, OnExhausted};
pub use child::{ChildKind, ChildSpec, Restart};
#[cfg(feature = "config")]
pub use config::{
    ConfigError, ConfigFormat, ConfigProblem, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH,
    load_config_bytes, load_config_file, load_config_str,
};
pub use error::IdError;
pub use id::{ChildId, MAX_ID_LEN, MAX_TASK_NAME_LEN, TaskName};
pub use path::ChildPath;
pub use problem::{Diagnostics, Location, Problem, ValidatedSpec, ValidationError};
pub use readiness::Readiness;
pub use shutdown::Shutdown;
pub use supervisor::{AutoShutdown, Intensity, ShutdownOrder, Strategy, SupervisorSpec};
pub use validate::Siblings;
