//! Operators' commands: each applied or rejected without changing anything.

mod support;

use std::time::Duration;

use supervisor_policy::{Action, ChildStatus, Command, ExitKind, Rule};
use supervisor_spec::{Backoff, Restart};
use support::{Harness, sup, worker};

fn rejected(d: &supervisor_policy::Decision) -> String {
    d.outcome.clone().unwrap().unwrap_err().message
}

#[test]
fn restart_stops_and_starts_a_running_child_without_counting() {
    let mut h = Harness::started(sup([worker("a")]).with_intensity(0, Duration::from_secs(5)));
    let d = h.command(Command::Restart(h.key("a")));
    assert_eq!(d.outcome, Some(Ok(())));
    assert_eq!(h.lines(&d), ["stop a (manual restart)"]);
    assert_eq!(h.complete(&d), ["start a attempt 0"]);
    assert!(!h.engine.is_shutting_down());
}

#[test]
fn restart_skips_a_pending_backoff() {
    let mut h = Harness::started(sup([worker("a").with_backoff(Backoff::exponential(
        Duration::from_secs(10),
        Duration::from_secs(10),
    ))]));
    h.exit("a", ExitKind::Failed);
    let d = h.command(Command::Restart(h.key("a")));
    assert!(matches!(d.actions[..], [Action::Start { .. }]));
}

#[test]
fn terminate_stops_the_child_and_leaves_it_down() {
    let mut h = Harness::started(sup([worker("a"), worker("b")]));
    let d = h.command(Command::Terminate(h.key("a")));
    assert_eq!(h.lines(&d), ["stop a (manual terminate)"]);
    assert!(h.complete(&d).is_empty());
    assert_eq!(h.status("a"), ChildStatus::Stopped);
    // and restart brings it back
    let d = h.command(Command::Restart(h.key("a")));
    assert_eq!(h.lines(&d), ["start a attempt 0"]);
}

#[test]
fn delete_removes_a_stopped_child_and_refuses_a_running_one() {
    let mut h = Harness::started(sup([worker("a"), worker("b")]));
    let key = h.key("a");
    let d = h.command(Command::Delete(key));
    assert_eq!(rejected(&d), "the child is running; terminate it first");
    let d = h.command(Command::Terminate(key));
    h.complete(&d);
    let d = h.command(Command::Delete(key));
    assert_eq!(d.actions, [Action::Removed { child: key }]);
    assert!(h.engine.status(key).is_none());
    assert_eq!(h.engine.keys(), [h.key("b")]);
    let d = h.command(Command::Restart(key));
    assert_eq!(rejected(&d), "no such child");
}

#[test]
fn delete_refuses_a_child_others_depend_on() {
    let mut h = Harness::started(sup([
        worker("db").with_restart(Restart::Temporary),
        worker("api").with_depends_on(["db"]).unwrap(),
    ]));
    let d = h.command(Command::Terminate(h.key("db")));
    h.complete(&d);
    let d = h.command(Command::Delete(h.key("db")));
    assert_eq!(rejected(&d), "siblings depend on it: api");
}

#[test]
fn quarantine_and_release() {
    let mut h = Harness::started(sup([worker("a")]));
    let d = h.command(Command::Quarantine(h.key("a")));
    assert_eq!(h.lines(&d), ["stop a (manual quarantine)"]);
    // Announced once it is down, as the quarantine of a child that is
    // down already is.
    assert_eq!(h.complete(&d), ["quarantine a"]);
    assert_eq!(h.status("a"), ChildStatus::Quarantined { retry_at: None });
    let d = h.command(Command::Quarantine(h.key("a")));
    assert_eq!(rejected(&d), "the child is already quarantined");
    let d = h.command(Command::Release(h.key("a")));
    assert_eq!(h.lines(&d), ["start a attempt 0"]);
    let d = h.command(Command::Release(h.key("a")));
    assert_eq!(rejected(&d), "the child is not quarantined");
}

#[test]
fn pause_and_resume_really_restarts() {
    let mut h = Harness::started(sup([worker("a")]));
    let d = h.command(Command::Pause(h.key("a")));
    h.complete(&d);
    assert_eq!(h.status("a"), ChildStatus::Paused);
    let d = h.command(Command::Resume(h.key("a")));
    assert_eq!(h.lines(&d), ["start a attempt 0"]);
    let d = h.command(Command::Resume(h.key("a")));
    assert_eq!(rejected(&d), "the child is not paused");
}

#[test]
fn commands_on_a_stopping_child_are_rejected_without_change() {
    let mut h = Harness::started(sup([worker("a")]));
    h.command(Command::Terminate(h.key("a")));
    let d = h.command(Command::Restart(h.key("a")));
    assert!(d.actions.is_empty());
    assert_eq!(
        rejected(&d),
        "the child is being stopped; try again once it is down"
    );
    assert_eq!(Harness::rules(&d), [Rule::CommandRejected]);
}

#[test]
fn add_starts_a_dynamic_child_and_rejects_duplicates() {
    let mut h = Harness::started(sup([worker("a")]));
    let d = h.command(Command::Add(Box::new(
        worker("b").with_depends_on(["a"]).unwrap(),
    )));
    assert_eq!(h.lines(&d), ["start b attempt 0"]);
    let d = h.command(Command::Add(Box::new(worker("b"))));
    assert_eq!(rejected(&d), "a child with id `b` exists already");
    let d = h.command(Command::Add(Box::new(
        worker("c").with_depends_on(["zz"]).unwrap(),
    )));
    assert_eq!(rejected(&d), "depends_on names unknown sibling `zz`");
}

#[test]
fn a_command_racing_an_exit_never_double_starts() {
    let mut h = Harness::started(sup([worker("a")]));
    let gen_ = h.generation("a");
    let d1 = h.command(Command::Restart(h.key("a")));
    // The child fails on its own just as the restart's stop goes out.
    let d2 = h.handle(supervisor_policy::Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Failed,
    });
    let starts = [&d1, &d2]
        .iter()
        .flat_map(|d| d.actions.iter())
        .filter(|a| matches!(a, Action::Start { .. }))
        .count();
    assert_eq!(starts, 1);
    // The stop's own late report is stale.
    let d3 = h.handle(supervisor_policy::Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Stopped,
    });
    assert!(d3.actions.is_empty());
}

/// The index of keys by id is built on the first lookup: children added and
/// deleted before it are found, or not, all the same.
#[test]
fn lookups_see_children_added_and_deleted_before_the_first_one() {
    let mut h = Harness::started(sup([worker("a"), worker("b"), worker("c")]));
    let keys = h.engine.keys().to_vec();
    let d = h.command(Command::Terminate(keys[1]));
    h.complete(&d);
    let d = h.command(Command::Delete(keys[1]));
    assert_eq!(d.actions, [Action::Removed { child: keys[1] }]);
    let d = h.command(Command::Add(Box::new(worker("d"))));
    assert!(d.outcome.clone().unwrap().is_ok());
    // The first lookup by id.
    assert_eq!(h.engine.key("a"), Some(keys[0]));
    assert_eq!(h.engine.key("b"), None);
    assert_eq!(h.engine.key("c"), Some(keys[2]));
    let added = h.engine.key("d").expect("the added child");
    assert_eq!(h.engine.keys(), [keys[0], keys[2], added]);
    // Later changes keep the built index in step.
    let d = h.command(Command::Add(Box::new(worker("b"))));
    assert!(d.outcome.clone().unwrap().is_ok());
    assert!(h.engine.key("b").is_some_and(|k| k != keys[1]));
}

/// An engine can be moved to and shared between threads (its index of
/// keys by id is built lazily behind a `OnceLock`, not a `OnceCell`).
#[test]
fn an_engine_is_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let h = Harness::started(sup([worker("a")]));
    send_sync(&h.engine);
    std::thread::scope(|s| {
        s.spawn(|| assert!(h.engine.key("a").is_some()));
        s.spawn(|| assert!(h.engine.key("a").is_some()));
    });
}
