//! run_until_signal: SIGTERM shuts the tree down gracefully; a second
//! signal during a long shutdown aborts every child at once.
//!
//! One test in its own binary: the signal goes to the whole process.

#![cfg(unix)]

use std::time::Duration;

use supervisor_runtime::{EndReason, StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, Shutdown, SupervisorSpec};

fn kill(signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success());
}

async fn polite(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

async fn stubborn(_ctx: TaskContext) -> Result<(), std::io::Error> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_and_a_second_signal_aborts() {
    let spec = SupervisorSpec::new("root")
        .unwrap()
        // Stopped in reverse order: `polite` first, then `stubborn`.
        .with_child(
            ChildSpec::worker("stubborn")
                .unwrap()
                .with_shutdown(Shutdown::graceful(Duration::from_secs(3600))),
        )
        .with_child(ChildSpec::worker("polite").unwrap());
    let tree = Supervisor::new(spec)
        .task("polite", polite)
        .task("stubborn", stubborn)
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    let run = tokio::spawn(tree.run_until_signal());
    // Let the handlers install before signalling.
    tokio::time::sleep(Duration::from_millis(200)).await;
    kill("-TERM");
    // `stubborn` ignores its stop and has an hour: only the second signal ends it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!run.is_finished(), "still waiting for the stubborn child");
    assert!(handle.end().is_none());
    kill("-INT");
    let end = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the second signal aborts at once")
        .unwrap();
    assert_eq!(end.end, EndReason::Shutdown);
    assert_eq!(
        end.report.find("root/stubborn").unwrap().outcome,
        StopOutcome::Aborted
    );
    assert_eq!(
        end.report.find("root/polite").unwrap().outcome,
        StopOutcome::Stopped
    );
}
