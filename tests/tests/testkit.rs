//! The test kit: every scripted fault does what it says, on the paused clock.

use std::time::Duration;

use supervisor_runtime::testkit::{Fault, Recorder, Scripted};
use supervisor_runtime::{StopOutcome, Supervisor};
use supervisor_spec::{Backoff, ChildSpec, Readiness, Restart, Shutdown, SupervisorSpec};

fn spec(child: ChildSpec) -> SupervisorSpec {
    SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(100, Duration::from_secs(60))
        .with_child(child.with_backoff(Backoff::none()))
}

async fn run(
    child: ChildSpec,
    script: Scripted,
    wait: Duration,
) -> (Recorder, supervisor_runtime::ShutdownReport) {
    let recorder = Recorder::new();
    let tree = Supervisor::new(spec(child))
        .task("a", script)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(wait).await;
    let report = tree.shutdown().await;
    (recorder, report)
}

#[tokio::test(start_paused = true)]
async fn fail_panic_and_exit_happen_on_the_chosen_start() {
    let script = Scripted::new()
        .on_start(1, Fault::fail("one"))
        .on_start(2, Fault::panic("two"))
        .on_start_after(3, Duration::from_secs(1), Fault::Exit);
    let (rec, _) = run(
        ChildSpec::worker("a").unwrap(),
        script.clone(),
        Duration::from_secs(5),
    )
    .await;
    rec.assert_in_order(&[
        "root/a exited failed: task returned an error: one",
        "root/a exited panicked: task panicked: two",
        "root/a exited completed",
        "root/a restarted (attempt 3)",
    ]);
    assert_eq!(script.starts(), 4);
}

#[tokio::test(start_paused = true)]
async fn hang_ignores_cancellation_and_is_aborted() {
    let child = ChildSpec::worker("a")
        .unwrap()
        .with_shutdown(Shutdown::graceful(Duration::from_secs(2)));
    let (_, report) = run(
        child,
        Scripted::new().on_start(1, Fault::Hang),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(report.find("root/a").unwrap().outcome, StopOutcome::Aborted);
}

#[tokio::test(start_paused = true)]
async fn never_ready_trips_the_readiness_timeout() {
    let child = ChildSpec::worker("a")
        .unwrap()
        .with_readiness(Readiness::explicit(Duration::from_secs(1)))
        .with_restart(Restart::Permanent);
    let recorder = Recorder::new();
    let start = Supervisor::new(spec(child))
        .task("a", Scripted::new().on_start(1, Fault::NeverReady))
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    recorder.assert_in_order(&[
        "root/a stopping: readiness timed out",
        "root/a restarted (attempt 1)",
        "root/a ready",
    ]);
    start.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stop_heartbeat_trips_the_liveness_deadline() {
    let child = ChildSpec::worker("a")
        .unwrap()
        .with_liveness(Duration::from_secs(1));
    let script = Scripted::new().on_start(1, Fault::StopHeartbeat);
    let (rec, _) = run(child, script, Duration::from_secs(5)).await;
    rec.assert_in_order(&[
        "root/a missed its liveness deadline of 1.00s",
        "root/a restarted (attempt 1)",
    ]);
    assert_eq!(
        rec.count("root/a", "liveness_missed"),
        1,
        "the second incarnation heartbeats"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_times_out_with_every_line() {
    let rec = Recorder::new();
    let tree = Supervisor::new(spec(ChildSpec::worker("a").unwrap()))
        .task("a", Scripted::new())
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let err = rec
        .wait_for("never happens", Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("root/a started"), "{err}");
    tree.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_thread_blocks_then_is_detached_or_aborted() {
    let child = ChildSpec::worker("a")
        .unwrap()
        .with_shutdown(Shutdown::Graceful {
            timeout: Duration::from_millis(20),
            abort_wait: Duration::from_millis(20),
        });
    let script = Scripted::new().on_start(1, Fault::BlockThread(Duration::from_millis(400)));
    let (_, report) = run(child, script, Duration::from_millis(50)).await;
    // Detached if the runtime's timers ran while the thread was blocked;
    // aborted if tokio could not drive them until it was free again (a
    // blocked worker can hold up the timer driver). Never stuck, never
    // "stopped": it ignored its cancellation either way.
    let outcome = report.find("root/a").unwrap().outcome;
    assert!(
        matches!(outcome, StopOutcome::Detached | StopOutcome::Aborted),
        "{outcome:?}"
    );
}
