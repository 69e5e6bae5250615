//! `Supervisor::start` drives the root's loop in its caller's task until the
//! tree is ready, then hands it to a task of its own: the loop keeps every
//! wake-up across the hand-over, and a dropped start leaves nothing behind.

mod support;

use std::time::Duration;

use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::Readiness;
use support::{Alive, Recorder, idle, root, settle, worker};

/// Ready at once, then never heard of again: only the supervisor's own
/// liveness timer, armed while `start` drove the loop, can end it.
async fn silent(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timer_armed_during_start_fires_after_the_hand_over() {
    let rec = Recorder::default();
    let spec = root([worker("a").with_liveness(Duration::from_secs(1))]);
    let tree = Supervisor::new(spec)
        .task("a", silent)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    // Nothing else happens in the tree: a wake-up lost with the task that
    // drove the start would leave the missed deadline unnoticed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        rec.lines(&["liveness_missed"]),
        ["root/a liveness missed"],
        "the deadline is checked in the loop's own task"
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_start_dropped_while_waiting_shuts_the_started_children_down() {
    let alive = Alive::default();
    let rec = Recorder::default();
    // `a` runs at once; `b` never says it is ready, so `start` waits (for
    // up to an hour) with the root's loop in this task.
    let spec = root([
        worker("a"),
        worker("b").with_readiness(Readiness::explicit(Duration::from_secs(3600))),
    ]);
    let start = Supervisor::new(spec)
        .task("a", idle(&alive))
        .task("b", idle(&alive))
        .observer(rec.clone())
        .start();
    let waited = tokio::time::timeout(Duration::from_secs(1), start).await;
    assert!(waited.is_err(), "the tree never became ready");
    // The shutdown goes on in the background, with nobody waiting on it.
    settle().await;
    assert_eq!(alive.count(), 0, "both children were stopped");
    assert_eq!(
        rec.lines(&["exited"]),
        ["root/b exited stopped", "root/a exited stopped"],
        "the loop went on in a task of its own and shut the tree down in order"
    );
}

#[test]
fn a_tree_started_from_block_on_goes_on_while_nobody_polls_the_caller() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Fails once it ran, after the start returned; its restart tells.
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel::<()>();
    let gone = std::sync::Mutex::new(Some(gone_rx));
    let task = move |ctx: TaskContext| {
        let tx = tx.clone();
        let gone = gone.lock().unwrap().take();
        async move {
            match gone {
                Some(gone) => {
                    let _ = gone.await;
                    Err(std::io::Error::other("first incarnation fails"))
                }
                None => {
                    tx.send(ctx.generation().0).unwrap();
                    ctx.cancelled().await;
                    Ok(())
                }
            }
        }
    };
    let spec = root([worker("a")]);
    // Not in a task: the start's first turns run on this thread.
    let tree = rt
        .block_on(Supervisor::new(spec).task("a", task).start())
        .unwrap();
    drop(gone_tx);
    // No thread is in `block_on` now: the restart is the loop's own work.
    let generation = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the child was restarted");
    assert_eq!(generation, 2);
    rt.block_on(tree.shutdown());
}
