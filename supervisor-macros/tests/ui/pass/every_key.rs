//! Every key in its group form, lint-clean under strict lints.

#![deny(warnings, missing_docs, missing_debug_implementations, unreachable_pub)]

use std::time::Duration;

use supervisor_runtime::{Supervised, Supervisor, TaskContext, supervised};
use supervisor_spec::{Restart, SupervisorSpec};

/// Reads from the queue.
#[supervised(
    id = "ingest-1",
    description = "reads from the queue",
    task = "jobs::ingest",
    restart = "transient",
    significant = true,
    shutdown(timeout = "5s", abort_wait = "1s"),
    backoff(initial = "100ms", max = "30s", multiplier = 1.5, jitter = 0.1, reset_after = "1m"),
    budget(max_restarts = 5, window = "1m", on_exhausted = "quarantine", retry_after = "5m"),
    readiness(explicit = "10s"),
    liveness = "2s",
    depends_on = ["db", "cache"],
    tags = ["http"],
)]
pub async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.ready();
    loop {
        tokio::select! {
            _ = ctx.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => ctx.heartbeat(),
        }
    }
}

fn main() {
    let spec = ingest.child_spec();
    assert_eq!(spec.id, "ingest-1");
    assert_eq!(spec.restart, Restart::Transient);
    assert_eq!(spec.liveness, Some(Duration::from_secs(2)));
    let _tree = Supervisor::new(SupervisorSpec::new("root").unwrap()).supervised(ingest);
}
