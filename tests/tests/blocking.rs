//! Blocking workers: run on a thread, stop cooperatively, or are reported
//! detached when they ignore their stop.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{BlockingContext, StopOutcome, Supervisor};
use supervisor_spec::{ChildSpec, Shutdown};
use support::root;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooperative_blocking_worker_stops_gracefully() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let worker = move |ctx: BlockingContext| {
        r.store(true, Ordering::SeqCst);
        assert!(
            std::thread::current()
                .name()
                .unwrap()
                .starts_with("sv:root/writer")
        );
        ctx.wait_cancelled(Duration::from_secs(60));
        Ok::<(), std::io::Error>(())
    };
    let tree = Supervisor::new(root([]))
        .blocking_child(ChildSpec::blocking("writer").unwrap(), worker)
        .start()
        .await
        .unwrap();
    let report = tree.shutdown().await;
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(
        report.find("root/writer").unwrap().outcome,
        StopOutcome::Stopped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_worker_ignoring_its_stop_is_reported_detached() {
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let stubborn = move |_ctx: BlockingContext| {
        // Until released, or 60 s at most: never a thread left for good.
        for _ in 0..12_000 {
            if r.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok::<(), std::io::Error>(())
    };
    let spec = root([ChildSpec::blocking("stuck")
        .unwrap()
        .with_shutdown(Shutdown::Graceful {
            timeout: Duration::from_millis(50),
            abort_wait: Duration::from_millis(50),
        })]);
    let tree = Supervisor::new(spec)
        .blocking_task("stuck", stubborn)
        .start()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let report = tree.shutdown().await;
    // Never waited for forever: graceful timeout + abort wait, and a margin.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        report.find("root/stuck").unwrap().outcome,
        StopOutcome::Detached
    );
    release.store(true, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_blocking_worker_is_a_failure_with_its_message() {
    let rec = Recorder::new();
    let boom = |ctx: BlockingContext| -> Result<(), std::io::Error> {
        if ctx.generation().0 == 1 {
            panic!("thread boom");
        }
        // One wait, not a loop: a stop that never came fails the test
        // below instead of keeping its thread forever.
        ctx.wait_cancelled(Duration::from_secs(60));
        Ok(())
    };
    let tree = Supervisor::new(root([ChildSpec::blocking("b").unwrap()]))
        .blocking_task("b", boom)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    rec.wait_for("root/b restarted", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        rec.lines()
            .contains(&"root/b exited panicked: task panicked: thread boom".to_owned()),
        "{:?}",
        rec.lines()
    );
    // Bounded, to fail rather than hang: a supervisor's loop that missed
    // its stop request (a lost wake-up, once) never ends.
    let report = tokio::time::timeout(Duration::from_secs(60), tree.shutdown())
        .await
        .expect("the shutdown ends");
    assert_eq!(
        report.find("root/b").unwrap().outcome,
        StopOutcome::Stopped,
        "{:?}",
        rec.lines()
    );
}

/// A tree whose runtime is dropped without a shutdown (the supervisor's
/// task is dropped with it) asks its blocking workers to stop: their
/// threads cannot be aborted, and would otherwise run for ever.
#[test]
fn a_blocking_worker_is_asked_to_stop_when_its_runtime_goes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (saw, seen) = std::sync::mpsc::channel();
    let (running, is_running) = std::sync::mpsc::channel();
    let worker = move |ctx: BlockingContext| {
        let _ = running.send(());
        // Up to 60 s: a thread never asked fails the test, late.
        let cancelled = (0..600).any(|_| ctx.wait_cancelled(Duration::from_millis(100)));
        let _ = saw.send(cancelled);
        Ok::<(), std::io::Error>(())
    };
    let tree = rt.block_on(async {
        Supervisor::new(root([ChildSpec::blocking("b").unwrap()]))
            .blocking_task("b", worker)
            .start()
            .await
            .unwrap()
    });
    is_running.recv().unwrap();
    // The runtime first: the tree's owner, dropped, would ask the
    // supervisor to shut down, which can no longer run.
    drop(rt);
    drop(tree);
    assert_eq!(seen.recv_timeout(Duration::from_secs(120)), Ok(true));
}
