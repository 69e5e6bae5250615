//! The public types users keep and share are `Send` and `Sync`, and the
//! futures they spawn are `Send` (`start()`'s is `Sync` too: a review once
//! found a change that made it lose that). These checks fail to compile,
//! not to run.

use std::time::Duration;

use supervisor_runtime::{
    BlockingContext, ChildCounts, ChildFailure, CommandError, EndReason, Event, EventKind,
    NodeSnapshot, NodeState, RunningTree, ShutdownReport, Spawner, StartError, StopOutcome,
    StopReason, Supervisor, SupervisorHandle, TaskContext, TaskError, TreeEnd,
};
use supervisor_spec::{ChildSpec, SupervisorSpec};

fn send<T: Send>(_: &T) {}

fn send_sync<T: Send + Sync>(_: &T) {}

fn send_sync_type<T: Send + Sync>() {}

#[test]
fn the_public_types_are_send_and_sync() {
    send_sync_type::<Supervisor>();
    send_sync_type::<RunningTree>();
    send_sync_type::<SupervisorHandle>();
    send_sync_type::<TaskContext>();
    send_sync_type::<BlockingContext>();
    send_sync_type::<Spawner>();
    send_sync_type::<Event>();
    send_sync_type::<EventKind>();
    send_sync_type::<ShutdownReport>();
    send_sync_type::<StopOutcome>();
    send_sync_type::<StopReason>();
    send_sync_type::<NodeSnapshot>();
    send_sync_type::<NodeState>();
    send_sync_type::<ChildCounts>();
    send_sync_type::<TreeEnd>();
    send_sync_type::<EndReason>();
    send_sync_type::<StartError>();
    send_sync_type::<CommandError>();
    send_sync_type::<ChildFailure>();
    send_sync_type::<TaskError>();
}

/// Never run: only the types of the futures it makes are checked.
async fn futures_users_hold(tree: RunningTree, handle: SupervisorHandle) {
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_children([ChildSpec::worker("a").unwrap()]);
    let start = Supervisor::new(spec)
        .task("a", |ctx: TaskContext| async move {
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        })
        .start();
    send_sync(&start);
    send(&handle.restart_child("root/a", None));
    send(&handle.terminate_child("root/a", None));
    send(&handle.children("root"));
    send(&handle.tree());
    send(&handle.shutdown());
    send(&handle.with_deadline(Duration::from_secs(1)).join());
    send(&tree.join());
    send(&tree.shutdown());
}

#[test]
fn the_futures_users_spawn_are_send() {
    // The checks are in `futures_users_hold`, which compiles only if they
    // hold; running it would need a tree.
    let _ = futures_users_hold;
}
