//! Per-child budgets: quarantine or escalate one flapping child.

mod support;

use std::time::Duration;

use supervisor_policy::{ChildStatus, Command, ExitKind, Rule, Time};
use supervisor_spec::Budget;
use support::{Harness, sup, worker};

fn flapping(budget: Budget) -> Harness {
    Harness::started(sup([worker("a").with_budget(budget), worker("b")]))
}

fn fail_times(h: &mut Harness, id: &str, n: usize) {
    for _ in 0..n {
        let d = h.exit(id, ExitKind::Failed);
        h.ready_all(&d);
    }
}

#[test]
fn exhausted_budget_quarantines_the_child_and_spares_its_siblings() {
    let mut h = flapping(Budget::new(2, Duration::from_secs(60)).quarantine(None));
    fail_times(&mut h, "a", 2);
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["quarantine a"]);
    let why = d.explanation(Rule::BudgetQuarantined).unwrap();
    assert_eq!(why.budget.unwrap().count, 3);
    assert_eq!(h.status("a"), ChildStatus::Quarantined { retry_at: None });
    assert!(matches!(h.status("b"), ChildStatus::Running { .. }));
    assert!(!h.engine.is_ready(), "a quarantined child is not ready");
}

#[test]
fn quarantined_child_is_retried_after_retry_after_with_a_fresh_budget() {
    let mut h =
        flapping(Budget::new(0, Duration::from_secs(60)).quarantine(Some(Duration::from_secs(30))));
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["quarantine a until 30s"]);
    assert_eq!(h.engine.next_deadline(), Some(Time::from_millis(30_000)));
    let d = h.timer();
    assert_eq!(h.lines(&d), ["start a attempt 0"]);
    assert!(d.explanation(Rule::QuarantineRetry).is_some());
}

#[test]
fn released_child_starts_again() {
    let mut h = flapping(Budget::new(0, Duration::from_secs(60)).quarantine(None));
    h.exit("a", ExitKind::Failed);
    let d = h.command(Command::Release(h.key("a")));
    assert_eq!(d.outcome, Some(Ok(())));
    assert_eq!(h.lines(&d), ["start a attempt 0"]);
}

#[test]
fn exhausted_budget_escalates_when_the_spec_says_so() {
    let mut h = flapping(Budget::new(1, Duration::from_secs(60)));
    fail_times(&mut h, "a", 1);
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["escalate budget", "stop b (shutdown)"]);
    assert!(d.explanation(Rule::BudgetEscalated).is_some());
}

#[test]
fn budget_window_slides() {
    let mut h = flapping(Budget::new(1, Duration::from_secs(10)).quarantine(None));
    fail_times(&mut h, "a", 1);
    h.advance(10_000);
    let d = h.exit("a", ExitKind::Failed);
    assert!(h.lines(&d)[0].starts_with("start a"), "{:?}", h.lines(&d));
}

#[test]
fn a_quarantine_does_not_count_against_intensity() {
    let mut h = Harness::started(
        sup([
            worker("a").with_budget(Budget::new(0, Duration::from_secs(60)).quarantine(None)),
            worker("b"),
        ])
        .with_intensity(0, Duration::from_secs(5)),
    );
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["quarantine a"]);
    assert!(!h.engine.is_shutting_down());
}
