//! The control API: every command's success and failure paths.

mod support;

use std::time::Duration;

use supervisor_runtime::{
    CommandError, NodeState, RunningTree, StopReason, Supervisor, SupervisorHandle, TaskContext,
};
use supervisor_spec::{ChildSpec, Shutdown, SupervisorSpec};
use support::{Alive, Recorder, idle, root, worker};

async fn tree(alive: &Alive, rec: &Recorder) -> (RunningTree, SupervisorHandle) {
    let nested = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(worker("j1").with_task("idle").unwrap());
    let spec = root([
        worker("a").with_task("idle").unwrap(),
        worker("b").with_task("idle").unwrap(),
        ChildSpec::supervisor(nested),
    ]);
    let tree = Supervisor::new(spec)
        .task("idle", idle(alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    (tree, handle)
}

#[tokio::test(start_paused = true)]
async fn snapshots_show_every_node() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    let top = h.tree().await.unwrap();
    let paths: Vec<String> = top.children.iter().map(|c| c.path.to_string()).collect();
    assert_eq!(paths, ["root/a", "root/b", "root/jobs"]);
    assert_eq!(top.children[2].children[0].path.to_string(), "root/jobs/j1");
    assert_eq!(top.children[0].state, NodeState::Ready);
    let counts = h.count_children("root").await.unwrap();
    assert_eq!(
        (
            counts.specs,
            counts.active,
            counts.supervisors,
            counts.workers
        ),
        (3, 3, 1, 2)
    );
    let j1 = h.child("root/jobs/j1").await.unwrap();
    assert_eq!(j1.kind, "worker");
    assert_eq!(h.children("root/jobs").await.unwrap().len(), 1);
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn terminate_answers_once_the_child_is_down_and_restart_once_it_runs() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    let snap = h
        .terminate_child("root/a", Some("maintenance"))
        .await
        .unwrap();
    assert_eq!(snap.state, NodeState::Stopped);
    assert_eq!(alive.count(), 2);
    assert!(
        rec.lines(&["command"])
            .contains(&"root/a command terminate (maintenance)".to_owned())
    );
    assert!(
        rec.lines(&["stop_requested"])
            .contains(&"root/a stop requested (terminate command: maintenance)".to_owned())
    );
    let snap = h.restart_child("root/a", None).await.unwrap();
    // Answered once the new incarnation runs (readiness may follow).
    assert!(matches!(
        snap.state,
        NodeState::RunningNotReady | NodeState::Ready
    ));
    support::settle().await;
    assert_eq!(alive.count(), 3);
    assert_eq!(h.child("root/a").await.unwrap().state, NodeState::Ready);
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn commands_reach_nested_children() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    let before = h.child("root/jobs/j1").await.unwrap().generation.unwrap();
    let snap = h
        .restart_child("root/jobs/j1", Some("reload"))
        .await
        .unwrap();
    assert!(snap.generation.unwrap() > before);
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn quarantine_release_pause_resume_and_delete() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    assert_eq!(
        h.quarantine_child("root/a", None).await.unwrap().state,
        NodeState::Quarantined
    );
    assert!(matches!(
        h.quarantine_child("root/a", None).await,
        Err(CommandError::Rejected { message, .. }) if message == "the child is already quarantined"
    ));
    // A running child's quarantine is announced once it is down, as a
    // down child's is at once (before, it was not announced at all).
    h.terminate_child("root/b", None).await.unwrap();
    h.quarantine_child("root/b", None).await.unwrap();
    assert_eq!(
        rec.lines(&["quarantined"]),
        ["root/a quarantined", "root/b quarantined"]
    );
    h.release_child("root/b", None).await.unwrap();
    let running = |s: NodeState| matches!(s, NodeState::RunningNotReady | NodeState::Ready);
    assert!(running(
        h.release_child("root/a", None).await.unwrap().state
    ));
    assert_eq!(
        h.pause_child("root/b", None).await.unwrap().state,
        NodeState::Paused
    );
    assert!(running(h.resume_child("root/b", None).await.unwrap().state));
    assert!(matches!(
        h.delete_child("root/b", None).await,
        Err(CommandError::Rejected { message, .. }) if message == "the child is running; terminate it first"
    ));
    h.terminate_child("root/b", None).await.unwrap();
    h.delete_child("root/b", None).await.unwrap();
    assert!(matches!(
        h.child("root/b").await,
        Err(CommandError::UnknownPath { .. })
    ));
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bad_addresses_fail_clearly_and_change_nothing() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    rec.clear();
    let err = h.terminate_child("root/nope", None).await.unwrap_err();
    assert_eq!(err.to_string(), "no node at root/nope");
    let err = h.terminate_child("other/a", None).await.unwrap_err();
    assert_eq!(err.to_string(), "no node at other/a");
    let err = h.terminate_child("root/a/x", None).await.unwrap_err();
    assert_eq!(err.to_string(), "no node at root/a/x");
    let err = h.children("root/a").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "root/a is a worker; only supervisors have children"
    );
    let err = h.terminate_child("root", None).await.unwrap_err();
    assert!(matches!(err, CommandError::WrongKind { .. }));
    let err = h.terminate_child("Root//", None).await.unwrap_err();
    assert!(matches!(err, CommandError::UnknownPath { .. }));
    assert!(
        rec.lines(&[]).is_empty(),
        "nothing happened: {:?}",
        rec.lines(&[])
    );
    assert_eq!(alive.count(), 3);
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn commands_fail_once_the_tree_is_shutting_down() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    tree.shutdown().await;
    assert_eq!(
        h.restart_child("root/a", None).await.unwrap_err(),
        CommandError::ShuttingDown
    );
    assert_eq!(h.tree().await.unwrap_err(), CommandError::ShuttingDown);
}

#[tokio::test(start_paused = true)]
async fn a_command_that_cannot_take_effect_times_out_at_its_deadline() {
    let rec = Recorder::default();
    // `b` waits for `a`, which never becomes ready: restarting `b` cannot complete.
    let never_ready = |ctx: TaskContext| async move {
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([
        worker("a").with_readiness(supervisor_spec::Readiness::explicit(Duration::from_secs(
            3600,
        ))),
        worker("b").with_depends_on(["a"]).unwrap(),
    ]);
    let mut sup = Supervisor::new(spec)
        .task("a", never_ready)
        .task("b", never_ready);
    sup = sup.observer(rec.clone());
    let start = tokio::spawn(sup.start());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!start.is_finished());
    start.abort();
}

#[tokio::test(start_paused = true)]
async fn stop_reasons_reach_the_task() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = move |ctx: TaskContext| {
        let tx = tx.clone();
        async move {
            assert_eq!((ctx.stop_reason(), ctx.deadline()), (None, None));
            ctx.cancelled().await;
            let left = ctx
                .deadline()
                .map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
            let _ = tx.send((ctx.stop_reason(), left));
            Ok::<(), std::io::Error>(())
        }
    };
    let timeout = Duration::from_secs(7);
    let a = worker("a").with_shutdown(Shutdown::graceful(timeout));
    let tree = Supervisor::new(root([a]))
        .task("a", task)
        .start()
        .await
        .unwrap();
    tree.handle()
        .restart_child("root/a", Some("config changed"))
        .await
        .unwrap();
    assert_eq!(
        rx.recv().await.unwrap(),
        (
            Some(StopReason::Manual {
                command: "restart",
                reason: Some("config changed".into())
            }),
            Some(timeout)
        ),
        "a graceful stop has its deadline"
    );
    tree.shutdown().await;
    // A shutdown's stop keeps its reason and deadline without the boxed
    // state a command's stop uses.
    assert_eq!(
        rx.recv().await.unwrap(),
        (Some(StopReason::Shutdown), Some(timeout))
    );
}

/// A child terminated while it waits out its restart backoff is down
/// because it was terminated: `Stopped`, as `NodeState` documents, not
/// `Failed` after the exit that started the backoff (found by a review).
#[tokio::test(start_paused = true)]
async fn a_child_terminated_during_its_backoff_is_stopped() {
    let fail = |_ctx: TaskContext| async move { Err::<(), _>(std::io::Error::other("x")) };
    let spec = root([ChildSpec::worker("f").unwrap().with_backoff(
        supervisor_spec::Backoff::exponential(Duration::from_secs(5), Duration::from_secs(60)),
    )]);
    let tree = Supervisor::new(spec).task("f", fail).start().await.unwrap();
    let h = tree.handle();
    support::settle().await;
    assert!(matches!(
        h.child("root/f").await.unwrap().state,
        NodeState::BackingOff { .. }
    ));
    let answered = h.terminate_child("root/f", None).await.unwrap();
    assert_eq!(answered.state, NodeState::Stopped);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let later = h.child("root/f").await.unwrap();
    assert_eq!((later.state, later.generation), (NodeState::Stopped, None));
    tree.shutdown().await;
}

/// A command waiting for its effect when its child is deleted is told so,
/// not answered as if the tree were shutting down (found by a review:
/// `start_child` answered `ShuttingDown` while the tree ran on).
#[tokio::test(start_paused = true)]
async fn a_command_whose_child_is_deleted_first_is_rejected() {
    let (alive, rec) = (Alive::default(), Recorder::default());
    let (tree, h) = tree(&alive, &rec).await;
    // `late` depends on a paused `a`: added, but it cannot start yet.
    h.pause_child("root/a", None).await.unwrap();
    let late = worker("late")
        .with_task("idle")
        .unwrap()
        .with_depends_on(["a"])
        .unwrap();
    let adding = {
        let h = h.clone();
        tokio::spawn(async move { h.start_child("root", late).await })
    };
    support::settle().await;
    h.delete_child("root/late", None).await.unwrap();
    let answer = adding.await.unwrap();
    assert!(
        matches!(
            &answer,
            Err(CommandError::Rejected { path, message })
                if path.to_string() == "root/late"
                    && message == "the child was deleted before the command took effect"
        ),
        "{answer:?}"
    );
    assert!(h.end().is_none(), "the tree runs on");
    tree.shutdown().await;
}

/// A command past its deadline answers `Timeout`, but the supervisor took
/// it and carries it out: a restart of a child slow to stop still
/// restarts it (as `CommandError::Timeout` documents).
#[tokio::test(start_paused = true)]
async fn a_restart_past_its_deadline_still_takes_effect() {
    let stubborn = |_ctx: TaskContext| async move {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([worker("slow").with_shutdown(Shutdown::graceful(Duration::from_secs(5)))]);
    let tree = Supervisor::new(spec)
        .task("slow", stubborn)
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    let before = h.child("root/slow").await.unwrap().generation.unwrap();
    let answer = h
        .with_deadline(Duration::from_secs(1))
        .restart_child("root/slow", None)
        .await;
    assert_eq!(answer, Err(CommandError::Timeout(Duration::from_secs(1))));
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = h.child("root/slow").await.unwrap().generation.unwrap();
    assert!(after > before, "{before:?} -> {after:?}");
    tree.shutdown().await;
}

/// End to end: a dependency that failed, paused and resumed while its
/// dependent is still stopping, starts only once the dependent is down
/// (found by a review: it started at once).
#[tokio::test(start_paused = true)]
async fn a_dependency_resumed_while_its_dependent_stops_waits_for_it() {
    let rec = Recorder::default();
    let (fail_tx, fail_rx) = tokio::sync::watch::channel(false);
    let a = move |ctx: TaskContext| {
        let mut rx = fail_rx.clone();
        async move {
            tokio::select! {
                _ = ctx.cancelled() => Ok(()),
                _ = rx.wait_for(|f| *f) => Err(std::io::Error::other("boom")),
            }
        }
    };
    let stubborn = |_ctx: TaskContext| async move {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([
        worker("a"),
        worker("b")
            .with_depends_on(["a"])
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(5))),
    ]);
    let tree = Supervisor::new(spec)
        .task("a", a)
        .task("b", stubborn)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    support::settle().await;
    fail_tx.send_replace(true);
    support::settle().await;
    fail_tx.send_replace(false);
    assert_eq!(h.child("root/b").await.unwrap().state, NodeState::Stopping);
    h.pause_child("root/a", None).await.unwrap();
    // Answered once a runs again: after b was aborted at its 5 s.
    let resumed = h.resume_child("root/a", None).await.unwrap();
    assert!(matches!(
        resumed.state,
        NodeState::RunningNotReady | NodeState::Ready
    ));
    let lines = rec.lines(&["started", "stopped"]);
    let b_down = lines.iter().position(|l| l.starts_with("root/b stopped"));
    let a_again = lines.iter().position(|l| l.starts_with("root/a restarted"));
    assert!(b_down.is_some() && b_down < a_again, "{lines:#?}");
    tree.shutdown().await;
}
