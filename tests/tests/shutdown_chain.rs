//! A sequential shutdown that nobody listens to is carried on by the
//! children themselves (the runtime's chain): each one's clean end asks
//! the next to stop. These tests check, from the tasks' own side and from
//! the shutdown report, that it keeps every promise of a sequential stop:
//! one child at a time, in reverse start order, each only after the one
//! before it has ended; each child's timeout counted from its own stop;
//! and every outcome and stop time reported as it happened. With an
//! observer attached, the chain's events reach it when the supervisor
//! wakes (at most about 20 ms late), dated as they happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use proptest::prelude::*;
use supervisor_runtime::{ShutdownReport, StopOutcome, StopReason, Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, Shutdown, SupervisorSpec};
use tokio::time::Instant;

/// What a child does once asked to stop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OnStop {
    /// Returns `Ok(())` at once.
    Quick,
    /// Returns `Ok(())` after this long.
    Late(Duration),
    /// Ignores the request (aborted when its timeout runs out).
    Hang,
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
    /// Leaves a sub-task running that ignores the request, then returns
    /// `Ok(())` (the sub-task is aborted, and waited for, by its supervisor).
    LeaveSubtask,
}

/// What happened, and when, as the tasks saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    /// Saw its stop request, with the deadline it carried.
    Stop(Option<Instant>),
    /// About to return (or to panic).
    End,
    /// Its future (or its sub-task's) was dropped.
    Gone,
}

type Log = Arc<Mutex<Vec<(usize, Seen, Instant)>>>;

/// Logs `Gone` when dropped.
struct Guard(usize, Log);

impl Drop for Guard {
    fn drop(&mut self) {
        self.1.lock().push((self.0, Seen::Gone, Instant::now()));
    }
}

fn index(ctx: &TaskContext) -> usize {
    ctx.id().as_str()[1..].parse().unwrap()
}

/// A tree of one worker per entry of `plan` (`c0`, `c1`, ...), with its
/// graceful timeout, in the default sequential order, and no observer.
fn tree(plan: &[(OnStop, Duration)], log: &Log) -> Supervisor {
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_children(plan.iter().enumerate().map(|(i, &(_, timeout))| {
            ChildSpec::worker(format!("c{i}").as_str())
                .unwrap()
                .with_task("t")
                .unwrap()
                .with_shutdown(Shutdown::graceful(timeout))
        }));
    let behaviours: Vec<OnStop> = plan.iter().map(|p| p.0).collect();
    let log = log.clone();
    Supervisor::new(spec).task("t", move |ctx: TaskContext| {
        let i = index(&ctx);
        let on_stop = behaviours[i];
        let log = log.clone();
        async move {
            let _guard = Guard(i, log.clone());
            ctx.cancelled().await;
            log.lock()
                .push((i, Seen::Stop(ctx.deadline()), Instant::now()));
            match on_stop {
                OnStop::Quick => {}
                OnStop::Late(d) => tokio::time::sleep(d).await,
                OnStop::Hang => std::future::pending::<()>().await,
                OnStop::Fail => {
                    log.lock().push((i, Seen::End, Instant::now()));
                    return Err(std::io::Error::other("failed while stopping"));
                }
                OnStop::Panic => {
                    log.lock().push((i, Seen::End, Instant::now()));
                    panic!("panicked while stopping");
                }
                OnStop::LeaveSubtask => {
                    let sub = Guard(i, log.clone());
                    ctx.spawn(async move {
                        let _sub = sub;
                        std::future::pending::<()>().await;
                    });
                }
            }
            log.lock().push((i, Seen::End, Instant::now()));
            Ok(())
        }
    })
}

/// When child `i` saw its stop, and when everything of it was gone (its
/// future, and its sub-task's if it left one).
fn times(log: &[(usize, Seen, Instant)], i: usize) -> (Instant, Option<Instant>, Instant) {
    let of = |seen: fn(&Seen) -> bool| {
        log.iter()
            .filter(|(j, s, _)| *j == i && seen(s))
            .map(|e| e.2)
            .collect::<Vec<_>>()
    };
    let stop = of(|s| matches!(s, Seen::Stop(_)));
    let deadline = log.iter().find_map(|(j, s, _)| match s {
        Seen::Stop(d) if *j == i => Some(*d),
        _ => None,
    });
    assert_eq!(stop.len(), 1, "child {i} saw one stop: {log:?}");
    let gone = of(|s| matches!(s, Seen::Gone));
    let last = gone.iter().max().copied().expect("its future was dropped");
    (stop[0], deadline.flatten(), last)
}

/// Checks the promises of a sequential stop against what the tasks saw
/// and what the report says, and returns the report's entry per child.
fn check(plan: &[(OnStop, Duration)], log: &Log, report: &ShutdownReport) {
    let log = log.lock().clone();
    let n = plan.len();
    // One at a time, in reverse start order, each after the one before it
    // is gone (its sub-tasks too).
    let mut previous_gone: Option<Instant> = None;
    for i in (0..n).rev() {
        let (stop, deadline, gone) = times(&log, i);
        if let Some(before) = previous_gone {
            assert!(
                stop >= before,
                "child {i} asked before child {} was gone: {log:?}",
                i + 1
            );
        }
        // Its timeout runs from its own stop.
        assert_eq!(
            deadline,
            Some(stop + plan[i].1),
            "child {i}'s deadline: {log:?}"
        );
        previous_gone = Some(gone);
        let entry = report.find(&format!("root/c{i}")).unwrap();
        let (outcome, took) = match plan[i].0 {
            OnStop::Quick | OnStop::LeaveSubtask => (StopOutcome::Stopped, Duration::ZERO),
            OnStop::Late(d) => (StopOutcome::Stopped, d),
            OnStop::Hang => (StopOutcome::Aborted, plan[i].1),
            OnStop::Fail | OnStop::Panic => (StopOutcome::FailedWhileStopping, Duration::ZERO),
        };
        assert_eq!(entry.outcome, outcome, "child {i}: {report:?}");
        // The clock is paused: a stop takes exactly its task's time.
        assert_eq!(entry.took, took, "child {i}: {report:?}");
        let subtasks = usize::from(plan[i].0 == OnStop::LeaveSubtask);
        assert_eq!(entry.subtasks, subtasks, "child {i}: {report:?}");
    }
}

async fn run(plan: &[(OnStop, Duration)]) {
    let log: Log = Arc::default();
    let tree = tree(plan, &log).start().await.unwrap();
    let report = tree.shutdown().await;
    check(plan, &log, &report);
}

/// An event as the observer saw it: child, kind, its date (time since the
/// epoch), and when the observer heard of it.
type Heard = Arc<Mutex<Vec<(String, &'static str, Duration, Instant)>>>;

/// `tree`, with an observer that keeps the events named `names`.
fn listened(
    plan: &[(OnStop, Duration)],
    log: &Log,
    names: &'static [&'static str],
) -> (Supervisor, Heard) {
    let heard: Heard = Arc::default();
    let h = heard.clone();
    let tree = tree(plan, log).observer(move |e: &supervisor_runtime::Event| {
        let name = e.kind.name();
        if names.contains(&name) {
            h.lock()
                .push((e.path.to_string(), name, e.elapsed, Instant::now()));
        }
    });
    (tree, heard)
}

#[tokio::test(start_paused = true)]
async fn an_observer_hears_every_stop_in_order_dated_as_it_happened() {
    // c5 to c1 stop within 5 ms through the chain; c0 takes 30 ms, longer
    // than a chain may run with a listener: the supervisor breaks it
    // (20 ms in) and stops c0's stop itself.
    let plan = [
        (OnStop::Late(ms(30)), SECOND),
        (OnStop::Quick, SECOND),
        (OnStop::Quick, SECOND),
        (OnStop::Late(ms(5)), SECOND),
        (OnStop::Quick, SECOND),
        (OnStop::Quick, SECOND),
    ];
    let log: Log = Arc::default();
    let epoch = Instant::now();
    let (tree, heard) = listened(&plan, &log, &["stop_requested", "exited", "stopped"]);
    let tree = tree.start().await.unwrap();
    // The paused clock did not move while the tree started: this is its
    // epoch.
    assert_eq!(Instant::now(), epoch);
    let report = tree.shutdown().await;
    check(&plan, &log, &report);
    let log = log.lock().clone();
    let heard = heard.lock().clone();
    let mut expected = Vec::new();
    for i in (0..plan.len()).rev() {
        let (stop, _, _) = times(&log, i);
        let end = log
            .iter()
            .find(|(j, s, _)| *j == i && *s == Seen::End)
            .unwrap()
            .2;
        let path = format!("root/c{i}");
        expected.push((path.clone(), "stop_requested", stop - epoch));
        expected.push((path.clone(), "exited", end - epoch));
        expected.push((path, "stopped", end - epoch));
    }
    let dated: Vec<_> = heard.iter().map(|e| (e.0.clone(), e.1, e.2)).collect();
    assert_eq!(dated, expected);
    // Heard late (the chain's stops when the supervisor broke it), by at
    // most the chain's limit with a listener.
    assert!(heard.iter().any(|e| e.3 - epoch > e.2), "{heard:?}");
    assert!(
        heard.iter().all(|e| e.3 - epoch - e.2 <= ms(20)),
        "{heard:?}"
    );
}

const SECOND: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn children_stop_one_after_another_with_their_own_times() {
    let plan: Vec<_> = (0..6)
        .map(|i| (OnStop::Late(ms(10 * (i + 1))), SECOND))
        .collect();
    let t0 = Instant::now();
    run(&plan).await;
    // 10 + 20 + ... + 60 ms, one after another.
    assert_eq!(t0.elapsed(), ms(210));
}

#[tokio::test(start_paused = true)]
async fn a_child_that_ignores_its_stop_is_aborted_when_its_own_timeout_runs_out() {
    // The first child stopped has a minute, the one that hangs 100 ms:
    // it is aborted 100 ms after its stop, not when the minute is up.
    let plan = [
        (OnStop::Quick, SECOND),
        (OnStop::Quick, SECOND),
        (OnStop::Hang, ms(100)),
        (OnStop::Late(ms(5)), SECOND),
        (OnStop::Quick, Duration::from_secs(60)),
    ];
    let t0 = Instant::now();
    run(&plan).await;
    assert_eq!(t0.elapsed(), ms(105));
}

#[tokio::test(start_paused = true)]
async fn failures_while_stopping_are_reported_and_the_rest_still_stop_in_order() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let plan = [
        (OnStop::Quick, SECOND),
        (OnStop::Panic, SECOND),
        (OnStop::Late(ms(3)), SECOND),
        (OnStop::Fail, SECOND),
        (OnStop::LeaveSubtask, SECOND),
        (OnStop::Quick, SECOND),
    ];
    run(&plan).await;
    std::panic::set_hook(previous);
}

fn on_stop() -> impl Strategy<Value = OnStop> {
    prop_oneof![
        4 => Just(OnStop::Quick),
        3 => (1u64..50).prop_map(|d| OnStop::Late(ms(d))),
        1 => Just(OnStop::Hang),
        1 => Just(OnStop::Fail),
        1 => Just(OnStop::LeaveSubtask),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of children, quick or late, hanging, failing or leaving a
    /// sub-task, each with its own timeout.
    #[test]
    fn any_mix_of_children_stops_by_the_same_rules(
        plan in prop::collection::vec((on_stop(), (5u64..100).prop_map(|t| ms(2 * t))), 1..12)
    ) {
        // A late child within its timeout (the plan says `Late`, not `Hang`).
        let plan: Vec<_> = plan
            .into_iter()
            .map(|(s, t)| match s {
                OnStop::Late(d) if d >= t => (OnStop::Late(t / 2), t),
                // Whole milliseconds, as tokio's timer counts.
                OnStop::Late(d) => (OnStop::Late(ms(d.as_millis() as u64)), t),
                other => (other, t),
            })
            .collect();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(run(&plan));
    }
}

/// On two worker threads and a real clock, every child of a big tree sees
/// its stop only once every child after it has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers_each_stop_waits_for_the_end_before_it() {
    const N: usize = 2_000;
    let ended = Arc::new(AtomicUsize::new(0));
    let early = Arc::new(AtomicUsize::new(0));
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_children((0..N).map(|i| {
            ChildSpec::worker(format!("c{i}").as_str())
                .unwrap()
                .with_task("t")
                .unwrap()
        }));
    let (e, x) = (ended.clone(), early.clone());
    let tree = Supervisor::new(spec)
        .task("t", move |ctx: TaskContext| {
            let (ended, early) = (e.clone(), x.clone());
            async move {
                ctx.cancelled().await;
                // Every child after this one, and none before, has ended.
                if ended.load(Ordering::SeqCst) != N - 1 - index(&ctx) {
                    early.fetch_add(1, Ordering::SeqCst);
                }
                ended.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            }
        })
        .start()
        .await
        .unwrap();
    let report = tree.shutdown().await;
    assert_eq!(early.load(Ordering::SeqCst), 0);
    assert_eq!(ended.load(Ordering::SeqCst), N);
    assert!(
        report
            .children
            .iter()
            .all(|c| c.outcome == StopOutcome::Stopped)
    );
}

/// Found in review: a child that ends on its own (here: it fails, in the
/// same batch as the exit whose stop started the chain) must not stall
/// the chain, which would otherwise wait at it for the shortest timeout,
/// and with a shutdown budget abort children that would have stopped.
async fn one_fails_on_its_own(budget: Option<Duration>) -> (Duration, ShutdownReport) {
    use tokio::sync::Notify;
    let poke = Arc::new(Notify::new());
    let p = poke.clone();
    // c7 goes first, at once (brutal kill): no chain starts then.
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_children((0..8).map(|i| {
            let shutdown = if i == 7 {
                Shutdown::BrutalKill {
                    abort_wait: Duration::from_secs(30),
                }
            } else {
                Shutdown::graceful(Duration::from_secs(5))
            };
            ChildSpec::worker(format!("c{i}").as_str())
                .unwrap()
                .with_task("t")
                .unwrap()
                .with_shutdown(shutdown)
        }));
    let spec = match budget {
        Some(b) => spec.with_shutdown(b),
        None => spec,
    };
    let tree = Supervisor::new(spec)
        .task("t", move |ctx: TaskContext| {
            let poke = p.clone();
            async move {
                let i = index(&ctx);
                if i == 4 {
                    // Fails on its own when c7 goes down.
                    tokio::select! {
                        _ = ctx.cancelled() => return Ok(()),
                        _ = poke.notified() => return Err(std::io::Error::other("lost its peer")),
                    }
                }
                struct Poke(Arc<Notify>, bool);
                impl Drop for Poke {
                    fn drop(&mut self) {
                        if self.1 {
                            self.0.notify_one();
                        }
                    }
                }
                let _poke = Poke(poke.clone(), i == 7);
                ctx.cancelled().await;
                Ok::<(), std::io::Error>(())
            }
        })
        .start()
        .await
        .unwrap();
    let t0 = Instant::now();
    let report = tree.shutdown().await;
    (t0.elapsed(), report)
}

#[tokio::test(start_paused = true)]
async fn a_child_failing_on_its_own_in_the_batch_does_not_stall_the_shutdown() {
    let (took, report) = one_fails_on_its_own(None).await;
    assert_eq!(took, Duration::ZERO, "{report:?}");
    let c4 = report.find("root/c4").unwrap();
    assert_eq!(c4.last_exit, Some(supervisor_policy::ExitKind::Failed));
}

#[tokio::test(start_paused = true)]
async fn with_a_budget_no_child_that_stops_in_time_is_aborted() {
    let (_, report) = one_fails_on_its_own(Some(SECOND)).await;
    for c in &report.children {
        if c.path.to_string() != "root/c7" {
            assert_ne!(c.outcome, StopOutcome::Aborted, "{report:?}");
        }
    }
}

/// Found in review: a child that completes on its own just before the
/// chain would reach it is reported as completed, not as stopped.
#[tokio::test(start_paused = true)]
async fn a_child_that_completes_on_its_own_is_reported_completed() {
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_children((0..8).map(|i| {
            ChildSpec::worker(format!("c{i}").as_str())
                .unwrap()
                .with_task("t")
                .unwrap()
        }));
    let tree = Supervisor::new(spec)
        .task("t", move |ctx: TaskContext| async move {
            let i = index(&ctx);
            if i == 6 {
                tokio::time::sleep(ms(10)).await;
                return Ok(());
            }
            ctx.cancelled().await;
            if i == 7 {
                // Ends at the same instant as c6, just after it.
                tokio::time::sleep(ms(10)).await;
            }
            Ok::<(), std::io::Error>(())
        })
        .start()
        .await
        .unwrap();
    let report = tree.shutdown().await;
    let c6 = report.find("root/c6").unwrap();
    assert_eq!(c6.outcome, StopOutcome::Completed, "{report:?}");
    assert_eq!(c6.last_exit, Some(supervisor_policy::ExitKind::Completed));
    for c in report
        .children
        .iter()
        .filter(|c| c.path.to_string() != "root/c6")
    {
        assert_eq!(c.outcome, StopOutcome::Stopped, "{report:?}");
    }
}

/// The stop reason each child saw.
type Reasons = Arc<Mutex<Vec<(usize, Option<StopReason>)>>>;

/// Found in review: a child queued for a stop before the shutdown began
/// (its sibling's restart, one_for_all) is told that reason, not
/// `Shutdown`, though the shutdown stops it.
#[tokio::test(start_paused = true)]
async fn a_child_queued_for_a_restart_is_told_that_reason() {
    let reasons: Reasons = Arc::default();
    let r = reasons.clone();
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_strategy(supervisor_spec::Strategy::OneForAll)
        .with_children((0..4).map(|i| {
            ChildSpec::worker(format!("c{i}").as_str())
                .unwrap()
                .with_task("t")
                .unwrap()
                .with_backoff(supervisor_spec::Backoff::none())
        }));
    let tree = Supervisor::new(spec)
        .task("t", move |ctx: TaskContext| {
            let reasons = r.clone();
            async move {
                let i = index(&ctx);
                if i == 3 && ctx.generation().0 < 5 {
                    // Fails once, at 1 ms: its siblings are stopped for it.
                    tokio::time::sleep(ms(1)).await;
                    return Err(std::io::Error::other("down"));
                }
                ctx.cancelled().await;
                reasons.lock().push((i, ctx.stop_reason()));
                if i == 2 {
                    // The restart's first stop takes 10 ms: the shutdown
                    // comes meanwhile.
                    tokio::time::sleep(ms(10)).await;
                }
                Ok::<(), std::io::Error>(())
            }
        })
        .start()
        .await
        .unwrap();
    tokio::time::sleep(ms(5)).await;
    tree.shutdown().await;
    let reasons = reasons.lock().clone();
    let of = |i: usize| reasons.iter().find(|r| r.0 == i).and_then(|r| r.1.clone());
    assert!(
        matches!(of(1), Some(StopReason::SiblingRestart { .. })),
        "{reasons:?}"
    );
    assert!(
        matches!(of(0), Some(StopReason::SiblingRestart { .. })),
        "{reasons:?}"
    );
}

/// With a listener the supervisor breaks a chain after 20 ms; the next
/// stop it makes itself starts another, so a long sequential shutdown
/// keeps being carried on by the children: the last children's stops are
/// heard late (through a chain), and every stop is still dated as it
/// happened.
#[tokio::test(start_paused = true)]
async fn after_breaking_a_chain_the_supervisor_starts_another() {
    let plan: Vec<_> = (0..12).map(|_| (OnStop::Late(ms(5)), SECOND)).collect();
    let log: Log = Arc::default();
    let epoch = Instant::now();
    let (tree, heard) = listened(&plan, &log, &["exited"]);
    let tree = tree.start().await.unwrap();
    let report = tree.shutdown().await;
    check(&plan, &log, &report);
    let heard = heard.lock().clone();
    // 60 ms of stops: c11 first, c0 last.
    assert_eq!(heard.len(), 12);
    let late = |path: &str| {
        heard
            .iter()
            .find(|e| e.0 == path)
            .is_some_and(|e| e.3 - epoch > e.2)
    };
    assert!(late("root/c10"), "the first chain: {heard:?}");
    assert!(late("root/c2"), "a later chain: {heard:?}");
}
