//! Owned sub-tasks end with their incarnation and count in the report.

mod support;

use std::time::Duration;

use supervisor_runtime::{Supervisor, TaskContext};
use support::{Alive, root, worker};

#[tokio::test(start_paused = true)]
async fn sub_tasks_are_cancelled_with_their_incarnation() {
    let alive = Alive::default();
    let a = alive.clone();
    let parent = move |ctx: TaskContext| {
        let a = a.clone();
        async move {
            for _ in 0..3 {
                let a = a.clone();
                ctx.spawn(async move {
                    let _g = a.enter();
                    std::future::pending::<()>().await;
                });
            }
            if ctx.generation().0 == 1 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Err(std::io::Error::other("parent fails"));
            }
            ctx.cancelled().await;
            Ok(())
        }
    };
    let tree = Supervisor::new(root([worker("p")]))
        .task("p", parent)
        .start()
        .await
        .unwrap();
    support::settle().await;
    assert_eq!(alive.count(), 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The first incarnation's three were ended; the second has its own three.
    assert_eq!(alive.count(), 3);
    let report = tree.shutdown().await;
    assert_eq!(alive.count(), 0);
    assert_eq!(report.find("root/p").unwrap().subtasks, 3);
}

#[tokio::test(start_paused = true)]
async fn a_dead_incarnation_cannot_spawn() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let leaker = move |ctx: TaskContext| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(ctx.clone());
        }
        async move {
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    };
    let tree = Supervisor::new(root([worker("p")]))
        .task("p", leaker)
        .start()
        .await
        .unwrap();
    let ctx = rx.await.unwrap();
    tree.shutdown().await;
    assert!(ctx.spawn(async {}).is_none());
}
