//! Hostile commands: paths that name nothing, the wrong kind of node,
//! commands during and after shutdown, and commands from many tasks at
//! once fail with a clear error and leave the tree consistent, checked by
//! snapshot invariants.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{
    CommandError, EventKind, NodeSnapshot, NodeState, StopOutcome, Supervisor, SupervisorHandle,
    TaskContext,
};
use supervisor_spec::{ChildSpec, Shutdown, SupervisorSpec};
use support::{Alive, root, worker};

/// An idle task that counts itself alive and records any overlap of two
/// incarnations of one child.
#[derive(Clone, Default)]
struct Probe {
    alive: Alive,
    running: Arc<parking_lot::Mutex<std::collections::HashMap<String, usize>>>,
    overlaps: Arc<AtomicUsize>,
}

struct Entered {
    probe: Probe,
    path: String,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Some(n) = self.probe.running.lock().get_mut(&self.path) {
            *n -= 1;
        }
    }
}

impl Probe {
    fn task(&self) -> impl Fn(TaskContext) -> support::futures_ready::Idle + Send + Sync + use<> {
        let probe = self.clone();
        move |ctx| {
            let probe = probe.clone();
            Box::pin(async move {
                let path = ctx.path().to_string();
                let before = {
                    let mut running = probe.running.lock();
                    let n = running.entry(path.clone()).or_default();
                    *n += 1;
                    *n - 1
                };
                if before > 0 {
                    probe.overlaps.fetch_add(1, Ordering::SeqCst);
                }
                let _entered = Entered {
                    probe: probe.clone(),
                    path,
                };
                let _alive = probe.alive.enter();
                ctx.cancelled().await;
                Ok(())
            })
        }
    }

    fn is_running(&self, path: &str) -> bool {
        self.running.lock().get(path).copied().unwrap_or(0) > 0
    }
}

/// root: a, b, jobs (j1, j2), all idle, bound to `probe`.
fn spec() -> SupervisorSpec {
    let idle = |id: &str| worker(id).with_task("idle").unwrap();
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_children([idle("j1"), idle("j2")]);
    root([idle("a"), idle("b"), ChildSpec::supervisor(jobs)])
}

async fn start(
    probe: &Probe,
    recorder: &Recorder,
) -> (supervisor_runtime::RunningTree, SupervisorHandle) {
    let tree = Supervisor::new(spec())
        .task("idle", probe.task())
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    (tree, handle)
}

/// Every node of a snapshot as `path state generation restarts`, depth first.
fn shape(node: &NodeSnapshot) -> Vec<String> {
    let mut out = vec![format!(
        "{} {} {:?} {}",
        node.path,
        node.state.as_str(),
        node.generation,
        node.restarts
    )];
    for c in &node.children {
        out.extend(shape(c));
    }
    out
}

/// A snapshot is consistent: each child once, below its parent; an
/// incarnation (and uptime) exactly for running nodes; children only under
/// running supervisors.
fn check_snapshot(node: &NodeSnapshot, is_root: bool) {
    let path = node.path.to_string();
    if !is_root {
        let running = matches!(
            node.state,
            NodeState::Ready | NodeState::RunningNotReady | NodeState::Stopping
        );
        assert_eq!(node.generation.is_some(), running, "{node:?}");
        assert_eq!(node.uptime.is_some(), running, "{node:?}");
        assert!(
            node.children.is_empty() || (node.kind == "supervisor" && running),
            "{node:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for c in &node.children {
        let cp = c.path.to_string();
        assert_eq!(
            cp.rsplit_once('/').map(|(p, _)| p),
            Some(path.as_str()),
            "{cp}"
        );
        assert!(seen.insert(cp.clone()), "{cp} listed twice");
        check_snapshot(c, false);
    }
}

fn workers_of(node: &NodeSnapshot, out: &mut Vec<NodeSnapshot>) {
    for c in &node.children {
        if c.kind == "supervisor" {
            workers_of(c, out);
        } else {
            out.push(c.clone());
        }
    }
}

type Answers = Vec<(&'static str, Option<CommandError>)>;

/// Every command that addresses a child, on `path`, with its error if it failed.
async fn child_commands(h: &SupervisorHandle, path: &str) -> Answers {
    vec![
        ("restart", h.restart_child(path, Some("x")).await.err()),
        ("terminate", h.terminate_child(path, None).await.err()),
        ("delete", h.delete_child(path, None).await.err()),
        ("quarantine", h.quarantine_child(path, None).await.err()),
        ("release", h.release_child(path, None).await.err()),
        ("pause", h.pause_child(path, None).await.err()),
        ("resume", h.resume_child(path, None).await.err()),
        ("child", h.child(path).await.err()),
    ]
}

/// Every command there is, on `path`.
async fn every_command(h: &SupervisorHandle, path: &str) -> Answers {
    let spec = ChildSpec::worker("extra")
        .unwrap()
        .with_task("idle")
        .unwrap();
    let mut answers = child_commands(h, path).await;
    answers.push(("children", h.children(path).await.err()));
    answers.push(("count_children", h.count_children(path).await.err()));
    answers.push(("start_child", h.start_child(path, spec).await.err()));
    answers
}

#[tokio::test(start_paused = true)]
async fn paths_that_name_nothing_are_refused_and_change_nothing() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (tree, h) = start(&probe, &recorder).await;
    let before = shape(&h.tree().await.unwrap());
    recorder.clear();
    let long = format!("root/{}", "x".repeat(10_000));
    let deep = format!("root{}", "/x".repeat(1_000));
    let paths = [
        "",
        "/",
        "root/",
        "/root/a",
        "root//a",
        "root/a/",
        "root/nope",
        "Root/a",
        "other/a",
        "root/a/below",
        "root/jobs/nope",
        "root/jobs/j1/below",
        "root/\0",
        "root/ä",
        "root/a b",
        "root/../a",
        long.as_str(),
        deep.as_str(),
    ];
    for path in paths {
        for (command, error) in every_command(&h, path).await {
            // `child` and `children` of a path below a worker name the worker.
            assert!(
                matches!(
                    error,
                    Some(CommandError::UnknownPath { .. } | CommandError::WrongKind { .. })
                ),
                "{command} on {path:?}: {error:?}"
            );
        }
    }
    assert!(recorder.lines().is_empty(), "{:#?}", recorder.lines());
    assert_eq!(shape(&h.tree().await.unwrap()), before);
    assert_eq!(probe.alive.count(), 4);
    tree.shutdown().await;
    assert_eq!(probe.alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn commands_on_the_wrong_kind_of_node_say_why_and_change_nothing() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (tree, h) = start(&probe, &recorder).await;
    let before = shape(&h.tree().await.unwrap());
    recorder.clear();
    let wrong_kind = |e: Option<CommandError>| matches!(e, Some(CommandError::WrongKind { .. }));
    let rejected = |e: &Option<CommandError>, why: &str| matches!(e, Some(CommandError::Rejected { message, .. }) if message.contains(why));
    assert_eq!(
        h.children("root/a").await.unwrap_err().to_string(),
        "root/a is a worker; only supervisors have children"
    );
    assert!(wrong_kind(h.count_children("root/jobs/j1").await.err()));
    assert!(wrong_kind(h.child("root").await.err()));
    for (command, error) in child_commands(&h, "root").await {
        assert!(wrong_kind(error.clone()), "{command} on root: {error:?}");
    }
    let extra = ChildSpec::worker("extra")
        .unwrap()
        .with_task("idle")
        .unwrap();
    assert!(wrong_kind(
        h.start_child("root/a", extra.clone()).await.err()
    ));
    let e = h.delete_child("root/a", None).await.err();
    assert!(rejected(&e, "running; terminate it first"), "{e:?}");
    let e = h.release_child("root/a", None).await.err();
    assert!(rejected(&e, "not quarantined"), "{e:?}");
    let e = h.resume_child("root/a", None).await.err();
    assert!(rejected(&e, "not paused"), "{e:?}");
    // Additions that cannot be: a taken id, an unknown dependency, an
    // unbound task, an invalid policy.
    let invalid = |e: Option<CommandError>| matches!(e, Some(CommandError::Invalid(_)));
    let taken = ChildSpec::worker("a").unwrap().with_task("idle").unwrap();
    assert!(invalid(h.start_child("root", taken).await.err()));
    let orphan = extra.clone().with_depends_on(["nope"]).unwrap();
    assert!(invalid(h.start_child("root", orphan).await.err()));
    let unbound = ChildSpec::worker("unbound").unwrap();
    assert!(invalid(h.start_child("root", unbound).await.err()));
    let infinite = extra.clone().with_shutdown(Shutdown::Infinity);
    assert!(invalid(h.start_child("root", infinite).await.err()));
    let nested = ChildSpec::supervisor(SupervisorSpec::new("jobs").unwrap());
    assert!(invalid(h.start_child("root", nested).await.err()));
    assert!(recorder.lines().is_empty(), "{:#?}", recorder.lines());
    assert_eq!(shape(&h.tree().await.unwrap()), before);
    tree.shutdown().await;
    assert_eq!(probe.alive.count(), 0);
}

/// A worker that ignores cancellation, so a shutdown takes its graceful timeout.
async fn stubborn(_ctx: TaskContext) -> Result<(), std::io::Error> {
    std::future::pending::<()>().await;
    Ok(())
}

/// A tree whose shutdown takes 5 s: `slow` (declared last, so stopped
/// first) ignores cancellation; `a` and `jobs` still run meanwhile.
async fn slow_to_stop(
    probe: &Probe,
    recorder: &Recorder,
) -> (
    SupervisorHandle,
    tokio::task::JoinHandle<supervisor_runtime::ShutdownReport>,
) {
    let spec =
        spec().with_child(worker("slow").with_shutdown(Shutdown::graceful(Duration::from_secs(5))));
    let tree = Supervisor::new(spec)
        .task("idle", probe.task())
        .task("slow", stubborn)
        .observer(recorder.clone())
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    let shutdown = tokio::spawn(async move { tree.shutdown().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!shutdown.is_finished());
    (h, shutdown)
}

/// Events after the root began shutting down that start something.
fn started_after_shutdown(recorder: &Recorder) -> Vec<String> {
    let events = recorder.events();
    let begun = events
        .iter()
        .position(|e| {
            e.path.to_string() == "root" && matches!(e.kind, EventKind::ShutdownBegun { .. })
        })
        .unwrap_or(events.len());
    events[begun..]
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Started { .. } | EventKind::Added))
        .map(ToString::to_string)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn commands_during_shutdown_fail_with_shutting_down() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (h, shutdown) = slow_to_stop(&probe, &recorder).await;
    for path in ["root/a", "root/slow", "root/jobs"] {
        for (command, error) in child_commands(&h, path).await {
            if command != "child" {
                assert_eq!(
                    error,
                    Some(CommandError::ShuttingDown),
                    "{command} on {path}"
                );
            }
        }
    }
    let extra = ChildSpec::worker("extra")
        .unwrap()
        .with_task("idle")
        .unwrap();
    assert_eq!(
        h.start_child("root", extra).await.err(),
        Some(CommandError::ShuttingDown)
    );
    // Snapshots still work, and are consistent.
    check_snapshot(&h.tree().await.unwrap(), true);
    let report = shutdown.await.unwrap();
    assert_eq!(
        report.find("root/slow").map(|n| n.outcome),
        Some(StopOutcome::Aborted)
    );
    assert_eq!(started_after_shutdown(&recorder), Vec::<String>::new());
    assert_eq!(probe.alive.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn commands_below_a_nested_supervisor_during_shutdown_fail_and_start_nothing() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (h, shutdown) = slow_to_stop(&probe, &recorder).await;
    let restart = h.restart_child("root/jobs/j1", None).await.err();
    let extra = ChildSpec::worker("extra")
        .unwrap()
        .with_task("idle")
        .unwrap();
    let add = h.start_child("root/jobs", extra).await.err();
    shutdown.await.unwrap();
    assert_eq!(
        (restart, add),
        (
            Some(CommandError::ShuttingDown),
            Some(CommandError::ShuttingDown)
        )
    );
    assert_eq!(started_after_shutdown(&recorder), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_command_cut_short_by_its_supervisor_stopping_does_not_say_the_tree_shuts_down() {
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(worker("j1").with_shutdown(Shutdown::graceful(Duration::from_secs(5))));
    let tree = Supervisor::new(root([ChildSpec::supervisor(jobs)]))
        .task("j1", stubborn)
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    // j1 takes 5 s to stop: the quarantine waits for it.
    let waiting = {
        let h = h.clone();
        tokio::spawn(async move { h.quarantine_child("root/jobs/j1", None).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    h.terminate_child("root/jobs", None).await.unwrap();
    let answer = waiting.await.unwrap();
    assert!(h.end().is_none(), "the tree runs on");
    assert_ne!(answer.err(), Some(CommandError::ShuttingDown));
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_command_to_a_child_of_a_stopping_supervisor_does_not_say_the_tree_shuts_down() {
    // Sequential: j2 (declared last) is stopped first and takes 5 s; j1
    // still runs meanwhile.
    let jobs = SupervisorSpec::new("jobs").unwrap().with_children([
        worker("j1").with_task("idle").unwrap(),
        worker("j2")
            .with_task("slow")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(5))),
    ]);
    let probe = Probe::default();
    let tree = Supervisor::new(root([ChildSpec::supervisor(jobs)]))
        .task("idle", probe.task())
        .task("slow", stubborn)
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    let terminating = {
        let h = h.clone();
        tokio::spawn(async move { h.terminate_child("root/jobs", None).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answer = h.restart_child("root/jobs/j1", None).await;
    terminating.await.unwrap().unwrap();
    assert!(h.end().is_none(), "the tree runs on");
    assert!(
        matches!(answer, Err(CommandError::Rejected { .. })),
        "{answer:?}"
    );
    tree.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn commands_after_shutdown_fail_with_shutting_down() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (tree, h) = start(&probe, &recorder).await;
    let report = tree.shutdown().await;
    for path in ["root/a", "root/jobs", "root/jobs/j1", "root/nope"] {
        for (command, error) in every_command(&h, path).await {
            assert_eq!(
                error,
                Some(CommandError::ShuttingDown),
                "{command} on {path}"
            );
        }
    }
    assert_eq!(h.tree().await.unwrap_err(), CommandError::ShuttingDown);
    assert_eq!(h.shutdown().await, report);
    assert!(!h.is_ready());
    assert_eq!(probe.alive.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_while_a_nested_supervisor_restarts_succeeds() {
    let flaky = |_ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Err::<(), _>(std::io::Error::other("flaky"))
    };
    // `jobs` gives up at each failure of j1, and the root restarts it.
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_intensity(0, Duration::from_secs(1))
        .with_child(worker("j1"));
    let spec = root([ChildSpec::supervisor(jobs)]).with_intensity(
        supervisor_spec::limits::MAX_RESTARTS,
        Duration::from_millis(1),
    );
    let tree = Supervisor::new(spec)
        .task("j1", flaky)
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    let mut failures = Vec::new();
    for _ in 0..100_000 {
        if let Err(e) = h.tree().await {
            failures.push(e);
        }
        tokio::task::yield_now().await;
    }
    tree.shutdown().await;
    assert_eq!(failures, [], "snapshots failed while the tree ran");
}

/// A small deterministic generator, so a failure replays.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const TARGETS: [&str; 9] = [
    "root/a",
    "root/b",
    "root/jobs",
    "root/jobs/j1",
    "root/jobs/j2",
    "root",
    "root/nope",
    "root/a/below",
    "",
];

/// One random command (no delete or addition: every good path stays good).
async fn random_command(
    h: &SupervisorHandle,
    rng: &mut Lcg,
) -> (String, &'static str, Result<(), CommandError>) {
    let path = TARGETS[rng.next(TARGETS.len())];
    let (name, result) = match rng.next(10) {
        0 => ("restart", h.restart_child(path, None).await.map(drop)),
        1 => ("terminate", h.terminate_child(path, None).await.map(drop)),
        2 => ("quarantine", h.quarantine_child(path, None).await.map(drop)),
        3 => ("release", h.release_child(path, None).await.map(drop)),
        4 => ("pause", h.pause_child(path, None).await.map(drop)),
        5 => ("resume", h.resume_child(path, None).await.map(drop)),
        6 => ("child", h.child(path).await.map(drop)),
        7 => ("children", h.children(path).await.map(drop)),
        8 => ("count_children", h.count_children(path).await.map(drop)),
        _ => ("tree", h.tree().await.map(|t| check_snapshot(&t, true))),
    };
    (path.to_owned(), name, result)
}

/// The errors a random command may give: a good path is never unknown,
/// and the tree is not shutting down.
fn clear(path: &str, result: &Result<(), CommandError>) -> bool {
    match result {
        Err(CommandError::UnknownPath { .. }) => matches!(path, "root/nope" | "root/a/below" | ""),
        Err(CommandError::ShuttingDown | CommandError::Invalid(_)) => false,
        _ => true,
    }
}

async fn hammer(h: &SupervisorHandle, tasks: u64, commands: usize, pause: bool) {
    let mut set = tokio::task::JoinSet::new();
    for seed in 0..tasks {
        let h = h.clone();
        set.spawn(async move {
            let mut rng = Lcg(seed);
            let mut bad = Vec::new();
            for _ in 0..commands {
                if pause {
                    tokio::time::sleep(Duration::from_millis(rng.next(50) as u64)).await;
                }
                let (path, name, result) = random_command(&h, &mut rng).await;
                if !clear(&path, &result) {
                    bad.push(format!("{name} on {path:?}: {result:?}"));
                }
            }
            bad
        });
    }
    while let Some(bad) = set.join_next().await {
        let bad = bad.unwrap();
        assert!(bad.is_empty(), "{bad:#?}");
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_commands_from_many_tasks_leave_a_consistent_tree() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (tree, h) = start(&probe, &recorder).await;
    hammer(&h.with_deadline(Duration::from_secs(1)), 64, 30, true).await;
    support::settle().await;
    assert_eq!(
        probe.overlaps.load(Ordering::SeqCst),
        0,
        "two incarnations ran at once"
    );
    let snapshot = h.tree().await.unwrap();
    check_snapshot(&snapshot, true);
    // Settled: a worker runs exactly when the snapshot shows an incarnation.
    let mut workers = Vec::new();
    workers_of(&snapshot, &mut workers);
    for w in &workers {
        let path = w.path.to_string();
        assert_eq!(w.generation.is_some(), probe.is_running(&path), "{w:?}");
    }
    let running = workers.iter().filter(|w| w.generation.is_some()).count();
    assert_eq!(probe.alive.count(), running);
    tree.shutdown().await;
    assert_eq!(probe.alive.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_two_threads_never_run_a_child_twice() {
    let (probe, recorder) = (Probe::default(), Recorder::new());
    let (tree, h) = start(&probe, &recorder).await;
    hammer(&h.with_deadline(Duration::from_millis(200)), 16, 25, false).await;
    check_snapshot(&h.tree().await.unwrap(), true);
    assert_eq!(
        probe.overlaps.load(Ordering::SeqCst),
        0,
        "two incarnations ran at once"
    );
    tree.shutdown().await;
    assert_eq!(probe.alive.count(), 0);
}

/// A command waiting below a nested supervisor when the whole tree begins
/// to shut down is told the tree shuts down (`ShuttingDown`), as the same
/// command waiting at the root is, not that one supervisor stopped.
#[tokio::test(start_paused = true)]
async fn a_nested_command_cut_short_by_the_tree_s_shutdown_says_so() {
    let jobs = SupervisorSpec::new("jobs").unwrap().with_child(
        worker("j1")
            .with_task("stubborn")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(8))),
    );
    let spec = root([
        worker("a")
            .with_task("stubborn")
            .unwrap()
            .with_shutdown(Shutdown::graceful(Duration::from_secs(5))),
        ChildSpec::supervisor(jobs),
    ]);
    let tree = Supervisor::new(spec)
        .task("stubborn", stubborn)
        .start()
        .await
        .unwrap();
    let h = tree.handle();
    // Both wait for their child to stop: 5 s for `a`, 8 s for `j1`. The
    // root's shutdown reaches `jobs` once `a` is down, at 5 s: `j1` is
    // still being stopped for its restart then.
    let restart = |path: &'static str| {
        let h = h.clone();
        tokio::spawn(async move { h.restart_child(path, None).await })
    };
    let (at_root, nested) = (restart("root/a"), restart("root/jobs/j1"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shutdown = tokio::spawn(async move { tree.shutdown().await });
    let (at_root, nested) = (at_root.await.unwrap(), nested.await.unwrap());
    shutdown.await.unwrap();
    assert_eq!(at_root.err(), Some(CommandError::ShuttingDown));
    assert_eq!(nested.err(), Some(CommandError::ShuttingDown));
}
