//! Strategies: which siblings are stopped and restarted with a failed child.

mod support;

use supervisor_policy::{ExitKind, Rule};
use supervisor_spec::{Restart, ShutdownOrder, Strategy};
use support::{Harness, sup, worker};

fn abc(strategy: Strategy) -> Harness {
    Harness::started(sup([worker("a"), worker("b"), worker("c")]).with_strategy(strategy))
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    let mut h = abc(Strategy::OneForOne);
    let d = h.exit("b", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start b attempt 1"]);
    assert!(
        d.explanation(Rule::RestartPermanent)
            .unwrap()
            .affected
            .is_empty()
    );
}

#[test]
fn one_for_all_stops_the_others_in_reverse_order_then_starts_all_in_order() {
    let mut h = abc(Strategy::OneForAll);
    let d = h.exit("b", ExitKind::Failed);
    // Sequential order: one stop at a time, the last started first.
    assert_eq!(h.lines(&d), ["stop c (sibling b)"]);
    let lines = h.complete(&d);
    assert_eq!(
        lines,
        [
            "stop a (sibling b)",
            "start a attempt 0",
            "start b attempt 1",
            "start c attempt 0",
        ]
    );
}

#[test]
fn one_for_all_with_parallel_order_stops_the_others_together() {
    let mut h = Harness::started(
        sup([worker("a"), worker("b"), worker("c")])
            .with_strategy(Strategy::OneForAll)
            .with_shutdown_order(ShutdownOrder::Parallel),
    );
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["stop c (sibling a)", "stop b (sibling a)"]);
    // Nothing starts until both have stopped.
    let c = (h.key("c"), h.generation("c"));
    let d = h.handle(supervisor_policy::Input::Exited {
        child: c.0,
        generation: c.1,
        exit: ExitKind::Stopped,
    });
    assert!(d.actions.is_empty(), "{:?}", h.lines(&d));
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let mut h = abc(Strategy::RestForOne);
    let d = h.exit("b", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["stop c (sibling b)"]);
    let lines = h.complete(&d);
    assert_eq!(lines, ["start b attempt 1", "start c attempt 0"]);
    // `a` was never touched.
    assert_eq!(h.engine.restarts(h.key("a")), 0);
}

#[test]
fn rest_for_one_of_the_last_child_is_one_for_one() {
    let mut h = abc(Strategy::RestForOne);
    let d = h.exit("c", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start c attempt 1"]);
}

#[test]
fn temporary_children_stopped_by_a_strategy_are_not_restarted() {
    let mut h = Harness::started(
        sup([
            worker("a"),
            worker("t").with_restart(Restart::Temporary),
            worker("c"),
        ])
        .with_strategy(Strategy::OneForAll),
    );
    let d = h.exit("a", ExitKind::Failed);
    let lines = h.complete(&d);
    assert_eq!(
        [h.lines(&d), lines].concat(),
        [
            "stop c (sibling a)",
            "stop t (sibling a)",
            "start a attempt 1",
            "start c attempt 0",
        ]
    );
    assert_eq!(h.status("t"), supervisor_policy::ChildStatus::Stopped);
}

#[test]
fn a_strategy_restart_counts_once_against_intensity() {
    let mut h = abc(Strategy::OneForAll);
    let d = h.exit("a", ExitKind::Failed);
    let why = d.explanation(Rule::RestartPermanent).unwrap();
    assert_eq!(why.intensity.unwrap().count, 1);
    assert_eq!(why.affected.len(), 2);
}
