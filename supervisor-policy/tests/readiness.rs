//! Readiness deadlines, liveness failures, and the readiness roll-up.

mod support;

use std::time::Duration;

use supervisor_policy::{Decision, ExitKind, Generation, Input, Rule, Time};
use supervisor_spec::{Readiness, Restart};
use support::{Harness, sup, worker};

#[test]
fn a_child_not_ready_in_time_is_stopped_and_judged_as_failed() {
    let mut h = Harness::new(sup([
        worker("a").with_readiness(Readiness::explicit(Duration::from_secs(2)))
    ]));
    h.start();
    assert_eq!(h.engine.next_deadline(), Some(Time::from_millis(2_000)));
    let d = h.timer();
    assert_eq!(h.lines(&d), ["stop a (readiness timeout)"]);
    assert!(d.explanation(Rule::ReadinessTimedOut).is_some());
    let gen_ = h.generation("a");
    let d = h.handle(Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Stopped,
    });
    let why = d.explanation(Rule::RestartPermanent).unwrap();
    assert_eq!(why.exit, Some(ExitKind::ReadinessTimedOut));
    assert_eq!(h.lines(&d), ["start a attempt 1"]);
}

#[test]
fn ready_in_time_clears_the_deadline() {
    let mut h = Harness::new(sup([
        worker("a").with_readiness(Readiness::explicit(Duration::from_secs(2)))
    ]));
    h.start();
    h.advance(1_999);
    h.ready("a");
    assert_eq!(h.engine.next_deadline(), None);
    h.advance(10_000);
    assert!(h.handle(Input::Timer).actions.is_empty());
}

#[test]
fn liveness_missed_stops_the_incarnation_and_the_policy_decides() {
    let mut h = Harness::started(sup([worker("a").with_restart(Restart::Transient)]));
    let gen_ = h.generation("a");
    let d = h.handle(Input::Unhealthy {
        child: h.key("a"),
        generation: gen_,
        reason: ExitKind::LivenessMissed,
    });
    assert_eq!(h.lines(&d), ["stop a (liveness missed)"]);
    let lines = h.complete(&d);
    assert_eq!(lines, ["start a attempt 1"]);
}

#[test]
fn readiness_rolls_up_over_non_temporary_children() {
    let mut h = Harness::new(sup([
        worker("a"),
        worker("t").with_restart(Restart::Temporary),
    ]));
    h.start();
    assert!(!h.engine.is_ready());
    h.ready("a");
    assert!(
        h.engine.is_ready(),
        "a temporary child does not hold readiness back"
    );
    let d = h.exit("a", ExitKind::Failed);
    assert!(!h.engine.is_ready());
    h.ready_all(&d);
    assert!(h.engine.is_ready());
}

#[test]
fn a_late_timer_still_fires_every_due_deadline() {
    let mut h = Harness::new(sup([
        worker("a").with_readiness(Readiness::explicit(Duration::from_secs(1))),
        worker("b").with_readiness(Readiness::explicit(Duration::from_secs(2))),
    ]));
    h.start();
    h.advance(5_000);
    let d = h.handle(Input::Timer);
    assert_eq!(
        h.lines(&d),
        ["stop a (readiness timeout)", "stop b (readiness timeout)"]
    );
}

#[test]
fn an_unready_child_drops_the_roll_up_until_ready_again() {
    let mut h = Harness::new(sup([
        worker("a"),
        worker("b").with_depends_on(["a"]).unwrap(),
    ]));
    let d = h.start();
    h.ready_all(&d);
    assert!(h.engine.is_ready());
    let (child, generation) = (h.key("a"), h.generation("a"));
    let d = h.handle(Input::Unready { child, generation });
    assert!(d.actions.is_empty(), "dependents keep running");
    assert_eq!(Harness::rules(&d), [Rule::Unready]);
    assert!(!h.engine.is_ready());
    h.ready("a");
    assert!(h.engine.is_ready());
}

/// Appending the decisions of a run of inputs to one `Decision` gives the
/// actions and explanations that handling them one at a time gives, in
/// the same order.
#[test]
fn appended_decisions_equal_the_separate_ones_in_order() {
    let spec = || {
        sup([
            worker("a"),
            worker("b").with_depends_on(["a"]).unwrap(),
            worker("c"),
            worker("d").with_depends_on(["c"]).unwrap(),
        ])
    };
    let (mut one, mut each) = (Harness::new(spec()), Harness::new(spec()));
    one.start();
    each.start();
    let inputs = |h: &Harness| {
        ["c", "a"].map(|id| Input::Ready {
            child: h.key(id),
            generation: h.generation(id),
        })
    };
    let mut appended = supervisor_policy::Decision::default();
    for input in inputs(&one) {
        one.engine.handle_append(one.now, input, &mut appended);
    }
    let mut lines = Vec::new();
    let mut rules = Vec::new();
    for input in inputs(&each) {
        let d = each.handle(input);
        lines.extend(each.lines(&d));
        rules.extend(d.explanations.iter().map(|e| (e.rule, e.child)));
    }
    assert_eq!(lines, ["start d attempt 0", "start b attempt 0"]);
    assert_eq!(one.lines(&appended), lines);
    let appended_rules: Vec<_> = appended
        .explanations
        .iter()
        .map(|e| (e.rule, e.child))
        .collect();
    assert_eq!(appended_rules, rules);
}

#[test]
fn readiness_taken_in_at_once_settles_once_and_voids_due_deadlines() {
    let explicit = Readiness::explicit(Duration::from_secs(2));
    let mut h = Harness::new(sup([
        worker("a").with_readiness(explicit),
        worker("b").with_readiness(explicit),
        worker("c").with_depends_on(["a", "b"]).expect("valid ids"),
    ]));
    h.start();
    // Both readiness deadlines are due when the batch is taken in: the
    // children said they were ready, so neither is stopped.
    h.advance(2_000);
    let batch = [("a", h.generation("a")), ("b", h.generation("b"))]
        .map(|(id, generation)| (h.key(id), generation));
    let stale = (h.key("a"), Generation(99));
    let mut d = Decision::default();
    let ready =
        [batch[0], stale, batch[1]].map(|(child, generation)| Input::Ready { child, generation });
    h.engine.handle_batch(h.now, ready, &mut d);
    // c, which needs both, starts after both are taken in, once.
    assert_eq!(h.lines(&d), ["start c attempt 0"]);
    assert_eq!(
        Harness::rules(&d),
        [Rule::Ready, Rule::StaleGeneration, Rule::Ready]
    );
    assert_eq!(h.engine.next_deadline(), None);
    assert!(!h.engine.is_ready(), "c is not ready yet");
    assert_eq!(h.engine.check_counts(), Ok(()));
    h.ready("c");
    assert!(h.engine.is_ready());
}
