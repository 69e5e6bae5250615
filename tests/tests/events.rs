//! Events: a slow subscriber is told what it missed; the tree never waits.

mod support;

use supervisor_runtime::{EventKind, Supervisor};
use supervisor_spec::Restart;
use support::{root, worker};
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_is_told_how_many_events_it_missed() {
    let failing = |ctx: supervisor_runtime::TaskContext| async move {
        if ctx.generation().0 <= 100 {
            return Err(std::io::Error::other("x"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let spec = root([worker("a").with_restart(Restart::Permanent)])
        .with_intensity(1_000, std::time::Duration::from_secs(1));
    let tree = Supervisor::new(spec)
        .task("a", failing)
        .event_capacity(16)
        .start()
        .await
        .unwrap();
    let mut rx = tree.subscribe();
    tree.handle().restart_child("root/a", None).await.unwrap();
    support::settle().await;
    // Hundreds of events went by while nobody read.
    match rx.recv().await {
        Err(RecvError::Lagged(n)) => assert!(n > 100, "missed {n}"),
        other => panic!("{other:?}"),
    }
    // After the gap the receiver reads on.
    assert!(rx.recv().await.is_ok());
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_events_carry_the_engines_explanation() {
    let rec = support::Recorder::default();
    let failing = |ctx: supervisor_runtime::TaskContext| async move {
        if ctx.generation().0 == 1 {
            return Err(std::io::Error::other("x"));
        }
        ctx.cancelled().await;
        Ok(())
    };
    let tree = Supervisor::new(root([worker("a")]))
        .task("a", failing)
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    support::settle().await;
    let explained = rec.events().into_iter().find_map(|e| match e.kind {
        EventKind::RestartScheduled {
            rule,
            intensity,
            backoff,
            ..
        } => Some((rule, intensity, backoff)),
        _ => None,
    });
    let (rule, intensity, backoff) = explained.expect("a restart_scheduled event");
    assert_eq!(rule, supervisor_policy::Rule::RestartPermanent);
    assert_eq!(intensity.unwrap().count, 1);
    assert_eq!(backoff.unwrap().attempt, 0);
    tree.shutdown().await;
}
