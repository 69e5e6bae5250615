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

/// A child waiting for its group's restart, taken out of waiting by a
/// command (pause, quarantine, terminate) and brought back (resume,
/// release, restart) before its group is down, waits for the group again:
/// it must not start next to a sibling its group restart is still
/// stopping (found by a review: it started at once).
#[test]
fn a_child_brought_back_during_its_group_s_restart_waits_for_the_group() {
    use supervisor_policy::Command;
    type Out = fn(supervisor_policy::ChildKey) -> Command;
    type Back = fn(supervisor_policy::ChildKey) -> Command;
    let ways: [(Out, Back); 4] = [
        (Command::Pause, Command::Resume),
        (Command::Pause, Command::Restart),
        (Command::Quarantine, Command::Release),
        (Command::Terminate, Command::Restart),
    ];
    for (out, back) in ways {
        let mut h = abc(Strategy::OneForAll);
        let d = h.exit("b", ExitKind::Failed);
        assert_eq!(h.lines(&d), ["stop c (sibling b)"]);
        let b = h.key("b");
        let taken = h.command(out(b));
        assert_eq!(taken.outcome, Some(Ok(())), "{:?}", out(b));
        let back_d = h.command(back(b));
        assert_eq!(back_d.outcome, Some(Ok(())), "{:?}", back(b));
        assert!(
            h.lines(&back_d).iter().all(|l| !l.starts_with("start")),
            "{:?} then {:?}: {:?}",
            out(b),
            back(b),
            h.lines(&back_d)
        );
        // Once c and a are down, all three start, in order (b's attempt
        // depends on the command that brought it back).
        let lines: Vec<String> = h
            .complete(&d)
            .iter()
            .map(|l| l.split(" attempt").next().unwrap_or(l).to_owned())
            .collect();
        assert_eq!(
            lines,
            ["stop a (sibling b)", "start a", "start b", "start c"],
            "{:?} then {:?}",
            out(b),
            back(b)
        );
    }
}

/// The same for a dependency whose dependents are still stopping.
#[test]
fn a_dependency_resumed_while_its_dependents_stop_waits_for_them() {
    use supervisor_policy::Command;
    let mut h = Harness::started(sup([
        worker("db"),
        worker("api").with_depends_on(["db"]).unwrap(),
    ]));
    let d = h.exit("db", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["stop api (dependency db)"]);
    let db = h.key("db");
    h.command(Command::Pause(db));
    let resumed = h.command(Command::Resume(db));
    assert!(h.lines(&resumed).is_empty(), "{:?}", h.lines(&resumed));
    assert_eq!(
        h.complete(&d),
        ["start db attempt 1", "start api attempt 0"]
    );
}
