//! Children added at run time: validated like static ones, owned by the tree.

mod support;

use supervisor_runtime::{
    CommandError, NodeState, RunningTree, StopOutcome, Supervisor, SupervisorHandle,
};
use supervisor_spec::{ChildSpec, SupervisorSpec};
use support::{Alive, idle, root, worker};

/// A started tree of one idle worker `a` (task `idle`), and its handle.
async fn one_idle_worker(alive: &Alive) -> (RunningTree, SupervisorHandle) {
    let tree = Supervisor::new(root([worker("a").with_task("idle").unwrap()]))
        .task("idle", idle(alive))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    (tree, h)
}

#[tokio::test(start_paused = true)]
async fn a_dynamic_child_starts_and_is_shut_down_with_the_tree() {
    let alive = Alive::default();
    let (tree, h) = one_idle_worker(&alive).await;
    let snap = h
        .start_child(
            "root",
            worker("late")
                .with_task("idle")
                .unwrap()
                .with_depends_on(["a"])
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(
        snap.state,
        NodeState::RunningNotReady | NodeState::Ready
    ));
    support::settle().await;
    assert_eq!(alive.count(), 2);
    let report = tree.shutdown().await;
    assert_eq!(
        report.find("root/late").unwrap().outcome,
        StopOutcome::Stopped
    );
    assert_eq!(alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_invalid_dynamic_child_is_refused_and_changes_nothing() {
    let alive = Alive::default();
    let (tree, h) = one_idle_worker(&alive).await;
    let err = h
        .start_child("root", worker("a").with_task("idle").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid child: root.children[1] (a).id: duplicate id `a`: children[0] has it too"
    );
    let err = h
        .start_child(
            "root",
            ChildSpec::worker("x")
                .unwrap()
                .with_depends_on(["nope"])
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown sibling `nope`"), "{err}");
    let err = h.start_child("root", worker("y")).await.unwrap_err();
    assert_eq!(
        err,
        CommandError::Invalid(
            "task bindings do not match: root/y needs `y` bound as an async task".into()
        )
    );
    assert_eq!(h.count_children("root").await.unwrap().specs, 1);
    tree.shutdown().await;
}

/// Workers of the initial spec mark their readiness on a board sized for
/// them (rounded up to 64); a child added beyond it reports by message.
/// Either way it becomes ready, and a child that depends on it starts.
#[tokio::test(start_paused = true)]
async fn children_added_beyond_the_readiness_board_become_ready() {
    let alive = Alive::default();
    let initial = (0..64).map(|i| worker(&format!("w{i}")).with_task("idle").unwrap());
    let tree = Supervisor::new(root(initial))
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    for id in ["late", "later"] {
        let mut child = worker(id).with_task("idle").unwrap();
        if id == "later" {
            child = child.with_depends_on(["late"]).unwrap();
        }
        h.start_child("root", child).await.unwrap();
        support::settle().await;
        let path = format!("root/{id}");
        assert_eq!(
            h.child(&path).await.unwrap().state,
            NodeState::Ready,
            "{path}"
        );
    }
    assert_eq!(alive.count(), 66);
    tree.shutdown().await;
    assert_eq!(alive.count(), 0);
}

/// A supervisor added at run time is checked as the tree was at its start:
/// the workers nested in it need their tasks bound, with the right kind.
/// Before, only the added child's own task was looked up: a nested
/// supervisor whose worker named an unbound task was accepted, its worker
/// never ran, and the tree could never shut down (found by a review). A
/// blocking worker bound to an async task ran as an async task.
#[tokio::test(start_paused = true)]
async fn a_dynamic_child_needs_every_task_in_it_bound_with_its_kind() {
    let alive = Alive::default();
    let (tree, h) = one_idle_worker(&alive).await;
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(worker("j1").with_task("idle").unwrap())
        .with_child(worker("ghost").with_task("nope").unwrap());
    let err = h
        .start_child("root", ChildSpec::supervisor(jobs))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CommandError::Invalid(
            "task bindings do not match: root/jobs/ghost needs `nope` bound as an async task"
                .into()
        )
    );
    let blocking = ChildSpec::blocking("b").unwrap().with_task("idle").unwrap();
    let err = h.start_child("root", blocking).await.unwrap_err();
    assert_eq!(
        err,
        CommandError::Invalid(
            "task bindings do not match: root/b needs `idle` bound as a blocking task".into()
        )
    );
    // Nothing changed, and a good nested supervisor is still accepted.
    assert_eq!(h.count_children("root").await.unwrap().specs, 1);
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(worker("j1").with_task("idle").unwrap());
    h.start_child("root", ChildSpec::supervisor(jobs))
        .await
        .unwrap();
    assert_eq!(alive.count(), 2);
    let report = tree.shutdown().await;
    assert_eq!(report.children.len(), 2);
    assert_eq!(alive.count(), 0);
}

/// A supervisor added at run time counts its nesting from where it is
/// added: it cannot take the tree past `limits::MAX_DEPTH`, which a start
/// would have refused (found by a review: it was checked as if at the
/// top of the tree).
#[tokio::test(start_paused = true)]
async fn a_dynamic_supervisor_is_held_to_the_depth_limit_where_it_is_added() {
    let alive = Alive::default();
    let chain = |top: &str, levels: usize| {
        let mut spec = SupervisorSpec::new(format!("{top}{levels}").as_str())
            .unwrap()
            .with_child(worker("leaf").with_task("idle").unwrap());
        for i in (1..levels).rev() {
            spec = SupervisorSpec::new(format!("{top}{i}").as_str())
                .unwrap()
                .with_child(ChildSpec::supervisor(spec));
        }
        spec
    };
    let limit = supervisor_spec::limits::MAX_DEPTH;
    let tree = Supervisor::new(root([ChildSpec::supervisor(chain("l", 1))]))
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    // Under root/l1 (one level down), `limit - 1` more levels fit.
    let err = h
        .start_child("root/l1", ChildSpec::supervisor(chain("d", limit)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CommandError::Invalid(m) if m.contains("nested deeper than the limit")),
        "{err}"
    );
    h.start_child("root/l1", ChildSpec::supervisor(chain("d", limit - 1)))
        .await
        .unwrap();
    assert_eq!(alive.count(), 2);
    tree.shutdown().await;
    assert_eq!(alive.count(), 0);
}

/// With `one_for_all`, nothing starts while a group restart is still
/// stopping its members: a child added then waits for the group, as a
/// child brought back by a command does.
#[tokio::test(start_paused = true)]
async fn a_child_added_during_a_one_for_all_restart_waits_for_it() {
    use std::time::Duration;
    use supervisor_runtime::TaskContext;
    use supervisor_spec::{Shutdown, Strategy};

    let rec = support::Recorder::default();
    let flaky = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("boom"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let stubborn = |_ctx: TaskContext| async move {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    let spec = root([
        worker("a").with_task("flaky").unwrap(),
        worker("b")
            .with_task("stubborn")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(5))),
    ])
    .with_strategy(Strategy::OneForAll);
    let tree = Supervisor::new(spec)
        .task("flaky", flaky)
        .task("stubborn", stubborn)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    rec.clear();
    // a fails at 1 s; b takes until 6 s to stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.child("root/b").await.unwrap().state, NodeState::Stopping);
    // Not the first incarnation in the tree: c runs until it is stopped.
    let c = worker("c").with_task("flaky").unwrap();
    let adding = {
        let h = h.clone();
        tokio::spawn(async move { h.start_child("root", c).await })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    adding.await.unwrap().unwrap();
    let lines = rec.lines(&["started", "stopped"]);
    let at = |l: &str| lines.iter().position(|x| x.starts_with(l));
    assert!(at("root/c started").is_some(), "{lines:#?}");
    assert!(
        at("root/b stopped") < at("root/c started"),
        "c started next to the group restart: {lines:#?}"
    );
    tree.shutdown().await;
}
