//! Dependencies at run time: dependents go down before their dependency
//! restarts and come back after it is ready.

mod support;

use std::time::Duration;

use supervisor_runtime::{StopReason, Supervisor, TaskContext};
use support::{Recorder, root, worker};

#[tokio::test(start_paused = true)]
async fn dependents_are_stopped_first_and_restarted_after_their_dependency() {
    let rec = Recorder::default();
    let reasons = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let r = reasons.clone();
    let api = move |ctx: TaskContext| {
        let r = r.clone();
        async move {
            ctx.cancelled().await;
            r.lock().push(ctx.stop_reason());
            Ok::<(), std::io::Error>(())
        }
    };
    let db = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Err(std::io::Error::other("db lost"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let spec = root([
        worker("db"),
        worker("api").with_depends_on(["db"]).unwrap(),
        worker("web")
            .with_task("api")
            .unwrap()
            .with_depends_on(["api"])
            .unwrap(),
    ]);
    let tree = Supervisor::new(spec)
        .task("db", db)
        .task("api", api)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    rec.clear();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        rec.lines(&["exited", "started"]),
        [
            "root/db exited failed (task returned an error: db lost)",
            "root/web exited stopped",
            "root/api exited stopped",
            "root/db restarted attempt 1",
            "root/api restarted attempt 0",
            "root/web restarted attempt 0",
        ]
    );
    let db_id: supervisor_spec::ChildId = "db".parse().unwrap();
    let api_id: supervisor_spec::ChildId = "api".parse().unwrap();
    assert_eq!(
        *reasons.lock(),
        [
            Some(StopReason::DependencyRestart { dependency: api_id }),
            Some(StopReason::DependencyRestart { dependency: db_id }),
        ]
    );
    tree.shutdown().await;
}

/// A temporary child is never restarted (OTP): stopped because the
/// dependency it names restarts, it stays down, whether that restart came
/// from a failure or from `restart_child`.
#[tokio::test(start_paused = true)]
async fn a_temporary_dependent_is_not_restarted_by_a_restart_command() {
    let alive = support::Alive::default();
    let rec = Recorder::default();
    let spec = root([
        worker("db").with_task("idle").unwrap(),
        worker("job")
            .with_task("idle")
            .unwrap()
            .with_restart(supervisor_spec::Restart::Temporary)
            .with_depends_on(["db"])
            .unwrap(),
    ]);
    let tree = Supervisor::new(spec)
        .task("idle", support::idle(&alive))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    rec.clear();
    h.restart_child("root/db", None).await.unwrap();
    support::settle().await;
    let job = h.child("root/job").await.unwrap();
    assert_eq!(
        (job.state, job.generation),
        (supervisor_runtime::NodeState::Stopped, None),
        "{:#?}",
        rec.lines(&["exited", "started"])
    );
    tree.shutdown().await;
}
