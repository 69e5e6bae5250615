//! Backoff: exponential delays with seeded jitter, reset after a stable period.

mod support;

use std::time::Duration;

use supervisor_policy::{Engine, ExitKind, Input, Rule, Time};
use supervisor_spec::{Backoff, ChildSpec};
use support::{Harness, sup};

fn with_backoff(b: Backoff) -> Harness {
    Harness::started(sup([ChildSpec::worker("a").unwrap().with_backoff(b)]))
}

fn fail_and_wait(h: &mut Harness) -> Duration {
    let d = h.exit("a", ExitKind::Failed);
    let delay = d
        .explanation(Rule::RestartPermanent)
        .and_then(|e| e.backoff)
        .unwrap()
        .delay;
    let d = h.timer();
    h.ready_all(&d);
    delay
}

#[test]
fn delays_follow_the_exponential_curve_up_to_max() {
    let mut h = with_backoff(
        Backoff::exponential(Duration::from_millis(100), Duration::from_millis(500))
            .with_jitter(0.0),
    );
    let delays: Vec<u64> = (0..5)
        .map(|_| fail_and_wait(&mut h).as_millis() as u64)
        .collect();
    assert_eq!(delays, [100, 200, 400, 500, 500]);
}

#[test]
fn the_restart_waits_for_the_delay() {
    let mut h = with_backoff(
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1)).with_jitter(0.0),
    );
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["restart a in 100ms"]);
    h.advance(99);
    assert!(h.handle(Input::Timer).actions.is_empty());
    h.advance(1);
    let d = h.handle(Input::Timer);
    assert_eq!(h.lines(&d), ["start a attempt 1"]);
}

#[test]
fn jitter_only_shortens_and_is_recorded() {
    let b = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(8)).with_jitter(0.5);
    let mut h = with_backoff(b);
    for attempt in 0..4 {
        let d = h.exit("a", ExitKind::Failed);
        let draw = d
            .explanation(Rule::RestartPermanent)
            .unwrap()
            .backoff
            .unwrap();
        assert_eq!(draw.attempt, attempt);
        assert_eq!(draw.base, b.base_delay(attempt));
        assert!(
            draw.delay <= draw.base && draw.delay >= draw.base / 2,
            "{draw:?}"
        );
        assert_eq!(draw.delay, b.jittered(draw.base, draw.draw));
        let d = h.timer();
        h.ready_all(&d);
    }
}

fn delays(seed: u64, id: &str) -> Vec<Duration> {
    let spec = sup([ChildSpec::worker(id).unwrap().with_backoff(
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60)).with_jitter(1.0),
    )])
    .validate()
    .unwrap();
    let mut e = Engine::new(&spec, seed);
    let key = e.key(id).unwrap();
    let mut now = Time::ZERO;
    let mut d = e.start(now);
    let mut out = Vec::new();
    for _ in 0..5 {
        let Some(supervisor_policy::Action::Start { generation, .. }) = d.actions.first().cloned()
        else {
            panic!("{d:?}")
        };
        d = e.handle(
            now,
            Input::Exited {
                child: key,
                generation,
                exit: ExitKind::Failed,
            },
        );
        out.push(
            d.explanation(Rule::RestartPermanent)
                .unwrap()
                .backoff
                .unwrap()
                .delay,
        );
        now = e.next_deadline().unwrap();
        d = e.handle(now, Input::Timer);
    }
    out
}

#[test]
fn jitter_replays_from_the_seed_and_differs_per_child() {
    assert_eq!(delays(7, "a"), delays(7, "a"));
    assert_ne!(delays(7, "a"), delays(8, "a"));
    assert_ne!(delays(7, "a"), delays(7, "b"));
}

#[test]
fn attempts_reset_after_the_child_was_ready_for_reset_after() {
    let mut h = with_backoff(
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
            .with_jitter(0.0)
            .with_reset_after(Duration::from_secs(30)),
    );
    assert_eq!(fail_and_wait(&mut h), Duration::from_millis(100));
    assert_eq!(fail_and_wait(&mut h), Duration::from_millis(200));
    h.advance(30_000);
    let d = h.exit("a", ExitKind::Failed);
    let draw = d
        .explanation(Rule::RestartPermanent)
        .unwrap()
        .backoff
        .unwrap();
    assert!(draw.reset);
    assert_eq!(draw.delay, Duration::from_millis(100));
}

#[test]
fn attempts_do_not_reset_while_the_child_never_became_ready() {
    let spec = sup([ChildSpec::worker("a")
        .unwrap()
        .with_readiness(supervisor_spec::Readiness::explicit(Duration::from_secs(
            3600,
        )))
        .with_backoff(
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
                .with_jitter(0.0)
                .with_reset_after(Duration::from_secs(1)),
        )]);
    let mut h = Harness::new(spec);
    h.start();
    for expected in [100, 200, 400] {
        h.advance(60_000);
        let d = h.exit("a", ExitKind::Failed);
        let draw = d
            .explanation(Rule::RestartPermanent)
            .unwrap()
            .backoff
            .unwrap();
        assert_eq!(draw.delay, Duration::from_millis(expected));
        h.timer();
    }
}

#[test]
fn zero_backoff_restarts_in_the_same_decision_without_a_timer() {
    let mut h = with_backoff(Backoff::none());
    let d = h.exit("a", ExitKind::Failed);
    assert_eq!(h.lines(&d), ["start a attempt 1"]);
    assert_eq!(h.engine.next_deadline(), None);
}
