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
