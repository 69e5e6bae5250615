//! Owned sub-tasks end with their incarnation and count in the report.

mod support;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use supervisor_runtime::{Event, EventKind, StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{Backoff, Shutdown};
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

/// A task that spawns a never-ending sub-task, then does what `then` says.
fn spawner(
    alive: &Alive,
    then: fn(u64) -> Then,
) -> impl Fn(TaskContext) -> std::pin::Pin<Box<dyn Future<Output = Result<(), std::io::Error>> + Send>>
+ Send
+ Sync
+ 'static {
    let alive = alive.clone();
    move |ctx: TaskContext| {
        let alive = alive.clone();
        Box::pin(async move {
            let guard = alive.enter();
            ctx.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            tokio::task::yield_now().await;
            match then(ctx.generation().0) {
                Then::Panic => panic!("boom"),
                Then::IgnoreStop => loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                },
                Then::Idle => {
                    ctx.cancelled().await;
                    Ok(())
                }
            }
        })
    }
}

/// Records, the moment the supervisor starts an incarnation of `root/p`,
/// how many tasks (of earlier incarnations) are alive.
fn alive_at_start(
    alive: &Alive,
) -> (
    Arc<Mutex<Vec<usize>>>,
    impl Fn(&Event) + Send + Sync + use<>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (alive, record) = (alive.clone(), seen.clone());
    let observer = move |e: &Event| {
        if e.path.to_string() == "root/p" && matches!(e.kind, EventKind::Started { .. }) {
            record.lock().unwrap().push(alive.count());
        }
    };
    (seen, observer)
}

enum Then {
    Panic,
    IgnoreStop,
    Idle,
}

#[tokio::test(start_paused = true)]
async fn a_panicking_incarnation_s_sub_tasks_are_gone_before_its_successor_starts() {
    let alive = Alive::default();
    let (seen, observer) = alive_at_start(&alive);
    let task = spawner(&alive, |g| if g < 4 { Then::Panic } else { Then::Idle });
    let tree = Supervisor::new(root([worker("p").with_backoff(Backoff::none())]))
        .task("p", task)
        .observer(observer)
        .start()
        .await
        .unwrap();
    support::settle().await;
    let report = tree.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(
        seen.iter().all(|&n| n == 0),
        "alive at each start: {seen:?}"
    );
    assert_eq!(alive.count(), 0);
    assert_eq!(report.find("root/p").unwrap().subtasks, 1);
}

#[tokio::test(start_paused = true)]
async fn an_aborted_incarnation_s_sub_tasks_are_gone_before_its_successor_starts() {
    let alive = Alive::default();
    let (seen, observer) = alive_at_start(&alive);
    // The first incarnation ignores its stop and is aborted after 1 s.
    let task = spawner(
        &alive,
        |g| {
            if g == 1 { Then::IgnoreStop } else { Then::Idle }
        },
    );
    let tree = Supervisor::new(root([worker("p")
        .with_backoff(Backoff::none())
        .with_shutdown(Shutdown::graceful(Duration::from_secs(1)))]))
    .task("p", task)
    .observer(observer)
    .start()
    .await
    .unwrap();
    support::settle().await;
    assert_eq!(alive.count(), 1);
    tree.handle().restart_child("root/p", None).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [0, 0]);
    // The successor and its own sub-task.
    assert_eq!(alive.count(), 1);
    tree.shutdown().await;
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_report_counts_the_sub_tasks_of_an_aborted_incarnation() {
    let alive = Alive::default();
    let task = spawner(&alive, |_| Then::IgnoreStop);
    let tree = Supervisor::new(root([
        worker("p").with_shutdown(Shutdown::graceful(Duration::from_secs(1)))
    ]))
    .task("p", task)
    .start()
    .await
    .unwrap();
    support::settle().await;
    let report = tree.shutdown().await;
    let p = report.find("root/p").unwrap();
    assert_eq!(p.outcome, StopOutcome::Aborted);
    assert_eq!(p.subtasks, 1);
    assert_eq!(alive.count(), 0);
}

/// A task that fails leaving a sub-task that blocks its thread (and so
/// cannot be aborted) is reported and restarted after its abort wait: the
/// sub-task is left behind, and the child is reported detached. Real
/// threads, so the wait is bounded by a generous deadline rather than
/// timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_task_blocking_its_thread_does_not_hold_its_parent_s_exit() {
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = release.clone();
    let task = move |ctx: TaskContext| {
        let r = r.clone();
        async move {
            if ctx.generation().0 > 1 {
                ctx.cancelled().await;
                return Ok(());
            }
            let (blocking, is_blocking) = tokio::sync::oneshot::channel();
            ctx.spawn(async move {
                let _ = blocking.send(());
                // Hands the worker's queues to another thread first, so the
                // tasks of the test never wait behind this one.
                tokio::task::block_in_place(|| {
                    // Until released, or 60 s at most.
                    for _ in 0..12_000 {
                        if r.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
            });
            let _ = is_blocking.await;
            Err(std::io::Error::other("failed with a sub-task stuck"))
        }
    };
    let recorder = supervisor_runtime::testkit::Recorder::new();
    let tree = Supervisor::new(root([worker("p")
        .with_backoff(Backoff::none())
        .with_shutdown(Shutdown::Graceful {
            timeout: Duration::from_millis(100),
            abort_wait: Duration::from_millis(100),
        })]))
    .task("p", task)
    .observer(recorder.clone())
    .start()
    .await
    .unwrap();
    let restarted = recorder
        .wait_for("root/p restarted", Duration::from_secs(30))
        .await;
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    restarted.unwrap();
    let lines = recorder.lines();
    assert!(
        lines.contains(
            &"root/p exited failed: task returned an error: failed with a sub-task stuck"
                .to_owned()
        ),
        "{lines:#?}"
    );
    // Detached once its abort wait ran out.
    assert!(
        lines.iter().any(|l| l.starts_with("root/p detached after")),
        "{lines:#?}"
    );
    tree.shutdown().await;
}
