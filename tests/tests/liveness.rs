//! Liveness: a missed heartbeat deadline fails the incarnation.

mod support;

use std::time::Duration;

use supervisor_runtime::{Supervisor, TaskContext};
use support::{Recorder, root, worker};

#[tokio::test(start_paused = true)]
async fn a_missed_heartbeat_stops_and_restarts_the_child() {
    let rec = Recorder::default();
    let hangs_first = |ctx: TaskContext| async move {
        let hang = ctx.generation().0 == 1;
        loop {
            tokio::select! {
                _ = ctx.cancelled() => return Ok::<(), std::io::Error>(()),
                _ = tokio::time::sleep(Duration::from_millis(400)) => {
                    if !hang {
                        ctx.heartbeat();
                    }
                }
            }
        }
    };
    let spec = root([worker("a").with_liveness(Duration::from_secs(1))]);
    let tree = Supervisor::new(spec)
        .task("a", hangs_first)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        rec.lines(&["liveness_missed", "stop_requested", "exited", "started"]),
        [
            "root/a started",
            "root/a liveness missed",
            "root/a stop requested (liveness deadline missed)",
            "root/a exited stopped",
            "root/a restarted attempt 1",
        ]
    );
    let lines = rec.lines(&["liveness_missed"]);
    assert_eq!(lines.len(), 1, "the heartbeating incarnation stays alive");
    let snap = tree.handle().child("root/a").await.unwrap();
    assert_eq!(
        snap.last_error.as_deref(),
        Some("no heartbeat within the liveness deadline of 1s")
    );
    tree.shutdown().await;
}

/// A heartbeat counts from when it was made, not from the whole
/// millisecond before it: 99.1 ms after a heartbeat, a 100 ms deadline is
/// not missed.
#[tokio::test(start_paused = true)]
async fn a_heartbeat_counts_from_when_it_was_made_not_from_the_millisecond_before() {
    let rec = Recorder::default();
    let beat = std::sync::Arc::new(tokio::sync::Notify::new());
    let b = beat.clone();
    let task = move |ctx: TaskContext| {
        let b = b.clone();
        async move {
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return Ok::<(), std::io::Error>(()),
                    _ = b.notified() => ctx.heartbeat(),
                }
            }
        }
    };
    let tree = Supervisor::new(root(
        [worker("a").with_liveness(Duration::from_millis(100))],
    ))
    .task("a", task)
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    let t0 = tokio::time::Instant::now();
    tokio::time::advance(Duration::from_micros(900)).await;
    beat.notify_one();
    support::settle().await;
    tokio::time::advance(Duration::from_micros(99_100)).await;
    support::settle().await;
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
    assert_eq!(rec.lines(&["liveness_missed"]), Vec::<String>::new());
    tree.shutdown().await;
}

/// A transient job whose run takes exactly its liveness deadline
/// completes: an exit at a deadline voids it, as readiness does.
#[tokio::test(start_paused = true)]
async fn completing_exactly_at_the_liveness_deadline_is_a_completion() {
    let rec = Recorder::default();
    let task = |_ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<(), std::io::Error>(())
    };
    let idle = |ctx: TaskContext| async move {
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let tree = Supervisor::new(root([
        worker("a")
            .with_restart(supervisor_spec::Restart::Transient)
            .with_liveness(Duration::from_millis(100)),
        worker("b"),
    ]))
    .task("a", task)
    .task("b", idle)
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines: Vec<String> = rec
        .lines(&["started", "liveness_missed", "exited"])
        .into_iter()
        .filter(|l| l.starts_with("root/a"))
        .collect();
    assert_eq!(lines, ["root/a started", "root/a exited completed"]);
    tree.shutdown().await;
}
