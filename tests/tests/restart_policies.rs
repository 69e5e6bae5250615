//! Each restart policy under each strategy, on the runtime.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{Restart, Strategy};
use support::{Recorder, root, settle, worker};

/// A task that ends its first incarnation as `first` says, then idles.
fn once(
    first: &'static str,
) -> impl Fn(TaskContext) -> support::futures_ready::Idle + Send + Sync + use<> {
    let runs = Arc::new(AtomicU32::new(0));
    move |ctx| {
        let n = runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match (n, first) {
                (0, "ok") => return Ok(()),
                (0, "err") => return Err(std::io::Error::other("failed")),
                (0, "panic") => panic!("panicked"),
                _ => {}
            }
            ctx.cancelled().await;
            Ok(())
        })
    }
}

async fn run(restart: Restart, strategy: Strategy, first: &'static str) -> Vec<String> {
    let rec = Recorder::default();
    let spec =
        root([worker("a"), worker("b").with_restart(restart), worker("c")]).with_strategy(strategy);
    let tree = Supervisor::new(spec)
        .task("a", once("idle"))
        .task("b", once(first))
        .task("c", once("idle"))
        .observer(rec.clone())
        .start()
        .await
        .unwrap();
    settle().await;
    let lines = rec.lines(&["started", "exited"]);
    tree.shutdown().await;
    // Drop the initial starts of a, b, c.
    lines.into_iter().skip(3).collect()
}

#[tokio::test(start_paused = true)]
async fn permanent_child_is_restarted_after_any_exit() {
    for first in ["ok", "err", "panic"] {
        let lines = run(Restart::Permanent, Strategy::OneForOne, first).await;
        assert_eq!(lines.len(), 2, "{first}: {lines:?}");
        assert_eq!(lines[1], "root/b restarted attempt 1");
    }
}

#[tokio::test(start_paused = true)]
async fn transient_child_is_restarted_only_after_an_abnormal_exit() {
    assert_eq!(
        run(Restart::Transient, Strategy::OneForOne, "ok").await,
        ["root/b exited completed"]
    );
    assert_eq!(
        run(Restart::Transient, Strategy::OneForOne, "panic").await,
        [
            "root/b exited panicked (task panicked: panicked)",
            "root/b restarted attempt 1"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn temporary_child_is_never_restarted() {
    assert_eq!(
        run(Restart::Temporary, Strategy::OneForOne, "err").await,
        ["root/b exited failed (task returned an error: failed)"]
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_all_restarts_every_child_in_order() {
    let lines = run(Restart::Permanent, Strategy::OneForAll, "err").await;
    assert_eq!(
        lines,
        [
            "root/b exited failed (task returned an error: failed)",
            "root/c exited stopped",
            "root/a exited stopped",
            "root/a restarted attempt 0",
            "root/b restarted attempt 1",
            "root/c restarted attempt 0",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    let lines = run(Restart::Permanent, Strategy::RestForOne, "err").await;
    assert_eq!(
        lines,
        [
            "root/b exited failed (task returned an error: failed)",
            "root/c exited stopped",
            "root/b restarted attempt 1",
            "root/c restarted attempt 0",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn transient_completion_under_one_for_all_touches_no_sibling() {
    let lines = run(Restart::Transient, Strategy::OneForAll, "ok").await;
    assert_eq!(lines, ["root/b exited completed"]);
}

#[tokio::test(start_paused = true)]
async fn temporary_failure_under_rest_for_one_touches_no_sibling() {
    let lines = run(Restart::Temporary, Strategy::RestForOne, "panic").await;
    assert_eq!(lines, ["root/b exited panicked (task panicked: panicked)"]);
}

/// Every restart type x every strategy x every way of ending.
#[tokio::test(start_paused = true)]
async fn the_full_matrix_of_restart_types_strategies_and_exits() {
    for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
        for strategy in [
            Strategy::OneForOne,
            Strategy::OneForAll,
            Strategy::RestForOne,
        ] {
            for first in ["ok", "err", "panic"] {
                let exit = match first {
                    "ok" => "root/b exited completed",
                    "err" => "root/b exited failed (task returned an error: failed)",
                    _ => "root/b exited panicked (task panicked: panicked)",
                };
                let restarted = match restart {
                    Restart::Permanent => true,
                    Restart::Transient => first != "ok",
                    Restart::Temporary => false,
                };
                let mut expected = vec![exit];
                if restarted {
                    expected.extend_from_slice(match strategy {
                        Strategy::OneForOne => &["root/b restarted attempt 1"][..],
                        Strategy::OneForAll => &[
                            "root/c exited stopped",
                            "root/a exited stopped",
                            "root/a restarted attempt 0",
                            "root/b restarted attempt 1",
                            "root/c restarted attempt 0",
                        ][..],
                        Strategy::RestForOne => &[
                            "root/c exited stopped",
                            "root/b restarted attempt 1",
                            "root/c restarted attempt 0",
                        ][..],
                    });
                }
                let got = run(restart, strategy, first).await;
                assert_eq!(got, expected, "{restart:?} {strategy:?} {first}");
            }
        }
    }
}
