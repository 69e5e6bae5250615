//! Nothing is left running: after shutdown, and when the owner is dropped.

mod support;

use std::time::Duration;

use supervisor_runtime::Supervisor;
use supervisor_spec::{ChildSpec, SupervisorSpec};
use support::{Alive, idle, root, worker};

fn tree_spec() -> SupervisorSpec {
    let nested = SupervisorSpec::new("nested")
        .unwrap()
        .with_children((0..10).map(|i| worker(&format!("n{i}")).with_task("idle").unwrap()));
    root((0..10).map(|i| worker(&format!("w{i}")).with_task("idle").unwrap()))
        .with_child(ChildSpec::supervisor(nested))
}

#[tokio::test(start_paused = true)]
async fn no_task_is_alive_after_shutdown() {
    let alive = Alive::default();
    let tree = Supervisor::new(tree_spec())
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    assert_eq!(alive.count(), 20);
    tree.shutdown().await;
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_owner_stops_everything() {
    let alive = Alive::default();
    let tree = Supervisor::new(tree_spec())
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    assert_eq!(alive.count(), 20);
    drop(tree);
    let end = tokio::time::timeout(Duration::from_secs(60), handle.join())
        .await
        .unwrap();
    assert_eq!(end.end, supervisor_runtime::EndReason::Shutdown);
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_twice_gives_the_same_report() {
    let alive = Alive::default();
    let tree = Supervisor::new(tree_spec())
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    let first = handle.shutdown().await;
    let second = handle.shutdown().await;
    assert_eq!(first, second);
    assert_eq!(handle.join().await.report, first);
    drop(tree);
}
