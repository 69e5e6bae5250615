//! Children added at run time: validated like static ones, owned by the tree.

mod support;

use supervisor_runtime::{CommandError, NodeState, StopOutcome, Supervisor};
use supervisor_spec::ChildSpec;
use support::{Alive, idle, root, worker};

#[tokio::test(start_paused = true)]
async fn a_dynamic_child_starts_and_is_shut_down_with_the_tree() {
    let alive = Alive::default();
    let tree = Supervisor::new(root([worker("a").with_task("idle").unwrap()]))
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
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
    let tree = Supervisor::new(root([worker("a").with_task("idle").unwrap()]))
        .task("idle", idle(&alive))
        .start()
        .await
        .unwrap();
    let h = tree.handle();
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
        CommandError::Invalid("no task is bound under `y`".into())
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
