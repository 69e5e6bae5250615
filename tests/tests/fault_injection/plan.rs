//! The random input of one run, as proptest strategies: a tree (every
//! supervisor's policies, every child's policies, every worker's fault
//! script and sub-tasks), control commands at random times, the moment of
//! shutdown; and the specs it builds.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::{Just, any, prop_oneof};
use proptest::strategy::{BoxedStrategy, Strategy as Gen};
use supervisor_spec::{
    AutoShutdown, Backoff, Budget, ChildSpec, Readiness, Restart, Shutdown, ShutdownOrder,
    Strategy, SupervisorSpec,
};

/// The task name every worker is bound under (see `probe.rs`).
pub(crate) const TASK: &str = "probe";

/// At most this many nodes below the root; later ones are dropped.
const MAX_NODES: usize = 50;

/// One run.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) root: Sup,
    /// The tree's jitter seed.
    pub(crate) seed: u64,
    pub(crate) commands: Vec<CommandPlan>,
    /// When shutdown is asked for, after `start` returned.
    pub(crate) shutdown_at: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct Sup {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: (u32, Duration),
    pub(crate) budget: Option<Duration>,
    pub(crate) order: ShutdownOrder,
    pub(crate) auto_shutdown: AutoShutdown,
    pub(crate) children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) policy: Policy,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Worker(Worker),
    Sup(Sup),
}

/// A child's policies, for workers and nested supervisors alike.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) restart: Restart,
    /// Applied only where the spec allows it (not permanent, auto_shutdown set).
    pub(crate) significant: bool,
    pub(crate) shutdown: Shutdown,
    pub(crate) backoff: Backoff,
    pub(crate) budget: Option<Budget>,
    /// Bit `i`: depends on the `i`-th earlier sibling (no cycles possible).
    pub(crate) deps: u8,
}

#[derive(Debug, Clone)]
pub(crate) struct Worker {
    pub(crate) readiness: Readiness,
    pub(crate) liveness: Option<Duration>,
    pub(crate) faults: Vec<FaultPlan>,
    pub(crate) subtasks: Vec<Sub>,
}

/// One rule of a `Scripted` task.
#[derive(Debug, Clone)]
pub(crate) struct FaultPlan {
    /// The incarnation it applies to (from 1), or every one not matched before.
    pub(crate) start: Option<u32>,
    pub(crate) after: Duration,
    pub(crate) fault: FaultKind,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum FaultKind {
    Fail,
    Panic,
    Hang,
    NeverReady,
    StopHeartbeat,
    Exit,
}

/// A sub-task each incarnation spawns through `ctx.spawn`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sub {
    /// Runs until aborted.
    Pending,
    /// Ends when its incarnation is asked to stop.
    UntilCancelled,
    /// Ends by itself after a while.
    For(Duration),
}

#[derive(Debug, Clone)]
pub(crate) struct CommandPlan {
    /// When, after `start` returned.
    pub(crate) at: Duration,
    pub(crate) op: Op,
    /// An index into [`Built::targets`] (modulo its length).
    pub(crate) target: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Restart,
    Terminate,
    Delete,
    Quarantine,
    Release,
    Pause,
    Resume,
    Children,
    Child,
    Count,
    Tree,
    /// Adds worker `d<command index>` under the target.
    Add(Restart, Option<FaultPlan>),
}

/// What a case builds.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) spec: SupervisorSpec,
    /// Every child that exists or may be added, by path.
    pub(crate) children: BTreeMap<String, ChildSpec>,
    /// Every supervisor, the root included, by path, as declared.
    pub(crate) supervisors: BTreeMap<String, SupervisorSpec>,
    /// Every worker's plan (those commands may add included), by path.
    pub(crate) workers: BTreeMap<String, Worker>,
    /// What commands address: every node, the root, and paths that name nothing.
    pub(crate) targets: Vec<String>,
    /// Paths that never name a node.
    pub(crate) bogus: Vec<String>,
    /// Whether the declared tree has a worker (the probe is bound only then).
    pub(crate) has_workers: bool,
}

impl Built {
    pub(crate) fn target(&self, command: &CommandPlan) -> &str {
        &self.targets[command.target % self.targets.len()]
    }
}

/// Builds the specs of `case`: nested supervisors get ids `s<n>`, workers
/// `w<n>` (numbered in declaration order) and the task name [`TASK`].
pub(crate) fn build(case: &Case) -> Built {
    let mut b = Builder {
        count: 0,
        built: Built {
            spec: SupervisorSpec::new("root").expect("a valid id"),
            children: BTreeMap::new(),
            supervisors: BTreeMap::new(),
            workers: BTreeMap::new(),
            targets: Vec::new(),
            bogus: Vec::new(),
            has_workers: false,
        },
    };
    let spec = b.supervisor("root", "root", &case.root);
    let mut built = b.built;
    built.spec = spec;
    built.has_workers = !built.workers.is_empty();
    built.targets = built.children.keys().cloned().collect();
    built.targets.push("root".to_owned());
    let mut bogus = vec![
        "root/nope".to_owned(),
        "elsewhere/w1".to_owned(),
        "root/nope/deeper".to_owned(),
        String::new(),
        "root//".to_owned(),
        "root/s99/w1".to_owned(),
    ];
    if let Some(worker) = built.workers.keys().next() {
        bogus.push(format!("{worker}/below"));
    }
    built.targets.extend(bogus.iter().cloned());
    built.bogus = bogus;
    // Children commands add: registered up front, so the probe knows their plan.
    for (i, command) in case.commands.iter().enumerate() {
        if let Op::Add(restart, fault) = &command.op {
            let parent = built.target(command).to_owned();
            let id = format!("d{i}");
            let spec = ChildSpec::worker(id.as_str())
                .and_then(|c| c.with_task(TASK))
                .expect("a valid id")
                .with_restart(*restart);
            let worker = Worker {
                readiness: Readiness::Immediate,
                liveness: None,
                faults: fault.iter().cloned().collect(),
                subtasks: vec![Sub::Pending],
            };
            let path = format!("{parent}/{id}");
            built.children.insert(path.clone(), spec);
            built.workers.insert(path, worker);
        }
    }
    built
}

struct Builder {
    count: usize,
    built: Built,
}

impl Builder {
    fn supervisor(&mut self, id: &str, path: &str, plan: &Sup) -> SupervisorSpec {
        let mut spec = SupervisorSpec::new(id)
            .expect("a valid id")
            .with_strategy(plan.strategy)
            .with_intensity(plan.intensity.0, plan.intensity.1)
            .with_shutdown_order(plan.order)
            .with_auto_shutdown(plan.auto_shutdown);
        if let Some(budget) = plan.budget {
            spec = spec.with_shutdown(budget);
        }
        let mut ids: Vec<String> = Vec::new();
        for node in &plan.children {
            if self.count >= MAX_NODES {
                break;
            }
            self.count += 1;
            let n = self.count;
            let (id, child) = match &node.kind {
                Kind::Worker(w) => {
                    let id = format!("w{n}");
                    let mut c = ChildSpec::worker(id.as_str())
                        .and_then(|c| c.with_task(TASK))
                        .expect("a valid id")
                        .with_readiness(w.readiness);
                    if let Some(deadline) = w.liveness {
                        c = c.with_liveness(deadline);
                    }
                    self.built.workers.insert(format!("{path}/{id}"), w.clone());
                    (id, c)
                }
                Kind::Sup(s) => {
                    let id = format!("s{n}");
                    let nested = self.supervisor(&id, &format!("{path}/{id}"), s);
                    (id, ChildSpec::supervisor(nested))
                }
            };
            let p = &node.policy;
            let significant = p.significant
                && p.restart != Restart::Permanent
                && plan.auto_shutdown != AutoShutdown::Never;
            let deps: Vec<&str> = ids
                .iter()
                .take(8)
                .enumerate()
                .filter(|(i, _)| p.deps & (1 << i) != 0)
                .map(|(_, id)| id.as_str())
                .collect();
            let mut child = child
                .with_restart(p.restart)
                .with_significant(significant)
                .with_shutdown(p.shutdown)
                .with_backoff(p.backoff)
                .with_depends_on(deps)
                .expect("valid ids");
            if let Some(budget) = p.budget {
                child = child.with_budget(budget);
            }
            self.built
                .children
                .insert(format!("{path}/{id}"), child.clone());
            spec = spec.with_child(child);
            ids.push(id);
        }
        self.built.supervisors.insert(path.to_owned(), spec.clone());
        spec
    }
}

fn ms(range: RangeInclusive<u64>) -> impl Gen<Value = Duration> + Clone {
    range.prop_map(Duration::from_millis)
}

fn restart() -> impl Gen<Value = Restart> + Clone {
    prop_oneof![
        3 => Just(Restart::Permanent),
        2 => Just(Restart::Transient),
        1 => Just(Restart::Temporary),
    ]
}

fn backoff() -> impl Gen<Value = Backoff> {
    prop_oneof![
        1 => Just(Backoff::none()),
        2 => (ms(1..=500), 1u32..=10, 0u8..=5).prop_map(|(initial, k, jitter)| {
            Backoff::exponential(initial, initial * k).with_jitter(f64::from(jitter) / 10.0)
        }),
    ]
}

fn budget() -> impl Gen<Value = Option<Budget>> {
    prop_oneof![
        3 => Just(None),
        1 => (0u32..=4, ms(500..=20_000)).prop_map(|(n, window)| Some(Budget::new(n, window))),
        2 => (0u32..=4, ms(500..=20_000), option::of(ms(100..=8_000)))
            .prop_map(|(n, window, retry)| Some(Budget::new(n, window).quarantine(retry))),
    ]
}

fn worker_shutdown() -> impl Gen<Value = Shutdown> {
    prop_oneof![
        4 => (ms(10..=3_000), ms(1..=1_500))
            .prop_map(|(timeout, abort_wait)| Shutdown::Graceful { timeout, abort_wait }),
        1 => ms(1..=1_500).prop_map(|abort_wait| Shutdown::BrutalKill { abort_wait }),
    ]
}

fn supervisor_shutdown() -> impl Gen<Value = Shutdown> {
    prop_oneof![
        4 => Just(Shutdown::Infinity),
        1 => (ms(100..=5_000), ms(1..=1_000))
            .prop_map(|(timeout, abort_wait)| Shutdown::Graceful { timeout, abort_wait }),
        1 => ms(1..=1_000).prop_map(|abort_wait| Shutdown::BrutalKill { abort_wait }),
    ]
}

fn policy(shutdown: impl Gen<Value = Shutdown>) -> impl Gen<Value = Policy> {
    let deps = prop_oneof![3 => Just(0u8), 1 => any::<u8>()];
    (
        restart(),
        any::<bool>(),
        shutdown,
        backoff(),
        budget(),
        deps,
    )
        .prop_map(
            |(restart, significant, shutdown, backoff, budget, deps)| Policy {
                restart,
                significant,
                shutdown,
                backoff,
                budget,
                deps,
            },
        )
}

fn fault() -> impl Gen<Value = FaultPlan> + Clone {
    let kind = prop_oneof![
        Just(FaultKind::Fail),
        Just(FaultKind::Panic),
        Just(FaultKind::Hang),
        Just(FaultKind::NeverReady),
        Just(FaultKind::StopHeartbeat),
        Just(FaultKind::Exit),
    ];
    (option::weighted(0.8, 1u32..=4), ms(0..=3_000), kind).prop_map(|(start, after, fault)| {
        FaultPlan {
            start,
            after,
            fault,
        }
    })
}

fn worker() -> impl Gen<Value = Worker> {
    let readiness = prop_oneof![
        2 => Just(Readiness::Immediate),
        1 => ms(200..=4_000).prop_map(Readiness::explicit),
    ];
    let sub = prop_oneof![
        Just(Sub::Pending),
        Just(Sub::UntilCancelled),
        ms(1..=3_000).prop_map(Sub::For),
    ];
    (
        readiness,
        // Longer than the probe's heartbeat period.
        option::weighted(0.3, ms(1_000..=4_000)),
        vec(fault(), 0..=3),
        vec(sub, 0..=2),
    )
        .prop_map(|(readiness, liveness, faults, subtasks)| Worker {
            readiness,
            liveness,
            faults,
            subtasks,
        })
}

fn supervisor(
    children: BoxedStrategy<Node>,
    count: RangeInclusive<usize>,
) -> impl Gen<Value = Sup> {
    let strategy = prop_oneof![
        Just(Strategy::OneForOne),
        Just(Strategy::OneForAll),
        Just(Strategy::RestForOne),
    ];
    let order = prop_oneof![
        Just(ShutdownOrder::Sequential),
        Just(ShutdownOrder::Parallel)
    ];
    let auto_shutdown = prop_oneof![
        4 => Just(AutoShutdown::Never),
        1 => Just(AutoShutdown::AnySignificant),
        1 => Just(AutoShutdown::AllSignificant),
    ];
    (
        strategy,
        (0u32..=8, ms(500..=20_000)),
        option::weighted(0.3, ms(500..=8_000)),
        order,
        auto_shutdown,
        vec(children, count),
    )
        .prop_map(
            |(strategy, intensity, budget, order, auto_shutdown, children)| Sup {
                strategy,
                intensity,
                budget,
                order,
                auto_shutdown,
                children,
            },
        )
}

/// A child: a worker, or (up to three levels below the root) a supervisor.
fn node() -> BoxedStrategy<Node> {
    let leaf = (policy(worker_shutdown()), worker()).prop_map(|(policy, w)| Node {
        policy,
        kind: Kind::Worker(w),
    });
    leaf.prop_recursive(3, 48, 5, |inner| {
        (policy(supervisor_shutdown()), supervisor(inner, 0..=5)).prop_map(|(policy, s)| Node {
            policy,
            kind: Kind::Sup(s),
        })
    })
    .boxed()
}

fn command() -> impl Gen<Value = CommandPlan> {
    let op = prop_oneof![
        Just(Op::Restart),
        Just(Op::Terminate),
        Just(Op::Delete),
        Just(Op::Quarantine),
        Just(Op::Release),
        Just(Op::Pause),
        Just(Op::Resume),
        Just(Op::Children),
        Just(Op::Child),
        Just(Op::Count),
        Just(Op::Tree),
        (restart(), option::of(fault())).prop_map(|(r, f)| Op::Add(r, f)),
    ];
    (ms(0..=8_000), op, any::<u16>()).prop_map(|(at, op, target)| CommandPlan {
        at,
        op,
        target: usize::from(target),
    })
}

/// A whole run: a tree of up to 50 nodes and 4 levels of supervisors, up to
/// 6 commands, a shutdown within 15 s.
pub(crate) fn case() -> impl Gen<Value = Case> {
    (
        supervisor(node(), 1..=8),
        any::<u64>(),
        vec(command(), 0..=6),
        ms(0..=15_000),
    )
        .prop_map(|(root, seed, commands, shutdown_at)| Case {
            root,
            seed,
            commands,
            shutdown_at,
        })
}
