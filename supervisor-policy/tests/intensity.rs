//! Supervisor restart intensity (OTP): too many restarts in the window give up.

mod support;

use std::time::Duration;

use supervisor_policy::{Action, ExitKind, Rule, SupervisorExit};
use supervisor_spec::Strategy;
use support::{Harness, sup, worker};

fn two(max: u32) -> Harness {
    Harness::started(sup([worker("a"), worker("b")]).with_intensity(max, Duration::from_secs(5)))
}

#[test]
fn intensity_exceeded_escalates_and_stops_every_child() {
    let mut h = two(2);
    for _ in 0..2 {
        let d = h.exit("a", ExitKind::Failed);
        h.ready_all(&d);
        h.advance(100);
    }
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["escalate intensity", "stop b (shutdown)"]);
    let why = d.explanation(Rule::IntensityExceeded).unwrap();
    let count = why.intensity.unwrap();
    assert_eq!((count.count, count.max), (3, 2));
    let lines = h.complete(&d);
    assert_eq!(lines, ["exit escalated intensity"]);
    assert!(matches!(
        h.engine.exit(),
        Some(SupervisorExit::Escalated { .. })
    ));
}

#[test]
fn restarts_older_than_the_period_do_not_count() {
    let mut h = two(1);
    let d = h.exit("a", ExitKind::Failed);
    h.ready_all(&d);
    h.advance(5_000);
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start a attempt 2"]);
    assert_eq!(
        d.explanation(Rule::RestartPermanent)
            .unwrap()
            .intensity
            .unwrap()
            .count,
        1
    );
}

#[test]
fn zero_intensity_escalates_on_the_first_restart() {
    let mut h = two(0);
    let d = h.exit("b", ExitKind::Panicked);
    assert!(matches!(d.actions[0], Action::Escalate { .. }));
}

#[test]
fn restarts_of_different_children_share_the_intensity() {
    let mut h = two(1);
    let d = h.exit("a", ExitKind::Failed);
    h.ready_all(&d);
    let d = h.exit("b", ExitKind::Failed);
    assert!(matches!(d.actions[0], Action::Escalate { .. }));
}

#[test]
fn nothing_is_started_after_escalation() {
    let mut h = Harness::started(
        sup([worker("a"), worker("b"), worker("c")])
            .with_strategy(Strategy::OneForAll)
            .with_intensity(0, Duration::from_secs(5)),
    );
    let d = h.exit("b", ExitKind::Failed);
    let mut lines = h.lines(&d);
    lines.extend(h.complete(&d));
    assert!(lines.iter().all(|l| !l.starts_with("start")), "{lines:?}");
    assert_eq!(lines.last().unwrap(), "exit escalated intensity");
}
