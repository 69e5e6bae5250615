//! Stuck children: graceful timeout, then abort; an overall budget bounds
//! the whole shutdown.

mod support;

use std::time::Duration;

use supervisor_runtime::{StopOutcome, Supervisor, TaskContext};
use supervisor_spec::Shutdown;
use support::{Alive, root, worker};
use tokio::time::Instant;

fn stuck(
    alive: &Alive,
) -> impl Fn(TaskContext) -> support::futures_ready::Idle + Send + Sync + use<> {
    let alive = alive.clone();
    move |_ctx| {
        let alive = alive.clone();
        Box::pin(async move {
            let _g = alive.enter();
            // Ignores cancellation; only an abort ends it.
            std::future::pending::<()>().await;
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_child_ignoring_cancellation_is_aborted_after_its_timeout() {
    let alive = Alive::default();
    let spec = root([worker("s").with_shutdown(Shutdown::graceful(Duration::from_secs(3)))]);
    let tree = Supervisor::new(spec)
        .task("s", stuck(&alive))
        .start()
        .await
        .unwrap();
    let t0 = Instant::now();
    let report = tree.shutdown().await;
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
    assert_eq!(report.find("root/s").unwrap().outcome, StopOutcome::Aborted);
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_budget_bounds_a_tree_of_stuck_children() {
    let alive = Alive::default();
    let children = (0..5).map(|i| {
        worker(&format!("s{i}"))
            .with_task("stuck")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(10)))
    });
    let spec = root(children).with_shutdown(Duration::from_secs(4));
    let tree = Supervisor::new(spec)
        .task("stuck", stuck(&alive))
        .start()
        .await
        .unwrap();
    assert_eq!(alive.count(), 5);
    let t0 = Instant::now();
    let report = tree.shutdown().await;
    // Not 5 x 10 s: the budget (4 s) aborts everything still running.
    assert_eq!(t0.elapsed(), Duration::from_secs(4));
    assert_eq!(report.count(StopOutcome::Aborted), 6, "{report}");
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn brutal_kill_aborts_at_once() {
    let alive = Alive::default();
    let spec = root([worker("s").with_shutdown(Shutdown::brutal_kill())]);
    let tree = Supervisor::new(spec)
        .task("s", stuck(&alive))
        .start()
        .await
        .unwrap();
    let t0 = Instant::now();
    let report = tree.shutdown().await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!(report.find("root/s").unwrap().outcome, StopOutcome::Aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_blocking_its_thread_is_detached_or_aborted_never_waited_for() {
    let hog = |_ctx: TaskContext| async move {
        // Blocks its runtime thread (an abort cannot take effect while it
        // does), then ignores cancellation.
        std::thread::sleep(Duration::from_millis(300));
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([worker("hog").with_shutdown(Shutdown::Graceful {
        timeout: Duration::from_millis(50),
        abort_wait: Duration::from_millis(50),
    })]);
    let tree = Supervisor::new(spec)
        .task("hog", hog)
        .start()
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), tree.shutdown())
        .await
        .expect("shutdown never waits for a blocked task");
    // Detached when the timers ran during the block; aborted when tokio
    // could not drive them until the thread was free (see the runtime docs).
    let outcome = report.find("root/hog").unwrap().outcome;
    assert!(
        matches!(outcome, StopOutcome::Detached | StopOutcome::Aborted),
        "{outcome:?}"
    );
}
