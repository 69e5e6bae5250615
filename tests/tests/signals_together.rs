//! run_until_signal: a second signal that comes together with the first
//! (or between its two waits) still aborts every child at once. A
//! listener made for each wait missed it, and a stubborn child then held
//! the shutdown for its whole graceful timeout (found by a review).
//!
//! One test in its own binary: the signal goes to the whole process.

#![cfg(unix)]

use std::time::Duration;

use supervisor_runtime::{StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, Shutdown, SupervisorSpec};

async fn stubborn(_ctx: TaskContext) -> Result<(), std::io::Error> {
    std::future::pending::<()>().await;
    Ok(())
}

// One thread, held off the signal driver while both signals arrive: it
// then sees them in one pass.
#[tokio::test(flavor = "current_thread")]
async fn a_second_signal_sent_right_after_the_first_aborts() {
    let spec = SupervisorSpec::new("root").unwrap().with_child(
        ChildSpec::worker("stubborn")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(3600))),
    );
    let tree = Supervisor::new(spec)
        .task("stubborn", stubborn)
        .start()
        .await
        .unwrap();
    // Handlers of the test's own, so that a signal that came too early
    // could not end the process.
    use tokio::signal::unix::{SignalKind, signal};
    let _guards = (
        signal(SignalKind::terminate()).unwrap(),
        signal(SignalKind::interrupt()).unwrap(),
    );
    let run = tokio::spawn(tree.run_until_signal());
    // It installs its listeners in its first poll, which comes next.
    tokio::task::yield_now().await;
    let pid = std::process::id();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}; kill -INT {pid}")])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(100));
    // Bounded, to fail rather than wait out the hour.
    let end = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the second signal aborts the shutdown at once")
        .unwrap();
    assert_eq!(
        end.report.find("root/stubborn").unwrap().outcome,
        StopOutcome::Aborted
    );
}
