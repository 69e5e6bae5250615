//! Shutdown: reverse order, nothing restarted, late exits recorded.

mod support;

use supervisor_policy::{Command, ExitKind, Input, Rule};
use supervisor_spec::ShutdownOrder;
use support::{Harness, sup, worker};

#[test]
fn shutdown_stops_children_one_at_a_time_in_reverse_start_order() {
    let mut h = Harness::started(sup([worker("a"), worker("b"), worker("c")]));
    let d = h.handle(Input::Shutdown);
    assert_eq!(h.lines(&d), ["stop c (shutdown)"]);
    let lines = h.complete(&d);
    assert_eq!(
        lines,
        ["stop b (shutdown)", "stop a (shutdown)", "exit shutdown"]
    );
}

#[test]
fn parallel_shutdown_asks_all_at_once_in_reverse_order() {
    let mut h = Harness::started(
        sup([worker("a"), worker("b"), worker("c")]).with_shutdown_order(ShutdownOrder::Parallel),
    );
    let d = h.handle(Input::Shutdown);
    assert_eq!(
        h.lines(&d),
        [
            "stop c (shutdown)",
            "stop b (shutdown)",
            "stop a (shutdown)"
        ]
    );
    assert_eq!(h.complete(&d), ["exit shutdown"]);
}

#[test]
fn parallel_shutdown_still_stops_dependents_first() {
    let mut h = Harness::started(
        sup([
            worker("db"),
            worker("api").with_depends_on(["db"]).unwrap(),
            worker("x"),
        ])
        .with_shutdown_order(ShutdownOrder::Parallel),
    );
    let d = h.handle(Input::Shutdown);
    assert_eq!(h.lines(&d), ["stop x (shutdown)", "stop api (shutdown)"]);
    assert_eq!(h.complete(&d), ["stop db (shutdown)", "exit shutdown"]);
}

#[test]
fn sequential_shutdown_stops_a_dependent_declared_earlier_first() {
    let mut h = Harness::started(sup([
        worker("api").with_depends_on(["db"]).unwrap(),
        worker("db"),
    ]));
    let d = h.handle(Input::Shutdown);
    assert_eq!(h.lines(&d), ["stop api (shutdown)"]);
}

#[test]
fn exits_during_shutdown_are_recorded_not_acted_on() {
    let mut h = Harness::started(sup([worker("a"), worker("b")]));
    h.handle(Input::Shutdown);
    let d = h.exit("a", ExitKind::Failed);
    assert!(d.actions.is_empty());
    assert_eq!(Harness::rules(&d), [Rule::ExitDuringShutdown]);
    assert_eq!(h.engine.last_exit(h.key("a")), Some(ExitKind::Failed));
}

#[test]
fn pending_restarts_are_cancelled_by_shutdown() {
    let mut h = Harness::started(sup([
        worker("a").with_backoff(supervisor_spec::Backoff::exponential(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        )),
        worker("b"),
    ]));
    h.exit("a", ExitKind::Failed);
    let d = h.handle(Input::Shutdown);
    assert_eq!(h.lines(&d), ["stop b (shutdown)"]);
    let lines = h.complete(&d);
    assert_eq!(lines, ["exit shutdown"]);
    assert_eq!(h.engine.next_deadline(), None);
    h.advance(5_000);
    assert!(h.handle(Input::Timer).actions.is_empty());
}

#[test]
fn commands_are_rejected_during_shutdown() {
    let mut h = Harness::started(sup([worker("a")]));
    h.handle(Input::Shutdown);
    let d = h.command(Command::Restart(h.key("a")));
    assert!(d.actions.is_empty());
    assert_eq!(
        d.outcome.unwrap().unwrap_err().message,
        "the supervisor is shutting down"
    );
}

#[test]
fn shutdown_of_an_empty_supervisor_exits_at_once() {
    let mut h = Harness::started(sup([]));
    let d = h.handle(Input::Shutdown);
    assert_eq!(h.lines(&d), ["exit shutdown"]);
}
