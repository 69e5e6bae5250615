//! An incarnation's end is reported as it happened: an error it returned is
//! reported as a failure even when the supervisor aborts the task in the
//! moment between the error and the end of its owned sub-tasks. Found by
//! `fault_injection.rs`; this is the minimal case.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{Shutdown, Strategy};
use support::{root, worker};

/// `a` and `b` fail at the same instant; `a`'s failure restarts both
/// (one_for_all), and `b` is stopped by an immediate abort (brutal kill).
async fn run(b_spawns: bool) -> (Recorder, bool) {
    let recorder = Recorder::new();
    let returned = Arc::new(AtomicBool::new(false));
    let a = |ctx: TaskContext| async move {
        if ctx.attempt() == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("a fails"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let b = {
        let returned = returned.clone();
        move |ctx: TaskContext| {
            let returned = returned.clone();
            async move {
                if b_spawns {
                    ctx.spawn(std::future::pending());
                }
                if ctx.attempt() == 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    returned.store(true, Ordering::SeqCst);
                    return Err(std::io::Error::other("b fails"));
                }
                ctx.cancelled().await;
                Ok(())
            }
        }
    };
    let spec = root([
        worker("a"),
        worker("b").with_shutdown(Shutdown::brutal_kill()),
    ])
    .with_strategy(Strategy::OneForAll);
    let tree = Supervisor::new(spec)
        .task("a", a)
        .task("b", b)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    tree.shutdown().await;
    (recorder, returned.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn an_error_returned_as_the_abort_comes_is_reported() {
    let (recorder, returned) = run(false).await;
    assert!(returned);
    recorder.assert_in_order(&["root/b exited failed: task returned an error: b fails"]);
}

#[tokio::test(start_paused = true)]
async fn an_error_returned_as_the_abort_comes_is_reported_when_the_task_owns_sub_tasks() {
    let (recorder, returned) = run(true).await;
    assert!(returned, "b returned its error");
    // Today: "root/b exited stopped", "root/b aborted after 0s".
    recorder.assert_in_order(&["root/b exited failed: task returned an error: b fails"]);
}
