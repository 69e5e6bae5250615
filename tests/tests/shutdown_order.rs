//! Shutdown stops children in reverse start order, dependents first.

mod support;

use supervisor_runtime::Supervisor;
use supervisor_spec::{ChildSpec, ShutdownOrder, SupervisorSpec};
use support::{Alive, Recorder, idle, root, worker};

#[tokio::test(start_paused = true)]
async fn children_stop_one_at_a_time_in_reverse_start_order() {
    let rec = Recorder::default();
    let alive = Alive::default();
    let nested = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(worker("j1").with_task("idle").unwrap())
        .with_child(worker("j2").with_task("idle").unwrap());
    let spec = root([
        worker("a").with_task("idle").unwrap(),
        ChildSpec::supervisor(nested),
        worker("c").with_task("idle").unwrap(),
    ]);
    let tree = Supervisor::new(spec)
        .task("idle", idle(&alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(alive.count(), 4);
    rec.clear();
    tree.shutdown().await;
    assert_eq!(
        rec.lines(&["stop_requested", "stopped"]),
        [
            "root/c stop requested (shutdown)",
            "root/c stopped stopped",
            "root/jobs stop requested (shutdown)",
            "root/jobs/j2 stop requested (shutdown)",
            "root/jobs/j2 stopped stopped",
            "root/jobs/j1 stop requested (shutdown)",
            "root/jobs/j1 stopped stopped",
            "root/jobs stopped stopped",
            "root/a stop requested (shutdown)",
            "root/a stopped stopped",
        ]
    );
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn parallel_order_asks_everyone_at_once_but_dependents_first() {
    let rec = Recorder::default();
    let alive = Alive::default();
    let spec = root([
        worker("db").with_task("idle").unwrap(),
        worker("api")
            .with_task("idle")
            .unwrap()
            .with_depends_on(["db"])
            .unwrap(),
        worker("x").with_task("idle").unwrap(),
    ])
    .with_shutdown_order(ShutdownOrder::Parallel);
    let tree = Supervisor::new(spec)
        .task("idle", idle(&alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    rec.clear();
    tree.shutdown().await;
    let lines = rec.lines(&["stop_requested"]);
    assert_eq!(
        lines,
        [
            "root/x stop requested (shutdown)",
            "root/api stop requested (shutdown)",
            "root/db stop requested (shutdown)",
        ]
    );
    let all = rec.lines(&["stop_requested", "stopped"]);
    let api_stopped = all
        .iter()
        .position(|l| l == "root/api stopped stopped")
        .unwrap();
    let db_asked = all
        .iter()
        .position(|l| l == "root/db stop requested (shutdown)")
        .unwrap();
    assert!(api_stopped < db_asked, "{all:?}");
}

/// In a sequential shutdown a child's end stops the next child at once
/// (the relay), and the supervisor may take the next child's end before
/// the end that let its stop go. The events still come in the order the
/// stops were decided: each child's end before the next child's stop.
/// (On two workers: the relay's target then often runs, and ends, before
/// the supervisor takes the end that stopped it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequential_shutdown_reports_each_end_before_the_next_stop() {
    let rec = Recorder::default();
    let alive = Alive::default();
    let n = 40;
    let spec = root((0..n).map(|i| worker(&format!("w{i}")).with_task("idle").unwrap()));
    let tree = Supervisor::new(spec)
        .task("idle", idle(&alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    rec.clear();
    let report = tree.shutdown().await;
    let expected: Vec<String> = (0..n)
        .rev()
        .flat_map(|i| {
            [
                format!("root/w{i} stop requested (shutdown)"),
                format!("root/w{i} exited stopped"),
                format!("root/w{i} stopped stopped"),
            ]
        })
        .collect();
    assert_eq!(
        rec.lines(&["stop_requested", "exited", "stopped"]),
        expected
    );
    assert!(
        report
            .children
            .iter()
            .all(|c| c.outcome == supervisor_runtime::StopOutcome::Stopped),
        "{report:?}"
    );
    assert_eq!(alive.count(), 0);
}

/// A stop made by the relay keeps its child's graceful timeout, counted
/// from the moment the previous child ended: a child that ignores it is
/// aborted then, not later.
#[tokio::test(start_paused = true)]
async fn a_relayed_stop_keeps_its_graceful_timeout() {
    let alive = Alive::default();
    let timeout = std::time::Duration::from_secs(1);
    let stubborn = |_ctx: supervisor_runtime::TaskContext| async {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([
        worker("a").with_task("idle").unwrap(),
        worker("b")
            .with_task("stubborn")
            .unwrap()
            .with_shutdown(supervisor_spec::Shutdown::graceful(timeout)),
        worker("c").with_task("idle").unwrap(),
    ]);
    let tree = Supervisor::new(spec)
        .task("idle", idle(&alive))
        .task("stubborn", stubborn)
        .start()
        .await
        .unwrap();
    let t0 = tokio::time::Instant::now();
    let report = tokio::time::timeout(std::time::Duration::from_secs(60), tree.shutdown())
        .await
        .expect("the stubborn child is aborted at its deadline");
    let b = report
        .children
        .iter()
        .find(|c| c.path.to_string() == "root/b")
        .unwrap();
    assert_eq!(
        b.outcome,
        supervisor_runtime::StopOutcome::Aborted,
        "{report:?}"
    );
    assert!(
        b.took >= timeout && b.took < timeout + std::time::Duration::from_millis(10),
        "{:?}",
        b.took
    );
    assert!(t0.elapsed() < timeout + std::time::Duration::from_millis(10));
    assert_eq!(alive.count(), 0);
}
