//! The demo's supervision tree, built in Rust.
//!
//! `demo.yaml` and `demo.toml` next to this file write the same tree; the
//! demo (`cargo run --example demo`) runs this one, or either file with
//! `--config`. A test in `supervisor-spec` (`tests/config_examples.rs`)
//! includes this file and checks that both load to exactly this spec.
//!
//! - `db`: a connection pool with explicit readiness and a heartbeat.
//! - `api`, `ingest`: depend on `db`; `ingest` is transient, backs off
//!   exponentially and is quarantined for 5 s when it flaps.
//! - `writer`: a blocking worker on a thread of its own.
//! - `jobs`: a nested `one_for_all` supervisor.

use std::time::Duration;

use supervisor_spec::{
    Backoff, Budget, ChildSpec, IdError, Readiness, Restart, Strategy, SupervisorSpec,
};

/// The tree.
pub(crate) fn spec() -> Result<SupervisorSpec, IdError> {
    let jobs = SupervisorSpec::new("jobs")?
        .with_strategy(Strategy::OneForAll)
        .with_child(ChildSpec::worker("scheduler")?)
        .with_child(ChildSpec::worker("reporter")?.with_depends_on(["scheduler"])?);
    Ok(SupervisorSpec::new("root")?
        .with_intensity(10, Duration::from_secs(10))
        .with_shutdown(Duration::from_secs(10))
        .with_child(
            ChildSpec::worker("db")?
                .with_description("connection pool")
                .with_readiness(Readiness::explicit(Duration::from_secs(5)))
                .with_liveness(Duration::from_secs(2)),
        )
        .with_child(
            ChildSpec::worker("api")?
                .with_depends_on(["db"])?
                .with_tag("http"),
        )
        .with_child(
            ChildSpec::worker("ingest")?
                .with_restart(Restart::Transient)
                .with_backoff(Backoff::exponential(
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                ))
                .with_budget(
                    Budget::new(4, Duration::from_secs(10))
                        .quarantine(Some(Duration::from_secs(5))),
                )
                .with_depends_on(["db"])?,
        )
        .with_child(ChildSpec::blocking("writer")?)
        .with_child(ChildSpec::supervisor(jobs)))
}
