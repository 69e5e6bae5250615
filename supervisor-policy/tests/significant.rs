//! Significant children and auto_shutdown (OTP).

mod support;

use supervisor_policy::{ExitKind, Rule};
use supervisor_spec::{AutoShutdown, Restart};
use support::{Harness, sup, worker};

fn tree(auto: AutoShutdown) -> Harness {
    Harness::started(
        sup([
            worker("s1")
                .with_restart(Restart::Transient)
                .with_significant(true),
            worker("s2")
                .with_restart(Restart::Temporary)
                .with_significant(true),
            worker("other"),
        ])
        .with_auto_shutdown(auto),
    )
}

#[test]
fn any_significant_shuts_down_when_one_significant_child_ends() {
    let mut h = tree(AutoShutdown::AnySignificant);
    let d = h.exit("s2", ExitKind::Failed);
    assert!(d.explanation(Rule::AutoShutdown).is_some());
    assert_eq!(h.lines(&d), ["stop other (shutdown)"]);
    let lines = h.complete(&d);
    assert_eq!(lines, ["stop s1 (shutdown)", "exit auto_shutdown by s2"]);
}

#[test]
fn all_significant_waits_for_every_significant_child() {
    let mut h = tree(AutoShutdown::AllSignificant);
    let d = h.exit("s1", ExitKind::Completed);
    assert!(d.actions.is_empty());
    let d = h.exit("s2", ExitKind::Completed);
    assert!(d.explanation(Rule::AutoShutdown).is_some());
    assert_eq!(h.lines(&d), ["stop other (shutdown)"]);
}

#[test]
fn a_transient_significant_child_that_fails_is_restarted_not_counted_as_ended() {
    let mut h = tree(AutoShutdown::AnySignificant);
    let d = h.exit("s1", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start s1 attempt 1"]);
    assert!(!h.engine.is_shutting_down());
}

#[test]
fn a_significant_child_stopped_by_the_supervisor_does_not_trigger_auto_shutdown() {
    let mut h = tree(AutoShutdown::AnySignificant);
    let d = h.command(supervisor_policy::Command::Terminate(h.key("s2")));
    h.complete(&d);
    assert!(!h.engine.is_shutting_down());
}
