//! A panicking task is a failure of that child, carrying its message.

mod support;

use supervisor_runtime::{EventKind, Supervisor, TaskContext};
use supervisor_spec::Restart;
use support::{Recorder, root, worker};

#[tokio::test(start_paused = true)]
async fn a_panic_is_reported_with_its_message_and_the_supervisor_survives() {
    let rec = Recorder::default();
    let task = |ctx: TaskContext| async move {
        if ctx.generation().0 == 1 {
            let n: Option<u32> = None;
            panic!("invariant broken: {}", n.map_or(7, |v| v));
        }
        ctx.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let tree = Supervisor::new(root([worker("a").with_restart(Restart::Transient)]))
        .task("a", task)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    support::settle().await;
    let failure = rec
        .events()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::Exited {
                failure: Some(f), ..
            } => Some(f),
            _ => None,
        })
        .expect("an exit with a failure");
    assert_eq!(failure.to_string(), "task panicked: invariant broken: 7");
    let report = tree.shutdown().await;
    assert_eq!(
        report.find("root/a").unwrap().last_error,
        None.or(Some("task panicked: invariant broken: 7".to_owned()))
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_while_building_the_future_is_caught_too() {
    let rec = Recorder::default();
    let task = |ctx: TaskContext| {
        if ctx.generation().0 == 1 {
            panic!("in the constructor");
        }
        async move {
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    };
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", task)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    support::settle().await;
    assert!(
        rec.lines(&["exited"])
            .contains(&"root/a exited panicked (task panicked: in the constructor)".to_owned()),
        "{:?}",
        rec.lines(&[])
    );
    tree.shutdown().await;
}
