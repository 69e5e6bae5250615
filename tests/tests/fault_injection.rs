//! Fault injection: random trees (up to 50 nodes, 4 levels of supervisors,
//! every strategy, restart type, budget, dependency, readiness and liveness
//! setting) under random fault scripts, random control commands and a
//! shutdown at a random time, on tokio's paused clock. After every run the
//! runtime's guarantees are checked against what the tasks saw and against
//! the events the tree emitted (`fault_injection/checks.rs` lists them).
//!
//! `cargo test` runs 256 cases (about 7 s in debug on 2 cores).
//! `FAULT_CASES` sets another number; the release build runs about 300
//! cases a second, so 100,000 take about 6 minutes:
//!
//! ```sh
//! FAULT_CASES=100000 cargo test --release -p tests --test fault_injection
//! ```
//!
//! A failure prints the minimal case proptest found and the events of its
//! run. Runtime bugs this test found are pinned by their own minimal tests
//! (`shutdown_events.rs`, `exit_reports.rs`, `hostile_commands.rs`,
//! `hostile_tasks.rs`); where one is still open, `checks.rs` tolerates
//! exactly that behaviour and says so.

#[path = "fault_injection/checks.rs"]
mod checks;
#[path = "fault_injection/plan.rs"]
mod plan;
#[path = "fault_injection/probe.rs"]
mod probe;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use proptest::prelude::ProptestConfig;
use proptest::test_runner::TestCaseError;
use supervisor_runtime::testkit::Recorder;
use supervisor_runtime::{
    ChildCounts, CommandError, Event, NodeSnapshot, RunningTree, ShutdownReport, StartError,
    Supervisor, SupervisorHandle,
};
use tokio::task::JoinSet;
use tokio::time::timeout;

use plan::{Built, Case, CommandPlan, Op, TASK};
use probe::{Ordinals, Probe, World};

/// Cases per `cargo test` run unless `FAULT_CASES` says otherwise.
const DEFAULT_CASES: u32 = 256;

/// How long `start` may wait for readiness (paused clock: no real time).
const START_LIMIT: Duration = Duration::from_secs(120);

/// Each command's deadline.
const COMMAND_DEADLINE: Duration = Duration::from_secs(3);

fn config() -> ProptestConfig {
    let cases = std::env::var("FAULT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        // Only the test files are ours to write; a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest::proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_trees_under_random_faults_keep_every_guarantee(case in plan::case()) {
        let run = execute(case)?;
        checks::all(&run)?;
    }
}

/// How `start` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Ready; the commands ran, then the shutdown.
    Started,
    /// The root gave up while starting; `start` returned its report.
    Failed,
    /// Never ready: the start was dropped, which shuts the tree down.
    Abandoned,
}

/// One command's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) index: usize,
    pub(crate) path: String,
    pub(crate) op: Op,
    /// When it was answered, since the tree started.
    pub(crate) answered: Duration,
    pub(crate) result: Result<Reply, CommandError>,
}

#[derive(Debug)]
pub(crate) enum Reply {
    Node(NodeSnapshot),
    Nodes(Vec<NodeSnapshot>),
    Counts(ChildCounts),
    Done,
}

/// Everything a run leaves to check.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) built: Built,
    pub(crate) start: Start,
    pub(crate) events: Vec<Event>,
    pub(crate) world: Arc<World>,
    pub(crate) report: Option<ShutdownReport>,
    /// Tasks alive (incarnations and sub-tasks) the moment shutdown returned.
    pub(crate) alive_after: usize,
    /// Workers with anything alive then: path, incarnations, sub-tasks.
    pub(crate) alive_children_after: Vec<(String, usize, usize)>,
    /// Tasks alive once every task ready to run has run.
    pub(crate) alive_settled: usize,
    /// Answers of the commands sent while the tree ran.
    pub(crate) answers: Vec<Answer>,
    /// Answers of commands sent after shutdown returned.
    pub(crate) after: Vec<Answer>,
    /// Problems of the run itself (something never returned).
    pub(crate) stuck: Vec<String>,
}

fn execute(case: Case) -> Result<Run, TestCaseError> {
    probe::quiet_injected_panics();
    let built = plan::build(&case);
    if let Err(e) = built.spec.clone().validate() {
        return Err(TestCaseError::reject(format!("invalid spec: {e}")));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| TestCaseError::fail(format!("no runtime: {e}")))?;
    let run = runtime.block_on(drive(case, built));
    drop(runtime);
    Ok(run)
}

async fn drive(case: Case, built: Built) -> Run {
    let world = World::new(&built.workers);
    let recorder = Recorder::new();
    let mut supervisor = Supervisor::new(built.spec.clone())
        .observer(Ordinals(world.clone()))
        .observer(recorder.clone())
        .seed(case.seed);
    if built.has_workers {
        supervisor = supervisor.task(TASK, Probe::new(world.clone()));
    }
    let limit = checks::shutdown_bound(&built) + Duration::from_secs(120);
    let built = Arc::new(built);
    let mut run = Run {
        built: (*built).clone(),
        start: Start::Started,
        events: Vec::new(),
        world: world.clone(),
        report: None,
        alive_after: 0,
        alive_children_after: Vec::new(),
        alive_settled: 0,
        answers: Vec::new(),
        after: Vec::new(),
        stuck: Vec::new(),
    };
    match timeout(START_LIMIT, supervisor.start()).await {
        Ok(Ok(tree)) => running(&case, &built, tree, limit, &mut run).await,
        Ok(Err(StartError::Failed { report, .. })) => {
            run.start = Start::Failed;
            run.report = Some(*report);
            run.alive_after = world.alive.load(Ordering::SeqCst);
            run.alive_children_after = world.alive_children();
            settle().await;
            run.alive_settled = world.alive.load(Ordering::SeqCst);
        }
        Ok(Err(e)) => run.stuck.push(format!("start refused a valid tree: {e}")),
        Err(_) => {
            // Dropping `start` dropped the tree: it shuts down in the background.
            run.start = Start::Abandoned;
            if recorder.wait_for("root shut down in", limit).await.is_err() {
                run.stuck
                    .push("an abandoned tree never finished shutting down".into());
            }
            run.alive_after = world.alive.load(Ordering::SeqCst);
            run.alive_children_after = world.alive_children();
            settle().await;
            run.alive_settled = world.alive.load(Ordering::SeqCst);
        }
    }
    run.events = recorder.events();
    run
}

async fn running(
    case: &Case,
    built: &Arc<Built>,
    tree: RunningTree,
    limit: Duration,
    run: &mut Run,
) {
    let handle = tree.handle();
    let epoch = handle.started_at();
    let commands = handle
        .with_deadline(COMMAND_DEADLINE)
        .with_requester("proptest");
    let mut sent = JoinSet::new();
    for (index, command) in case.commands.iter().enumerate() {
        let (h, built, command) = (commands.clone(), built.clone(), command.clone());
        sent.spawn(async move {
            tokio::time::sleep(command.at).await;
            let result = send(&h, &built, index, &command).await;
            Answer {
                index,
                path: built.target(&command).to_owned(),
                op: command.op,
                answered: epoch.elapsed(),
                result,
            }
        });
    }
    // Shut down at the chosen time, or at once if the tree ended by itself.
    let _ = timeout(case.shutdown_at, handle.join()).await;
    match timeout(limit, handle.shutdown()).await {
        Ok(report) => {
            run.alive_after = run.world.alive.load(Ordering::SeqCst);
            run.alive_children_after = run.world.alive_children();
            run.report = Some(report);
            settle().await;
            run.alive_settled = run.world.alive.load(Ordering::SeqCst);
        }
        Err(_) => run
            .stuck
            .push(format!("shutdown did not return within {limit:?}")),
    }
    let answers = timeout(Duration::from_secs(60), async {
        let mut answers = Vec::new();
        while let Some(answer) = sent.join_next().await {
            match answer {
                Ok(answer) => answers.push(answer),
                Err(e) => return Err(format!("a command's task failed: {e}")),
            }
        }
        Ok(answers)
    })
    .await;
    match answers {
        Ok(Ok(answers)) => run.answers = answers,
        Ok(Err(e)) => run.stuck.push(e),
        Err(_) => run.stuck.push("a command never answered".into()),
    }
    // Commands once more, now that the tree has ended.
    for (index, path) in built.targets.iter().enumerate() {
        for op in [
            Op::Restart,
            Op::Children,
            Op::Tree,
            Op::Add(Default::default(), None),
        ] {
            let command = CommandPlan {
                at: Duration::ZERO,
                op,
                target: index,
            };
            let result = send(&commands, built, usize::MAX, &command).await;
            run.after.push(Answer {
                index: usize::MAX,
                path: path.clone(),
                op: command.op,
                answered: epoch.elapsed(),
                result,
            });
        }
    }
    drop(tree);
}

/// Lets every task that is ready to run, run.
async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

async fn send(
    h: &SupervisorHandle,
    built: &Built,
    index: usize,
    command: &CommandPlan,
) -> Result<Reply, CommandError> {
    let path = built.target(command);
    let reason = Some("fault injection");
    match &command.op {
        Op::Restart => h.restart_child(path, reason).await.map(Reply::Node),
        Op::Terminate => h.terminate_child(path, reason).await.map(Reply::Node),
        Op::Delete => h.delete_child(path, reason).await.map(|()| Reply::Done),
        Op::Quarantine => h.quarantine_child(path, reason).await.map(Reply::Node),
        Op::Release => h.release_child(path, reason).await.map(Reply::Node),
        Op::Pause => h.pause_child(path, reason).await.map(Reply::Node),
        Op::Resume => h.resume_child(path, reason).await.map(Reply::Node),
        Op::Children => h.children(path).await.map(Reply::Nodes),
        Op::Child => h.child(path).await.map(Reply::Node),
        Op::Count => h.count_children(path).await.map(Reply::Counts),
        Op::Tree => h.tree().await.map(Reply::Node),
        Op::Add(..) => {
            // After shutdown (index usize::MAX): any valid child will do.
            let spec = built
                .children
                .get(&format!("{path}/d{index}"))
                .cloned()
                .or_else(|| supervisor_spec::ChildSpec::worker("late").ok());
            match spec {
                Some(spec) => h.start_child(path, spec).await.map(Reply::Node),
                None => Err(CommandError::Invalid("no spec".into())),
            }
        }
    }
}
