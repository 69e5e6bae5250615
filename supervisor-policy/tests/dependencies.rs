//! Dependencies: start gating, restarts around a dependency, no counting
//! while a dependency is down.

mod support;

use std::time::Duration;

use supervisor_policy::{ChildStatus, ExitKind, Rule};
use supervisor_spec::Strategy;
use support::{Harness, sup, worker};

fn dep(id: &str, on: &[&str]) -> supervisor_spec::ChildSpec {
    worker(id).with_depends_on(on).unwrap()
}

#[test]
fn a_child_starts_only_once_its_dependencies_are_ready() {
    let mut h = Harness::new(sup([worker("db"), dep("api", &["db"]), worker("cache")]));
    let d = h.start();
    assert_eq!(h.lines(&d), ["start db attempt 0", "start cache attempt 0"]);
    let d = h.ready("db");
    assert_eq!(h.lines(&d), ["start api attempt 0"]);
}

#[test]
fn a_diamond_starts_its_join_after_both_branches() {
    let mut h = Harness::new(sup([
        worker("root-dep"),
        dep("left", &["root-dep"]),
        dep("right", &["root-dep"]),
        dep("join", &["left", "right"]),
    ]));
    h.start();
    let d = h.ready("root-dep");
    assert_eq!(
        h.lines(&d),
        ["start left attempt 0", "start right attempt 0"]
    );
    assert!(h.ready("left").actions.is_empty());
    let d = h.ready("right");
    assert_eq!(h.lines(&d), ["start join attempt 0"]);
    h.ready("join");
    assert!(h.engine.is_ready());
}

#[test]
fn dependents_are_stopped_before_and_restarted_after_their_dependency() {
    let mut h = Harness::started(sup([
        worker("db"),
        dep("api", &["db"]),
        dep("web", &["api"]),
        worker("other"),
    ]));
    let d = h.exit("db", ExitKind::Failed);
    // Whatever the strategy, dependents (transitively) go down first, last first.
    assert_eq!(h.lines(&d), ["stop web (dependency api)"]);
    let why = d.explanation(Rule::RestartPermanent).unwrap();
    assert_eq!(why.affected.len(), 2);
    let lines = h.complete(&d);
    assert_eq!(
        lines,
        [
            "stop api (dependency db)",
            "start db attempt 1",
            "start api attempt 0",
            "start web attempt 0",
        ]
    );
    assert_eq!(h.engine.restarts(h.key("other")), 0);
}

#[test]
fn dependent_exit_while_its_dependency_is_down_waits_and_is_not_counted() {
    let mut h = Harness::started(
        sup([
            worker("db").with_backoff(
                supervisor_spec::Backoff::exponential(
                    Duration::from_secs(1),
                    Duration::from_secs(1),
                )
                .with_jitter(0.0),
            ),
            dep("api", &["db"]),
        ])
        .with_intensity(1, Duration::from_secs(60)),
    );
    let d = h.exit("db", ExitKind::Failed);
    assert_eq!(
        h.lines(&d),
        ["restart db in 1s", "stop api (dependency db)"]
    );
    // api fails on its own before its stop is processed: the exit completes the stop.
    let d = h.exit("api", ExitKind::Failed);
    assert_eq!(Harness::rules(&d), [Rule::StopCompleted]);
    assert!(matches!(h.status("api"), ChildStatus::Waiting { .. }));
    let d = h.timer();
    assert_eq!(h.lines(&d), ["start db attempt 1"]);
    let d = h.ready("db");
    assert_eq!(h.lines(&d), ["start api attempt 0"]);
    assert!(!h.engine.is_shutting_down());
}

#[test]
fn a_dependent_that_fails_while_its_dependency_is_unready_waits_uncounted() {
    let mut h = Harness::new(
        sup([worker("db"), dep("api", &["db"])]).with_intensity(0, Duration::from_secs(60)),
    );
    let d = h.start();
    h.ready_all(&d);
    // db restarts by command: api goes down and waits for db to be ready again.
    let d = h.command(supervisor_policy::Command::Restart(h.key("db")));
    let lines = h.complete(&d);
    assert_eq!(
        lines,
        [
            "stop db (manual restart)",
            "start db attempt 0",
            "start api attempt 0"
        ]
    );
    assert!(
        !h.engine.is_shutting_down(),
        "manual restarts are not counted"
    );
}

#[test]
fn rest_for_one_also_takes_down_earlier_dependents() {
    let mut h = Harness::started(
        sup([dep("early", &["late"]), worker("mid"), worker("late")])
            .with_strategy(Strategy::RestForOne),
    );
    let d = h.exit("late", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["stop early (dependency late)"]);
    assert_eq!(h.engine.restarts(h.key("mid")), 0);
}

#[test]
fn a_dependency_that_completed_its_work_satisfies_its_dependents() {
    let mut h = Harness::new(sup([
        worker("migrate").with_restart(supervisor_spec::Restart::Transient),
        dep("api", &["migrate"]),
    ]));
    h.start();
    h.ready("migrate");
    h.ready("api");
    h.exit("migrate", ExitKind::Completed);
    // api fails later: it restarts at once, migrate is done for good.
    let d = h.exit("api", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start api attempt 1"]);
    h.ready("api");
    assert!(h.engine.is_ready());
}
