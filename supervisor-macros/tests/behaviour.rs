//! Trees built from `#[supervised]` fns: the spec each fn declares, and
//! the runtime honouring it on a paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use supervisor_runtime::{
    Event, EventKind, Observer, Supervised, Supervisor, TaskContext, supervised,
};
use supervisor_spec::{Backoff, Budget, Readiness, Restart, Shutdown, SupervisorSpec};

/// Incarnations of `flaky` and `finisher` so far.
static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);
static FINISHER_RUNS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
struct Flake;

impl std::fmt::Display for Flake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaked")
    }
}

impl std::error::Error for Flake {}

/// Fails its first two incarnations, then runs until stopped.
#[supervised(
    restart = "transient",
    backoff(initial = "100ms", max = "30s", jitter = 0.0),
    shutdown = "5s",
    readiness = "explicit",
    tags = ["ingest"],
)]
async fn flaky(ctx: TaskContext) -> Result<(), Flake> {
    let n = FLAKY_RUNS.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        return Err(Flake);
    }
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

/// Ends normally at once: a transient child that is not restarted.
#[supervised(restart = "transient", id = "finisher-1", depends_on = ["flaky"])]
async fn finisher(_ctx: TaskContext) -> Result<(), std::io::Error> {
    FINISHER_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Every key, to compare with the spec it declares.
#[supervised(
    id = "every-key",
    description = "all of them",
    task = "jobs::every",
    restart = "temporary",
    significant = true,
    shutdown(timeout = "brutal_kill", abort_wait = "2s"),
    backoff(initial = "1s", max = "1m", multiplier = 3, jitter = 0.5, reset_after = "2m"),
    budget(max_restarts = 5, window = "1m", on_exhausted = "quarantine", retry_after = "5m"),
    readiness(explicit = "10s"),
    liveness = "2s",
    depends_on = ["db", "cache"],
    tags = ["http", "edge"],
)]
async fn every_key(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    /// `started`, `exited` and `restart_scheduled` events as short lines.
    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| {
                let what = match &e.kind {
                    EventKind::Started { attempt, .. } => format!("started {attempt}"),
                    EventKind::Exited { exit, .. } => format!("exited {}", exit.as_str()),
                    EventKind::RestartScheduled { delay, .. } => format!("restart in {delay:?}"),
                    _ => return None,
                };
                Some(format!("{} {what}", e.path.leaf()))
            })
            .collect()
    }
}

#[test]
fn every_key_lands_in_the_child_spec() {
    let spec = every_key.child_spec();
    assert_eq!(spec.id, "every-key");
    assert_eq!(spec.description.as_deref(), Some("all of them"));
    assert_eq!(spec.task().map(|t| t.as_str()), Some("jobs::every"));
    assert_eq!(spec.restart, Restart::Temporary);
    assert!(spec.significant);
    assert_eq!(
        spec.shutdown,
        Shutdown::BrutalKill {
            abort_wait: Duration::from_secs(2)
        }
    );
    assert_eq!(
        spec.backoff,
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60))
            .with_multiplier(3.0)
            .with_jitter(0.5)
            .with_reset_after(Duration::from_secs(120))
    );
    assert_eq!(
        spec.budget,
        Some(Budget::new(5, Duration::from_secs(60)).quarantine(Some(Duration::from_secs(300))))
    );
    assert_eq!(spec.readiness, Readiness::explicit(Duration::from_secs(10)));
    assert_eq!(spec.liveness, Some(Duration::from_secs(2)));
    assert_eq!(spec.depends_on, ["db", "cache"]);
    assert_eq!(spec.tags, ["http", "edge"]);
}

#[test]
fn the_fn_name_is_the_default_id_and_the_rest_defaults_as_in_a_config_file() {
    #[supervised]
    async fn plain(ctx: TaskContext) -> Result<(), std::io::Error> {
        ctx.cancelled().await;
        Ok(())
    }
    let file: supervisor_spec::ChildSpec = serde_json::from_str(r#"{"id":"plain"}"#).unwrap();
    assert_eq!(plain.child_spec(), file);
}

#[tokio::test(start_paused = true)]
async fn a_tree_of_supervised_fns_restarts_by_their_policies_and_shuts_down() {
    let flaky_spec = flaky.child_spec();
    assert_eq!(flaky_spec.restart, Restart::Transient);
    assert_eq!(
        flaky_spec.readiness,
        Readiness::explicit(Readiness::DEFAULT_TIMEOUT)
    );
    assert_eq!(
        flaky_spec.shutdown,
        Shutdown::graceful(Duration::from_secs(5))
    );
    assert_eq!(finisher.child_spec().depends_on, ["flaky"]);

    let rec = Recorder::default();
    let tree = Supervisor::new(SupervisorSpec::new("root").unwrap())
        .supervised(flaky)
        .supervised(finisher)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    // `start` returns once the tree is ready: after flaky's third
    // incarnation said so and finisher (which waits for it) was polled.
    assert_eq!(FLAKY_RUNS.load(Ordering::SeqCst), 3);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(FINISHER_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(
        rec.lines(),
        [
            "flaky started 0",
            "flaky exited failed",
            "flaky restart in 100ms",
            "flaky started 1",
            "flaky exited failed",
            "flaky restart in 200ms",
            "flaky started 2",
            "finisher-1 started 0",
            "finisher-1 exited completed",
        ]
    );

    let report = tree.shutdown().await;
    assert_eq!(report.children.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_supervised_fn_is_still_a_task_bound_by_name() {
    #[supervised(restart = "temporary")]
    async fn idle(ctx: TaskContext) -> Result<(), String> {
        ctx.cancelled().await;
        Ok(())
    }
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_child(idle.child_spec());
    let tree = Supervisor::new(spec)
        .task("idle", idle)
        .start()
        .await
        .unwrap();
    let report = tree.shutdown().await;
    assert_eq!(report.children.len(), 1);
}
