//! Commands racing each other and a child's own exit: no double start, no
//! resurrection, no restart after shutdown.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use supervisor_runtime::{NodeState, Supervisor, TaskContext};
use support::{Alive, root, worker};

/// Fails as soon as it is asked to stop (a task that errors while stopping).
fn fails_on_stop(
    starts: Arc<AtomicU32>,
    alive: Alive,
) -> impl Fn(TaskContext) -> support::futures_ready::Idle + Send + Sync {
    move |ctx| {
        starts.fetch_add(1, Ordering::SeqCst);
        let alive = alive.clone();
        Box::pin(async move {
            let _g = alive.enter();
            ctx.cancelled().await;
            Err(std::io::Error::other("failed while stopping"))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn terminate_racing_a_failure_does_not_resurrect_the_child() {
    let starts = Arc::new(AtomicU32::new(0));
    let alive = Alive::default();
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", fails_on_stop(starts.clone(), alive.clone()))
        .start()
        .await
        .unwrap();
    let snap = tree.handle().terminate_child("root/a", None).await.unwrap();
    assert_eq!(snap.state, NodeState::Stopped);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(starts.load(Ordering::SeqCst), 1, "never restarted");
    assert_eq!(alive.count(), 0);
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn concurrent_restarts_never_run_two_incarnations_at_once() {
    let starts = Arc::new(AtomicU32::new(0));
    let alive = Alive::default();
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", fails_on_stop(starts.clone(), alive.clone()))
        .start()
        .await
        .unwrap();
    let mut joins = Vec::new();
    for _ in 0..3 {
        let h = tree.handle();
        joins.push(tokio::spawn(async move {
            h.restart_child("root/a", None).await
        }));
    }
    let mut results = Vec::new();
    for j in joins {
        results.push(j.await.unwrap());
    }
    // One restart wins; the others find the child stopping and are refused.
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(ok >= 1, "{results:?}");
    support::settle().await;
    assert_eq!(alive.count(), 1, "exactly one incarnation alive");
    tree.shutdown().await;
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn nothing_restarts_after_shutdown_began() {
    let starts = Arc::new(AtomicU32::new(0));
    let alive = Alive::default();
    let tree = Supervisor::new(root([worker("a"), worker("b").with_task("a").unwrap()]))
        .task("a", fails_on_stop(starts.clone(), alive.clone()))
        .start()
        .await
        .unwrap();
    // Every child fails while being stopped: none may come back.
    tree.shutdown().await;
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert_eq!(alive.count(), 0);
}
