//! Significant children and auto_shutdown on the runtime (OTP).

mod support;

use supervisor_runtime::{EndReason, Supervisor, TaskContext};
use supervisor_spec::{AutoShutdown, Restart};
use support::{Alive, idle, root, worker};

async fn finishes(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.ready();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_tree_shuts_itself_down_when_a_significant_child_completes() {
    let alive = Alive::default();
    let spec = root([
        worker("job")
            .with_restart(Restart::Transient)
            .with_significant(true),
        worker("helper"),
    ])
    .with_auto_shutdown(AutoShutdown::AnySignificant);
    let tree = Supervisor::new(spec)
        .task("job", finishes)
        .task("helper", idle(&alive))
        .start()
        .await
        .unwrap();
    let end = tree.join().await;
    assert_eq!(end.end, EndReason::AutoShutdown);
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn all_significant_waits_for_every_significant_child() {
    let alive = Alive::default();
    let tree = all_significant_pair(Restart::Temporary, &alive).await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(
        tree.handle().child("root/job2").await.is_ok(),
        "still running"
    );
    tree.handle()
        .terminate_child("root/job2", None)
        .await
        .unwrap();
    // Terminated by the supervisor: not an end by itself, so no auto-shutdown.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(tree.handle().child("root/job2").await.is_ok());
    tree.shutdown().await;
}

/// A started `all_significant` root of two significant children: `job1`
/// (transient) completes after a second, `job2` (restart `job2`) idles.
async fn all_significant_pair(job2: Restart, alive: &Alive) -> supervisor_runtime::RunningTree {
    let spec = root([
        worker("job1")
            .with_task("finishes")
            .unwrap()
            .with_restart(Restart::Transient)
            .with_significant(true),
        worker("job2")
            .with_task("idle")
            .unwrap()
            .with_restart(job2)
            .with_significant(true),
    ])
    .with_auto_shutdown(AutoShutdown::AllSignificant);
    Supervisor::new(spec)
        .task("finishes", finishes)
        .task("idle", idle(alive))
        .start()
        .await
        .unwrap()
}

/// OTP's `all_significant`: the supervisor shuts down when the last
/// *running* significant child ends by itself. A significant child an
/// operator terminated earlier does not run, and does not keep the
/// supervisor up for ever.
#[tokio::test(start_paused = true)]
async fn all_significant_fires_when_the_last_running_significant_child_ends() {
    let alive = Alive::default();
    let tree = all_significant_pair(Restart::Temporary, &alive).await;
    let h = tree.handle();
    // job2 is taken down by hand; job1 then ends by itself at 1 s.
    h.terminate_child("root/job2", None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        h.end().map(|e| e.end.clone()),
        Some(EndReason::AutoShutdown),
        "{:?}",
        h.children("root").await
    );
    tree.shutdown().await;
}

/// A significant child an operator paused is meant to come back: it keeps
/// an `all_significant` supervisor up when the other one ends.
#[tokio::test(start_paused = true)]
async fn a_paused_significant_child_keeps_all_significant_up() {
    let alive = Alive::default();
    let tree = all_significant_pair(Restart::Transient, &alive).await;
    let h = tree.handle();
    h.pause_child("root/job2", None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(h.end().is_none(), "{:?}", h.children("root").await);
    h.resume_child("root/job2", None).await.unwrap();
    assert_eq!(alive.count(), 1);
    tree.shutdown().await;
}
