//! The events of a shutdown tell it in order: every supervisor's
//! `ShutdownBegun` before its `ShutdownCompleted`, every stop announced by
//! a `StopRequested` before its `Stopped`; the report's outcomes agree; and
//! when the shutdown is reported complete, nothing of the tree runs.
//! Found by `fault_injection.rs`; these are the minimal cases.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{EventKind, StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{AutoShutdown, ChildSpec, Restart, Shutdown, SupervisorSpec};

/// The plain lines of the events about exactly `path`.
fn lines_of(recorder: &Recorder, path: &str) -> Vec<String> {
    recorder
        .lines()
        .into_iter()
        .filter(|l| l.split(' ').next() == Some(path))
        .collect()
}

fn position(lines: &[String], wanted: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(wanted))
        .unwrap_or_else(|| panic!("no line with {wanted:?} in {lines:#?}"))
}

#[tokio::test(start_paused = true)]
async fn a_requested_shutdown_begins_before_it_completes() {
    let recorder = Recorder::new();
    let idle = |ctx: TaskContext| async move {
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_child(ChildSpec::worker("a").unwrap());
    let tree = Supervisor::new(spec)
        .task("a", idle)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    tree.shutdown().await;
    let lines = lines_of(&recorder, "root");
    assert!(position(&lines, "shutting down") < position(&lines, "shut down in"));
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_that_gives_up_with_no_child_alive_begins_its_shutdown_before_completing_it() {
    let recorder = Recorder::new();
    let broken = |_ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Err::<(), _>(std::io::Error::other("broken"))
    };
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(0, Duration::from_secs(10))
        .with_child(ChildSpec::worker("a").unwrap());
    let tree = Supervisor::new(spec)
        .task("a", broken)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    tree.join().await;
    // Today: "root gave up", "root shut down in 0s", "root shutting down (escalated)".
    let lines = lines_of(&recorder, "root");
    assert!(
        position(&lines, "shutting down") < position(&lines, "shut down in"),
        "{lines:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_auto_shutdown_with_no_child_alive_is_reported_in_order_with_the_child_completed() {
    let recorder = Recorder::new();
    let finishes = |ctx: TaskContext| async move {
        ctx.ready();
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<(), std::io::Error>(())
    };
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(
            ChildSpec::worker("job")
                .unwrap()
                .with_restart(Restart::Transient)
                .with_significant(true),
        );
    let tree = Supervisor::new(spec)
        .task("job", finishes)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    let end = tree.join().await;
    assert_eq!(
        end.report.find("root/job").map(|n| n.outcome),
        Some(StopOutcome::Completed),
        "{}",
        end.report
    );
    let lines = lines_of(&recorder, "root");
    assert!(
        position(&lines, "shutting down") < position(&lines, "shut down in"),
        "{lines:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn every_stop_is_announced_even_when_the_budget_aborts_everything() {
    let recorder = Recorder::new();
    let stuck = |_ctx: TaskContext| async move {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let stuck_child = |id: &str| {
        ChildSpec::worker(id)
            .unwrap()
            .with_task("stuck")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(10)))
    };
    // Sequential: `b` is asked first; the budget runs out while it hangs.
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_shutdown(Duration::from_secs(1))
        .with_child(stuck_child("a"))
        .with_child(stuck_child("b"));
    let tree = Supervisor::new(spec)
        .task("stuck", stuck)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    let report = tree.shutdown().await;
    assert_eq!(report.count(StopOutcome::Aborted), 3, "{report}");
    for e in recorder.events() {
        if let EventKind::Stopped { .. } = e.kind {
            let path = e.path.to_string();
            let announced = recorder.events().iter().any(|s| {
                s.path == e.path
                    && s.generation == e.generation
                    && matches!(s.kind, EventKind::StopRequested { .. })
            });
            assert!(
                announced,
                "{path} stopped without a stop request: {:#?}",
                recorder.lines()
            );
        }
    }
}

/// Counts itself alive while it exists.
struct Guard(Arc<AtomicUsize>);

impl Guard {
    fn new(alive: &Arc<AtomicUsize>) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Self(alive.clone())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn the_sub_tasks_of_an_aborted_incarnation_are_gone_when_the_shutdown_completes() {
    let alive = Arc::new(AtomicUsize::new(0));
    // What runs of the tree the moment the root reports its shutdown complete.
    let at_completion = Arc::new(AtomicUsize::new(usize::MAX));
    let observer = {
        let (alive, at_completion) = (alive.clone(), at_completion.clone());
        move |e: &supervisor_runtime::Event| {
            if e.path.len() == 1 && matches!(e.kind, EventKind::ShutdownCompleted { .. }) {
                at_completion.store(alive.load(Ordering::SeqCst), Ordering::SeqCst);
            }
        }
    };
    let task = {
        let alive = alive.clone();
        move |ctx: TaskContext| {
            let alive = alive.clone();
            async move {
                let _incarnation = Guard::new(&alive);
                let sub = Guard::new(&alive);
                ctx.spawn(async move {
                    let _sub = sub;
                    std::future::pending::<()>().await;
                });
                ctx.cancelled().await;
                Ok::<(), std::io::Error>(())
            }
        }
    };
    let spec = SupervisorSpec::new("root").unwrap().with_child(
        ChildSpec::worker("a")
            .unwrap()
            .with_shutdown(Shutdown::brutal_kill()),
    );
    let tree = Supervisor::new(spec)
        .task("a", task)
        .observer(observer)
        .start()
        .await
        .unwrap();
    tokio::task::yield_now().await;
    assert_eq!(alive.load(Ordering::SeqCst), 2);
    let report = tree.shutdown().await;
    assert_eq!(
        report.find("root/a").map(|n| n.outcome),
        Some(StopOutcome::Aborted)
    );
    assert_eq!(at_completion.load(Ordering::SeqCst), 0);
}
