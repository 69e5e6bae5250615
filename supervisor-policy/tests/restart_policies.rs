//! OTP restart types: permanent, transient, temporary.

mod support;

use supervisor_policy::{ChildStatus, ExitKind, Rule};
use supervisor_spec::Restart;
use support::{Harness, sup, worker};

#[test]
fn permanent_child_is_restarted_after_normal_exit() {
    let mut h = Harness::started(sup([worker("a")]));
    let d = h.exit("a", ExitKind::Completed);
    assert_eq!(h.lines(&d), ["start a attempt 1"]);
    assert_eq!(Harness::rules(&d), [Rule::RestartPermanent]);
}

#[test]
fn permanent_child_is_restarted_after_failure_and_panic() {
    let mut h = Harness::started(sup([worker("a")]));
    for exit in [ExitKind::Failed, ExitKind::Panicked] {
        let d = h.exit("a", exit);
        assert_eq!(h.lines(&d).len(), 1, "{exit:?}");
        h.ready_all(&d);
    }
    assert_eq!(h.engine.restarts(h.key("a")), 2);
}

#[test]
fn transient_child_is_not_restarted_after_normal_exit() {
    let mut h = Harness::started(sup([worker("a").with_restart(Restart::Transient)]));
    let d = h.exit("a", ExitKind::Completed);
    assert!(d.actions.is_empty());
    assert_eq!(Harness::rules(&d), [Rule::TransientCompleted]);
    assert_eq!(h.status("a"), ChildStatus::Stopped);
}

#[test]
fn transient_child_is_restarted_after_every_abnormal_exit() {
    let mut h = Harness::started(sup([worker("a").with_restart(Restart::Transient)]));
    for (attempt, exit) in [
        ExitKind::Failed,
        ExitKind::Panicked,
        ExitKind::LivenessMissed,
        ExitKind::ReadinessTimedOut,
    ]
    .into_iter()
    .enumerate()
    {
        let d = h.exit("a", exit);
        assert_eq!(
            h.lines(&d),
            [format!("start a attempt {}", attempt + 1)],
            "{exit:?}"
        );
        assert_eq!(Harness::rules(&d), [Rule::RestartTransient]);
        h.ready_all(&d);
    }
}

#[test]
fn temporary_child_is_never_restarted() {
    for exit in [ExitKind::Completed, ExitKind::Failed, ExitKind::Panicked] {
        let mut h = Harness::started(sup([worker("a").with_restart(Restart::Temporary)]));
        let d = h.exit("a", exit);
        assert!(d.actions.is_empty(), "{exit:?}");
        assert_eq!(Harness::rules(&d), [Rule::TemporaryEnded]);
    }
}

#[test]
fn normal_completion_of_a_transient_child_does_not_count_against_intensity() {
    let spec = sup([worker("a").with_restart(Restart::Transient), worker("b")])
        .with_intensity(0, std::time::Duration::from_secs(5));
    let mut h = Harness::started(spec);
    let d = h.exit("a", ExitKind::Completed);
    assert!(d.actions.is_empty());
    assert!(!h.engine.is_shutting_down());
}

#[test]
fn an_unrequested_stopped_exit_counts_as_a_failure() {
    let mut h = Harness::started(sup([worker("a").with_restart(Restart::Transient)]));
    let d = h.exit("a", ExitKind::Stopped);
    assert_eq!(h.lines(&d), ["start a attempt 1"]);
    let why = d.explanation(Rule::RestartTransient).unwrap();
    assert_eq!(why.exit, Some(ExitKind::Failed));
}
