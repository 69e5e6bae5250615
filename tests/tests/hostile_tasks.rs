//! Hostile tasks: tasks that panic inside `Drop`, panic with payloads that
//! are not text, return errors whose `Display` panics or whose `Drop`
//! panics, and observers that panic, are failures of their child (or
//! nothing at all), never of the supervisor, and are reported.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{EventKind, NodeState, StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{Restart, Shutdown};
use support::{Alive, idle, root, worker};

/// Panics when dropped (unless already unwinding).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// The first `Exited` failure of `path`, as one line.
fn first_failure(recorder: &Recorder, path: &str) -> Option<String> {
    recorder.events().into_iter().find_map(|e| match e.kind {
        EventKind::Exited {
            failure: Some(f), ..
        } if e.path.to_string() == path => Some(f.chain()),
        _ => None,
    })
}

/// Runs `task` as the only child (transient: restarted only after a
/// failure), lets it fail once, and returns the recorder and the report.
async fn run_one<T: supervisor_runtime::Task>(
    task: T,
    shutdown: Shutdown,
) -> (Recorder, supervisor_runtime::ShutdownReport) {
    let recorder = Recorder::new();
    let spec = root([worker("a")
        .with_restart(Restart::Transient)
        .with_shutdown(shutdown)]);
    let tree = Supervisor::new(spec)
        .task("a", task)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    recorder
        .wait_for("root/a exited", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = tree.shutdown().await;
    (recorder, report)
}

#[tokio::test(start_paused = true)]
async fn a_panic_inside_drop_is_a_failure_of_that_child() {
    let task = |ctx: TaskContext| async move {
        let _bomb = (ctx.generation().0 == 1).then(|| PanicOnDrop("drop exploded"));
        tokio::time::sleep(Duration::from_secs(1)).await;
        if ctx.generation().0 == 1 {
            return Ok(());
        }
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let (recorder, report) = run_one(task, Shutdown::graceful(Duration::from_secs(1))).await;
    assert_eq!(
        first_failure(&recorder, "root/a").as_deref(),
        Some("task panicked: drop exploded")
    );
    recorder.assert_in_order(&["root/a exited panicked", "root/a restarted"]);
    assert_eq!(report.find("root/a").unwrap().outcome, StopOutcome::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_panic_inside_drop_during_an_abort_is_reported_as_failed_while_stopping() {
    let task = |_ctx: TaskContext| async move {
        let _bomb = PanicOnDrop("drop exploded while aborted");
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let recorder = Recorder::new();
    let tree = Supervisor::new(root([
        worker("a").with_shutdown(Shutdown::graceful(Duration::from_secs(1)))
    ]))
    .task("a", task)
    .observer(recorder.clone())
    .start()
    .await
    .unwrap();
    let report = tree.shutdown().await;
    let a = report.find("root/a").unwrap();
    assert_eq!(a.outcome, StopOutcome::FailedWhileStopping, "{report}");
    assert_eq!(
        a.last_error.as_deref(),
        Some("task panicked: drop exploded while aborted")
    );
}

#[tokio::test(start_paused = true)]
async fn a_sub_task_panicking_inside_drop_disturbs_nothing() {
    let alive = Alive::default();
    let a = alive.clone();
    let task = move |ctx: TaskContext| {
        let alive = a.clone();
        async move {
            let guard = alive.enter();
            ctx.spawn(async move {
                let _guard = guard;
                let _bomb = PanicOnDrop("sub-task drop exploded");
                std::future::pending::<()>().await;
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
            if ctx.generation().0 == 1 {
                return Err(std::io::Error::other("parent fails"));
            }
            ctx.cancelled().await;
            Ok(())
        }
    };
    let (recorder, report) = run_one(task, Shutdown::graceful(Duration::from_secs(1))).await;
    assert_eq!(
        first_failure(&recorder, "root/a").as_deref(),
        Some("task returned an error: parent fails")
    );
    let a = report.find("root/a").unwrap();
    assert_eq!(
        (a.outcome, a.subtasks),
        (StopOutcome::Stopped, 1),
        "{report}"
    );
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn panics_with_any_payload_are_reported_with_their_text_if_any() {
    let task = |ctx: TaskContext| async move {
        match ctx.generation().0 {
            1 => std::panic::panic_any(42_i32),
            2 => std::panic::panic_any("static text"),
            3 => std::panic::panic_any(String::from("owned text")),
            _ => {}
        }
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let recorder = Recorder::new();
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", task)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    support::settle().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let failures: Vec<String> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Exited {
                failure: Some(f), ..
            } => Some(f.chain()),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            "task panicked: <non-string panic payload>",
            "task panicked: static text",
            "task panicked: owned text",
        ]
    );
    tree.shutdown().await;
}

/// Panics when dropped, as a panic payload.
struct PayloadBomb;

impl Drop for PayloadBomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("payload drop exploded");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_payload_that_panics_when_dropped_fails_only_its_child() {
    let task = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            std::panic::panic_any(PayloadBomb);
        }
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let (recorder, report) = run_one(task, Shutdown::graceful(Duration::from_secs(1))).await;
    assert_eq!(
        first_failure(&recorder, "root/a").as_deref(),
        Some("task panicked: <non-string panic payload>")
    );
    assert_eq!(
        report.find("root/a").map(|n| n.outcome),
        Some(StopOutcome::Stopped),
        "{report}"
    );
}

/// An error whose `Display` panics.
#[derive(Debug)]
struct Undisplayable;

impl std::fmt::Display for Undisplayable {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("display exploded")
    }
}

impl std::error::Error for Undisplayable {}

/// An error whose source's `Display` panics.
#[derive(Debug)]
struct WithUndisplayableSource(Undisplayable);

impl std::fmt::Display for WithUndisplayableSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outer")
    }
}

impl std::error::Error for WithUndisplayableSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[tokio::test(start_paused = true)]
async fn errors_whose_display_panics_fail_their_child_and_are_reported() {
    let recorder = Recorder::new();
    // Generations count per supervisor; the first start of a child is attempt 0.
    let direct = |ctx: TaskContext| async move {
        if ctx.attempt() == 0 {
            return Err(Undisplayable);
        }
        ctx.cancelled().await;
        Ok(())
    };
    let source = |ctx: TaskContext| async move {
        if ctx.attempt() == 0 {
            return Err(WithUndisplayableSource(Undisplayable));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let tree = Supervisor::new(root([worker("direct"), worker("source")]))
        .task("direct", direct)
        .task("source", source)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    support::settle().await;
    for path in ["root/direct", "root/source"] {
        let failure = first_failure(&recorder, path);
        assert_eq!(
            failure.as_deref(),
            Some("task panicked: display exploded"),
            "{path}: {:#?}",
            recorder.lines()
        );
    }
    recorder.assert_in_order(&["root/direct exited panicked", "root/direct restarted"]);
    recorder.assert_in_order(&["root/source exited panicked", "root/source restarted"]);
    // The tree goes on: both were restarted, and a snapshot renders.
    let snapshot = tree.handle().tree().await.unwrap();
    assert!(
        snapshot
            .children
            .iter()
            .all(|c| c.state == NodeState::Ready),
        "{snapshot:#?}"
    );
    let report = tree.shutdown().await;
    assert_eq!(report.count(StopOutcome::Stopped), 3, "{report}");
}

/// An error that panics when dropped.
#[derive(Debug)]
struct ErrorBomb;

impl std::fmt::Display for ErrorBomb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an error that explodes when dropped")
    }
}

impl std::error::Error for ErrorBomb {}

impl Drop for ErrorBomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("error drop exploded");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_that_panics_when_dropped_fails_only_its_child() {
    let starts = Arc::new(AtomicUsize::new(0));
    let counted = starts.clone();
    let task = move |ctx: TaskContext| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                return Err(ErrorBomb);
            }
            ctx.cancelled().await;
            Ok(())
        }
    };
    // No observer: the supervisor holds the only reference to each error.
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", task)
        .start()
        .await
        .unwrap();
    support::settle().await;
    assert_eq!(starts.load(Ordering::SeqCst), 3, "restarted twice");
    let h = tree.handle();
    assert!(h.end().is_none(), "the tree ended: {:?}", h.end());
    let report = tree.shutdown().await;
    let a = report
        .find("root/a")
        .map(|n| (n.outcome, n.last_error.clone()));
    assert_eq!(
        a,
        Some((
            StopOutcome::Stopped,
            Some("task returned an error: an error that explodes when dropped".into())
        )),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_observer_that_panics_disturbs_nothing() {
    let alive = Alive::default();
    let tree = Supervisor::new(root([worker("a"), worker("b")]))
        .task("a", idle(&alive))
        .task("b", idle(&alive))
        .observer(|_: &supervisor_runtime::Event| panic!("observer exploded"))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    h.restart_child("root/a", None).await.unwrap();
    assert_eq!(h.count_children("root").await.unwrap().active, 2);
    let report = tree.shutdown().await;
    assert_eq!(report.count(StopOutcome::Stopped), 3, "{report}");
    assert_eq!(alive.count(), 0);
}

/// A sub-task that panics with a payload whose `Drop` panics: the payload
/// is dropped where the sub-task is joined, and that panic must not take
/// the parent's report or the supervisor with it (found by a review).
/// The parent's own failure is reported and restarted as usual.
#[tokio::test(start_paused = true)]
async fn a_sub_task_s_hostile_panic_payload_loses_no_failure() {
    let task = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            ctx.spawn(async { std::panic::panic_any(PanicOnDrop("payload drop exploded")) });
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("parent fails"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let rec = support::Recorder::default();
    let tree = Supervisor::new(root([worker("a").with_restart(Restart::Transient)]))
        .task("a", task)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let lines = rec.lines(&["exited", "started"]);
    tree.shutdown().await;
    assert_eq!(
        lines,
        [
            "root/a started",
            "root/a exited failed (task returned an error: parent fails)",
            "root/a restarted attempt 1",
        ]
    );
}

/// The same payload, left in the sub-task of an incarnation that is
/// aborted: the supervisor reaps the sub-tasks and goes on (before, it
/// panicked and the tree ended).
#[tokio::test(start_paused = true)]
async fn the_supervisor_survives_a_sub_task_s_hostile_panic_payload() {
    let task = |ctx: TaskContext| async move {
        ctx.spawn(async { std::panic::panic_any(PanicOnDrop("payload drop exploded")) });
        // Ignores its stop: aborted at its timeout.
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([worker("a").with_shutdown(Shutdown::graceful(Duration::from_secs(1)))]);
    let tree = Supervisor::new(spec).task("a", task).start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let handle = tree.handle();
    let report = tree.shutdown().await;
    let end = handle.end().unwrap();
    assert_eq!(end.end, supervisor_runtime::EndReason::Shutdown, "{end:?}");
    assert_eq!(
        report.find("root/a").map(|a| a.outcome),
        Some(StopOutcome::Aborted),
        "{report}"
    );
}
