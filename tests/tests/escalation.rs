//! Intensity exceeded: the supervisor gives up, its parent decides,
//! recursively up to the root, and the owner learns why.

mod support;

use std::time::Duration;

use supervisor_runtime::{EndReason, Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, SupervisorSpec};
use support::{Alive, Recorder, idle, worker};

async fn always_fails(_ctx: TaskContext) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("broken"))
}

#[tokio::test(start_paused = true)]
async fn intensity_exceeded_escalates_through_two_levels_to_the_owner() {
    let rec = Recorder::default();
    let alive = Alive::default();
    let inner = SupervisorSpec::new("inner")
        .unwrap()
        .with_intensity(2, Duration::from_secs(10))
        .with_child(
            worker("bad")
                .with_task("bad")
                .unwrap()
                .with_readiness(supervisor_spec::Readiness::explicit(Duration::from_secs(1))),
        )
        .with_child(worker("ok_inner").with_task("ok").unwrap());
    let middle = SupervisorSpec::new("middle")
        .unwrap()
        .with_intensity(0, Duration::from_secs(10))
        .with_child(ChildSpec::supervisor(inner));
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(0, Duration::from_secs(10))
        .with_child(ChildSpec::supervisor(middle))
        .with_child(worker("ok_root").with_task("ok").unwrap());
    // `bad` never becomes ready, so the tree never does: start reports the failure.
    let err = Supervisor::new(spec)
        .task("bad", always_fails)
        .task("ok", idle(&alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("the tree failed while starting: restart intensity exceeded"),
        "{msg}"
    );
    let escalations = rec.lines(&["escalated"]);
    assert_eq!(escalations.len(), 3, "{escalations:?}");
    assert!(
        escalations[0]
            .starts_with("root/middle/inner escalated: restart intensity exceeded: 3 restarts")
    );
    assert!(
        escalations[1].starts_with("root/middle escalated: restart intensity exceeded: 1 restarts")
    );
    assert!(escalations[2].starts_with("root escalated"));
    assert!(
        rec.lines(&["exited"]).contains(&"root/middle/inner exited failed (supervisor gave up: restart intensity exceeded: 3 restarts within 10s (max 2), last by bad)".to_owned()),
        "{:?}",
        rec.lines(&["exited"])
    );
    assert_eq!(alive.count(), 0, "everything was shut down");
}

#[tokio::test(start_paused = true)]
async fn a_root_giving_up_after_start_ends_the_tree_with_the_reason() {
    let alive = Alive::default();
    let failing = {
        move |ctx: TaskContext| async move {
            if ctx.generation().0 == 1 {
                ctx.ready();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err::<(), _>(std::io::Error::other("broken"))
        }
    };
    let spec = support::root([worker("a"), worker("b")]).with_intensity(1, Duration::from_secs(60));
    let tree = Supervisor::new(spec)
        .task("a", failing)
        .task("b", idle(&alive))
        .start()
        .await
        .unwrap();
    let end = tree.join().await;
    let EndReason::GaveUp { reason } = &end.end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("restart intensity exceeded"), "{reason}");
    assert_eq!(alive.count(), 0);
    assert_eq!(
        end.report.find("root/b").unwrap().outcome,
        supervisor_runtime::StopOutcome::Stopped
    );
}
