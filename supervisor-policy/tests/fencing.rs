//! Generation fencing: inputs about an older incarnation change nothing.

mod support;

use supervisor_policy::{ChildStatus, Command, ExitKind, Generation, Input, Rule};
use support::{Harness, sup, worker};

#[test]
fn a_late_exit_of_an_old_incarnation_is_ignored() {
    let mut h = Harness::started(sup([worker("a")]));
    let old = h.generation("a");
    let d = h.exit("a", ExitKind::Failed);
    h.ready_all(&d);
    let d = h.handle(Input::Exited {
        child: h.key("a"),
        generation: old,
        exit: ExitKind::Failed,
    });
    assert!(d.actions.is_empty());
    assert_eq!(Harness::rules(&d), [Rule::StaleGeneration]);
    assert!(matches!(
        h.status("a"),
        ChildStatus::Running { ready: true, .. }
    ));
}

#[test]
fn a_second_exit_report_cannot_double_start() {
    let mut h = Harness::started(sup([worker("a")]));
    let gen_ = h.generation("a");
    let first = h.handle(Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Failed,
    });
    let second = h.handle(Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Failed,
    });
    assert_eq!(first.actions.len(), 1);
    assert!(second.actions.is_empty());
}

#[test]
fn a_terminated_child_is_not_resurrected_by_its_own_late_failure() {
    let mut h = Harness::started(sup([worker("a")]));
    let d = h.command(Command::Terminate(h.key("a")));
    let gen_ = h.generation("a");
    h.complete(&d);
    let d = h.handle(Input::Exited {
        child: h.key("a"),
        generation: gen_,
        exit: ExitKind::Panicked,
    });
    assert!(d.actions.is_empty());
    assert_eq!(h.status("a"), ChildStatus::Stopped);
}

#[test]
fn ready_for_an_unknown_generation_is_ignored() {
    let mut h = Harness::new(sup([worker("a")]));
    h.start();
    let d = h.handle(Input::Ready {
        child: h.key("a"),
        generation: Generation(999),
    });
    assert_eq!(Harness::rules(&d), [Rule::StaleGeneration]);
    assert!(!h.engine.is_ready());
}
