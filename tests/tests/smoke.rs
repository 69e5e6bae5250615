//! A tree starts, restarts a failing child, and shuts down with a report.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use supervisor_runtime::{StopOutcome, Supervisor, TaskContext};
use support::{Alive, Recorder, idle, root, settle, worker};

#[tokio::test(start_paused = true)]
async fn a_failing_child_is_restarted_and_shutdown_reports_everything() {
    let rec = Recorder::default();
    let alive = Alive::default();
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let flaky = move |ctx: TaskContext| {
        let n = r.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                return Err(std::io::Error::other("boom"));
            }
            ctx.cancelled().await;
            Ok(())
        }
    };
    let tree = Supervisor::new(root([worker("a"), worker("flaky")]))
        .task("a", idle(&alive))
        .task("flaky", flaky)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(
        rec.lines(&["started", "exited"]),
        [
            "root/a started",
            "root/flaky started",
            "root/flaky exited failed (task returned an error: boom)",
            "root/flaky restarted attempt 1",
        ]
    );
    let report = tree.shutdown().await;
    assert_eq!(report.count(StopOutcome::Stopped), 3, "{report}");
    assert_eq!(alive.count(), 0);
}
