//! The journal, the summary, metrics values and tracing after scripted runs.

use std::time::Duration;

use supervisor_observe::{Journal, JournalQuery, MetricsObserver, SummaryCollector};
use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, Restart, SupervisorSpec};

/// Fails its first `n` incarnations, then runs until stopped.
fn fails_first(
    n: u64,
) -> impl Fn(
    TaskContext,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), std::io::Error>> + Send>>
+ Send
+ Sync
+ 'static {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    move |ctx| {
        let run = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if run < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
                return Err(std::io::Error::other("flaky"));
            }
            ctx.cancelled().await;
            Ok(())
        })
    }
}

fn spec() -> SupervisorSpec {
    SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(10_000, Duration::from_secs(1))
        .with_child(
            ChildSpec::worker("flaky")
                .unwrap()
                .with_backoff(Backoff::none())
                .with_restart(Restart::Transient),
        )
        .with_child(
            ChildSpec::worker("steady")
                .unwrap()
                .with_task("ok")
                .unwrap(),
        )
}

#[tokio::test(start_paused = true)]
async fn the_journal_stays_bounded_over_a_long_run() {
    let journal = Journal::new(64);
    let tree = Supervisor::new(spec())
        .task("flaky", fails_first(2_000))
        .task("ok", fails_first(0))
        .observer(journal.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(journal.len(), 64);
    assert!(journal.seen() >= 8_000, "saw {}", journal.seen());
    let steady = journal.query(&JournalQuery::default().under("root/steady"));
    assert!(steady.is_empty(), "old events were evicted");
    let recent = journal.query(&JournalQuery::default().under("root/flaky").limit(5));
    assert_eq!(recent.len(), 5);
    assert!(recent.windows(2).all(|w| w[0].elapsed <= w[1].elapsed));
    let since = recent[2].elapsed;
    assert!(
        journal
            .query(&JournalQuery::default().since(since))
            .iter()
            .all(|e| e.elapsed >= since)
    );
    assert!(
        journal
            .query(&JournalQuery::default().until(Duration::ZERO))
            .is_empty()
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_summary_counts_starts_restarts_and_failures_per_child() {
    let summary = SummaryCollector::new();
    let tree = Supervisor::new(spec())
        .task("flaky", fails_first(3))
        .task("ok", fails_first(0))
        .observer(summary.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = tree.shutdown().await;
    let s = summary.summary(Some(&report));
    let flaky = &s.children["root/flaky"];
    assert_eq!((flaky.starts, flaky.restarts, flaky.failures), (4, 3, 3));
    assert_eq!(flaky.exits["failed"], 3);
    assert_eq!(
        flaky.last_error.as_deref(),
        Some("task returned an error: flaky")
    );
    assert_eq!(s.children["root/steady"].starts, 1);
    assert_eq!(s.failures_by_reason()["failed"], 3);
    let text = s.to_string();
    assert!(text.contains("root/flaky"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["children"]["root/flaky"]["restarts"], 3);
    assert_eq!(json["report"]["children"][0]["outcome"], "stopped");
}

/// What a debugging recorder holds: key, unit, description, value.
type Snapshot = Vec<(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    metrics_util::debugging::DebugValue,
)>;

/// Runs `run` on a paused current-thread runtime, recording metrics, and
/// returns what was recorded.
fn metrics_of<F: std::future::Future<Output = ()>>(run: impl FnOnce() -> F) -> Snapshot {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || rt.block_on(run()));
    snapshotter.snapshot().into_vec()
}

/// The value of metric `name` with `labels` (among others) in `snapshot`,
/// as its debug text.
fn value_of(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<String> {
    snapshot.iter().find_map(|(key, _, _, value)| {
        let k = key.key();
        let ok = k.name() == name
            && labels
                .iter()
                .all(|(l, v)| k.labels().any(|lab| lab.key() == *l && lab.value() == *v));
        ok.then(|| format!("{value:?}"))
    })
}

#[test]
fn metrics_follow_a_scripted_run() {
    use metrics_util::debugging::DebugValue;
    let snapshot = metrics_of(|| async {
        let tree = Supervisor::new(spec())
            .task("flaky", fails_first(3))
            .task("ok", fails_first(0))
            .observer(MetricsObserver::new())
            .start()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        tree.shutdown().await;
    });
    let find = |name: &str, labels: &[(&str, &str)]| value_of(&snapshot, name, labels);
    assert_eq!(
        find("supervisor_starts_total", &[("path", "root/flaky")]),
        Some(format!("{:?}", DebugValue::Counter(4)))
    );
    assert_eq!(
        find("supervisor_restarts_total", &[("path", "root/flaky")]),
        Some(format!("{:?}", DebugValue::Counter(3)))
    );
    assert_eq!(
        find(
            "supervisor_exits_total",
            &[("path", "root/flaky"), ("exit", "failed")]
        ),
        Some(format!("{:?}", DebugValue::Counter(3)))
    );
    // After shutdown every child reads stopped.
    assert_eq!(
        find(
            "supervisor_child_state",
            &[("path", "root/steady"), ("state", "stopped")]
        ),
        Some(format!("{:?}", DebugValue::Gauge(1.0.into())))
    );
    assert_eq!(
        find(
            "supervisor_child_state",
            &[("path", "root/steady"), ("state", "ready")]
        ),
        Some(format!("{:?}", DebugValue::Gauge(0.0.into())))
    );
    assert!(find("supervisor_shutdown_duration_seconds", &[("path", "root")]).is_some());
    assert!(
        find(
            "supervisor_time_to_ready_seconds",
            &[("path", "root/steady")]
        )
        .is_some()
    );
}

/// A child detached (it did not end after its abort wait) has no `Exited`
/// event: its stop still ends its `stopping` state, and counts as an exit.
#[test]
fn a_detached_child_does_not_stay_stopping() {
    use metrics_util::debugging::DebugValue;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use supervisor_runtime::BlockingContext;
    use supervisor_spec::Shutdown;
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    // Ignores its stop until released (60 s at most).
    let stuck = move |_ctx: BlockingContext| -> Result<(), std::io::Error> {
        for _ in 0..12_000 {
            if r.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    };
    let spec = SupervisorSpec::new("root").unwrap().with_child(
        ChildSpec::blocking("stuck")
            .unwrap()
            .with_restart(Restart::Temporary)
            .with_shutdown(Shutdown::BrutalKill {
                abort_wait: Duration::from_millis(100),
            }),
    );
    let snapshot = metrics_of(|| async {
        let tree = Supervisor::new(spec)
            .blocking_task("stuck", stuck)
            .observer(MetricsObserver::new())
            .start()
            .await
            .unwrap();
        // Answers once the child is down: detached, here.
        tree.handle()
            .terminate_child("root/stuck", None)
            .await
            .unwrap();
        tree.shutdown().await;
    });
    release.store(true, Ordering::SeqCst);
    let find = |name: &str, labels: &[(&str, &str)]| value_of(&snapshot, name, labels);
    let state = |s: &str| {
        find(
            "supervisor_child_state",
            &[("path", "root/stuck"), ("state", s)],
        )
    };
    assert_eq!(
        state("stopping"),
        Some(format!("{:?}", DebugValue::Gauge(0.0.into())))
    );
    assert_eq!(
        state("stopped"),
        Some(format!("{:?}", DebugValue::Gauge(1.0.into())))
    );
    assert_eq!(
        find(
            "supervisor_exits_total",
            &[("path", "root/stuck"), ("exit", "stopped")]
        ),
        Some(format!("{:?}", DebugValue::Counter(1)))
    );
}
