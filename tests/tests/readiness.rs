//! Readiness: dependency gating (chain, diamond), timeouts, the roll-up.

mod support;

use std::time::Duration;

use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, Readiness};
use support::{Recorder, root, worker};

/// Becomes ready after `ms` milliseconds, then idles.
fn slow_ready(
    ms: u64,
) -> impl Fn(TaskContext) -> support::futures_ready::Idle + Send + Sync + use<> {
    move |ctx| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ctx.ready();
            ctx.cancelled().await;
            Ok(())
        })
    }
}

fn explicit(id: &str, deps: &[&str]) -> ChildSpec {
    worker(id)
        .with_task("slow")
        .unwrap()
        .with_readiness(Readiness::explicit(Duration::from_secs(10)))
        .with_depends_on(deps)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_chain_starts_one_link_after_the_other_is_ready() {
    let rec = Recorder::default();
    let t0 = tokio::time::Instant::now();
    let tree = Supervisor::new(root([
        explicit("a", &[]),
        explicit("b", &["a"]),
        explicit("c", &["b"]),
    ]))
    .task("slow", slow_ready(100))
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    // start() returned once all three were ready, one after the other.
    assert_eq!(t0.elapsed(), Duration::from_millis(300));
    assert_eq!(
        rec.lines(&["started", "ready"]),
        [
            "root/a started",
            "root/a ready",
            "root/b started",
            "root/b ready",
            "root/c started",
            "root/c ready",
        ]
    );
    assert!(tree.handle().is_ready());
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_diamond_starts_its_branches_together_and_the_join_after_both() {
    let rec = Recorder::default();
    let t0 = tokio::time::Instant::now();
    let tree = Supervisor::new(root([
        explicit("base", &[]),
        explicit("left", &["base"]),
        explicit("right", &["base"]),
        explicit("join", &["left", "right"]),
    ]))
    .task("slow", slow_ready(100))
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(300));
    let lines = rec.lines(&["started"]);
    assert_eq!(
        lines,
        [
            "root/base started",
            "root/left started",
            "root/right started",
            "root/join started"
        ]
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_readiness_timeout_is_a_failure_and_the_child_is_restarted() {
    let rec = Recorder::default();
    let never = |ctx: TaskContext| async move {
        if ctx.generation().0 > 1 {
            ctx.ready();
        }
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([worker("a").with_readiness(Readiness::explicit(Duration::from_secs(2)))]);
    let t0 = tokio::time::Instant::now();
    let tree = Supervisor::new(spec)
        .task("a", never)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
    assert_eq!(
        rec.lines(&["stop_requested", "exited", "started", "ready"]),
        [
            "root/a started",
            "root/a stop requested (readiness timed out)",
            "root/a exited stopped",
            "root/a restarted attempt 1",
            "root/a ready",
        ]
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn immediate_readiness_comes_from_the_first_poll() {
    let rec = Recorder::default();
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", support::idle(&support::Alive::default()))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(
        rec.lines(&["started", "ready"]),
        ["root/a started", "root/a ready"]
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_roll_up_goes_unready_while_a_child_is_down() {
    let spec = root([
        worker("a").with_backoff(supervisor_spec::Backoff::exponential(
            Duration::from_secs(5),
            Duration::from_secs(5),
        )),
    ]);
    let fails_once = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("once"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let tree = Supervisor::new(spec)
        .task("a", fails_once)
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    assert!(handle.is_ready());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!handle.is_ready(), "a is backing off");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(handle.is_ready());
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn readiness_rolls_up_through_nested_supervisors_both_ways() {
    let rec = Recorder::default();
    let fails_once = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("once"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let inner = supervisor_spec::SupervisorSpec::new("inner")
        .unwrap()
        .with_child(
            worker("a").with_backoff(supervisor_spec::Backoff::exponential(
                Duration::from_secs(5),
                Duration::from_secs(5),
            )),
        );
    let tree = Supervisor::new(root([ChildSpec::supervisor(inner)]))
        .task("a", fails_once)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    assert!(handle.is_ready());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!handle.is_ready(), "root/inner/a is backing off");
    assert!(
        rec.lines(&["unready"])
            .contains(&"root/inner unready".to_owned())
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(handle.is_ready());
    tree.shutdown().await;
}

/// Runs `task` as the one child `a`, with a readiness timeout of 100 ms,
/// until the tree settles; returns its starts, readiness, stop requests
/// and exits.
async fn lines_of_one_with_a_100ms_readiness_timeout<F>(
    task: impl Fn(TaskContext) -> F + Send + Sync + 'static,
) -> Vec<String>
where
    F: std::future::Future<Output = Result<(), std::io::Error>> + Send + 'static,
{
    let rec = Recorder::default();
    let tree = Supervisor::new(root([
        worker("a").with_readiness(Readiness::explicit(Duration::from_millis(100)))
    ]))
    .task("a", task)
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    support::settle().await;
    let lines = rec.lines(&["started", "ready", "stop_requested", "exited"]);
    tree.shutdown().await;
    lines
}

/// A child ready exactly at its readiness deadline is ready in time: an
/// input at a deadline voids it.
#[tokio::test(start_paused = true)]
async fn ready_exactly_at_the_readiness_deadline_is_in_time() {
    let task = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ctx.ready();
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let lines = lines_of_one_with_a_100ms_readiness_timeout(task).await;
    assert_eq!(lines, ["root/a started", "root/a ready"]);
}

/// Readiness said by a sub-task after its incarnation's task ended (with
/// an error) does not count: the dependents wait for the next incarnation.
#[tokio::test(start_paused = true)]
async fn readiness_after_the_task_ended_does_not_start_dependents() {
    let rec = Recorder::default();
    let db = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            let c = ctx.clone();
            ctx.spawn(async move {
                c.ready();
                std::future::pending::<()>().await;
            });
            return Err(std::io::Error::other("db failed to start"));
        }
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    };
    let api = |ctx: TaskContext| async move {
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let tree = Supervisor::new(root([
        worker("db").with_readiness(Readiness::explicit(Duration::from_secs(10))),
        worker("api").with_depends_on(["db"]).unwrap(),
    ]))
    .task("db", db)
    .task("api", api)
    .observer(rec.clone())
    .start()
    .await
    .unwrap();
    support::settle().await;
    assert_eq!(
        rec.lines(&["started", "ready", "exited"]),
        [
            "root/db started",
            "root/db exited failed (task returned an error: db failed to start)",
            "root/db restarted attempt 1",
            "root/db ready",
            "root/api started",
            "root/api ready",
        ]
    );
    tree.shutdown().await;
}

/// No `ready` event for an incarnation being stopped for its readiness
/// timeout, though it says so while it winds down: the engine ignores it,
/// and metrics would count it.
#[tokio::test(start_paused = true)]
async fn no_ready_event_for_an_incarnation_stopped_for_its_readiness_timeout() {
    let task = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            ctx.cancelled().await;
            ctx.ready();
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Ok(());
        }
        ctx.ready();
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let lines = lines_of_one_with_a_100ms_readiness_timeout(task).await;
    assert_eq!(
        lines,
        [
            "root/a started",
            "root/a stop requested (readiness timed out)",
            "root/a exited stopped",
            "root/a restarted attempt 1",
            "root/a ready",
        ]
    );
}
