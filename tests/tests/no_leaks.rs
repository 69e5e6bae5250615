//! Nothing is left running: after shutdown, and when the owner is dropped.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// Sets its flag at the end of a slow `Drop`.
struct SlowDrop(Arc<AtomicBool>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        // Real time on purpose: the other worker thread must get a chance
        // to run the supervisor while this drop is still going on.
        std::thread::sleep(Duration::from_millis(20));
        self.0.store(true, Ordering::SeqCst);
    }
}

/// On a multi-thread runtime, the supervisor (on another thread) must not
/// hear of an aborted incarnation's end before that incarnation's state
/// is dropped: otherwise its successor could run next to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_incarnation_is_gone_before_its_end_is_reported() {
    // The drop flag of each incarnation that was built, by generation (an
    // incarnation aborted before its first poll is never built).
    let dropped: Arc<Mutex<HashMap<u64, Arc<AtomicBool>>>> = Arc::default();
    let seen_before_drop = Arc::new(AtomicBool::new(false));
    let flags = dropped.clone();
    let task = move |ctx: supervisor_runtime::TaskContext| {
        let flag = Arc::new(AtomicBool::new(false));
        flags
            .lock()
            .unwrap()
            .insert(ctx.generation().0, flag.clone());
        let slow = SlowDrop(flag);
        async move {
            let _slow = slow;
            std::future::pending::<()>().await;
            Ok::<(), std::io::Error>(())
        }
    };
    let observer = {
        let (dropped, seen) = (dropped.clone(), seen_before_drop.clone());
        move |e: &supervisor_runtime::Event| {
            if let supervisor_runtime::EventKind::Exited { .. } = e.kind {
                let g = e.generation.map_or(0, |g| g.0);
                let built = dropped.lock().unwrap().get(&g).cloned();
                if built.is_some_and(|flag| !flag.load(Ordering::SeqCst)) {
                    seen.store(true, Ordering::SeqCst);
                }
            }
        }
    };
    let tree = Supervisor::new(root([
        worker("a").with_shutdown(supervisor_spec::Shutdown::brutal_kill())
    ]))
    .task("a", task)
    .observer(observer)
    .start()
    .await
    .unwrap();
    let handle = tree.handle();
    handle.restart_child("root/a", None).await.unwrap();
    handle.restart_child("root/a", None).await.unwrap();
    tree.shutdown().await;
    assert!(
        !seen_before_drop.load(Ordering::SeqCst),
        "an exit was reported before the incarnation's state was dropped"
    );
    let dropped = dropped.lock().unwrap();
    assert!(!dropped.is_empty());
    assert!(dropped.values().all(|d| d.load(Ordering::SeqCst)));
}
