//! Properties of the engine on random small trees driven by random inputs:
//! the restart intensity is never exceeded, backoff stays within its bounds,
//! the same inputs always give the same decisions, a strategy touches only
//! the children it should, incarnations are started and stopped only when
//! they should be, nothing starts after shutdown, and shutdown completes.
//!
//! Each case builds a tree of 1-6 children, feeds the engine a random
//! sequence of events (exits of every kind for current and stale
//! incarnations, readies, timers, commands, shutdown, time going forwards and
//! now and then backwards), answers the engine's stops along the way, and
//! ends with a shutdown whose stops are all answered. A [`Runner`] turns the
//! abstract events into inputs about real incarnations and records every
//! step; each property is a pure check over that record.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::{Just, ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_oneof};
use proptest::strategy::Strategy as Gen;
use proptest::test_runner::TestCaseError;
use supervisor_policy::{
    Action, ChildKey, ChildStatus, Command, Decision, Engine, Escalation, ExitKind, Generation,
    Input, Rule, StopReason, Time,
};
use supervisor_spec::{
    AutoShutdown, Backoff, Budget, ChildSpec, Readiness, Restart, ShutdownOrder, Strategy,
    SupervisorSpec,
};

type Check = Result<(), TestCaseError>;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 400,
        // Only this file is ours to write; a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest::proptest! {
    #![proptest_config(config())]

    #[test]
    fn intensity_is_never_exceeded_without_an_escalation(s in scenario()) {
        intensity(&run(&s))?;
    }

    #[test]
    fn backoff_delays_follow_the_curve_within_their_bounds(s in scenario()) {
        backoff_bounds(&run(&s))?;
    }

    #[test]
    fn the_same_seed_and_inputs_give_the_same_decisions(s in scenario()) {
        same_steps(&run(&s), &run(&s))?;
    }

    /// The engine's shortcuts for the usual shutdown (every running child
    /// queued at once; the exit of a child stopped for it) decide exactly
    /// as its general paths do.
    #[test]
    fn the_shutdown_shortcuts_decide_as_the_general_paths_do(s in scenario()) {
        same_steps(&run(&s), &run_general(&s))?;
    }

    /// Once the engine names its stop plan, each exit of the child being
    /// stopped brings the stop of the plan's next child that is still up,
    /// and nothing else brings a stop: the stops follow the plan, one
    /// after another's exit.
    #[test]
    fn stops_follow_the_stop_plan(s in scenario()) {
        stop_plan(&run(&s))?;
    }

    #[test]
    fn a_strategy_stops_only_its_siblings_and_their_dependents(s in scenario()) {
        strategy_scope(&run(&s))?;
    }

    #[test]
    fn an_incarnation_is_started_only_when_down_and_stopped_only_when_alive(s in scenario()) {
        incarnations(&run(&s))?;
    }

    #[test]
    fn stops_go_dependents_first_and_one_at_a_time_when_sequential(s in scenario()) {
        stop_order(&run(&s))?;
    }

    #[test]
    fn nothing_starts_after_shutdown_or_escalation(s in scenario()) {
        nothing_after_shutdown(&run(&s))?;
    }

    #[test]
    fn shutdown_ends_with_an_exit_once_every_stop_is_answered(s in scenario()) {
        let run = run(&s);
        let exits = run.steps.iter().flat_map(|r| &r.decision.actions)
            .filter(|a| matches!(a, Action::Exit { .. })).count();
        prop_assert_eq!(exits, 1, "the supervisor ends exactly once");
    }

    #[test]
    fn in_flux_counts_the_stops_unanswered_and_the_children_not_ready(s in scenario()) {
        for r in &run(&s).steps {
            prop_assert_eq!(r.in_flux.0, r.in_flux.1, "{:?}", r);
        }
    }

    /// Every count and index the engine keeps in step with its children's
    /// states (some changes update them by hand, see `on_ready` and
    /// `start_child`) matches a recount after every input.
    #[test]
    fn the_engine_s_counts_match_a_recount_after_every_input(s in scenario()) {
        for r in &run(&s).steps {
            prop_assert_eq!(&r.counts, &Ok(()), "{:?}", r);
        }
    }

    /// Every other property runs the engine too; this one exists to say so,
    /// with longer sequences.
    #[test]
    fn the_engine_never_panics(s in scenario_of_len(200)) {
        run(&s);
    }
}

/// The smallest input for the engine bug the strict incarnation property
/// finds: a worker with a 1 ms readiness timeout exits (normally) at 1 ms.
/// `handle` fires the due readiness deadline before it reads the exit, so
/// the decision asks the runtime to stop generation 1, which the input just
/// reported ended; the exit is then judged `readiness_timed_out` instead of
/// `completed` (a transient child is restarted after completing).
#[test]
fn an_exit_reported_at_its_readiness_deadline_is_not_answered_with_a_stop() {
    let spec = SupervisorSpec::new("root")
        .expect("valid id")
        .with_child(
            ChildSpec::worker("a")
                .expect("valid id")
                .with_restart(Restart::Transient)
                .with_backoff(Backoff::none())
                .with_readiness(Readiness::explicit(Duration::from_millis(1))),
        )
        .validate()
        .expect("valid spec");
    let mut engine = Engine::new(&spec, 0);
    let d = engine.start(Time::ZERO);
    let Some(&Action::Start {
        child, generation, ..
    }) = d.actions.first()
    else {
        panic!("a starts: {d:?}");
    };
    let d = engine.handle(
        Time::from_millis(1),
        Input::Exited {
            child,
            generation,
            exit: ExitKind::Completed,
        },
    );
    assert!(
        !d.actions.iter().any(|a| matches!(a, Action::Stop { .. })),
        "{d:?}"
    );
}

// ---------------------------------------------------------------------------
// Random trees and events

/// A tree, as plain data so a failing case prints readably.
#[derive(Debug, Clone)]
struct TreeShape {
    strategy: Strategy,
    shutdown_order: ShutdownOrder,
    auto_shutdown: AutoShutdown,
    max_restarts: u32,
    period: Duration,
    children: Vec<ChildShape>,
    /// Whether children depend on later children rather than earlier ones
    /// (either way the graph is acyclic; declared later, a dependency
    /// still starts first and stops last).
    forward_deps: bool,
}

#[derive(Debug, Clone)]
struct ChildShape {
    restart: Restart,
    /// Kept only where validation allows it (not permanent, auto_shutdown set).
    significant: bool,
    backoff: Backoff,
    budget: Option<Budget>,
    readiness: Readiness,
    /// Bit `j` set: depends on child `j`; only earlier children count (or
    /// only later ones, see `TreeShape::forward_deps`), so the graph is
    /// acyclic.
    deps: u8,
}

impl TreeShape {
    fn spec(&self) -> SupervisorSpec {
        let mut spec = SupervisorSpec::new("root")
            .expect("valid id")
            .with_strategy(self.strategy)
            .with_shutdown_order(self.shutdown_order)
            .with_auto_shutdown(self.auto_shutdown)
            .with_intensity(self.max_restarts, self.period);
        let n = self.children.len();
        for (i, c) in self.children.iter().enumerate() {
            let candidates = if self.forward_deps { i + 1..n } else { 0..i };
            let deps = candidates
                .filter(|j| c.deps & (1 << j) != 0)
                .map(|j| format!("c{j}"));
            let significant = c.significant
                && c.restart != Restart::Permanent
                && self.auto_shutdown != AutoShutdown::Never;
            let mut child = ChildSpec::worker(format!("c{i}").as_str())
                .expect("valid id")
                .with_restart(c.restart)
                .with_significant(significant)
                .with_backoff(c.backoff)
                .with_readiness(c.readiness)
                .with_depends_on(deps)
                .expect("valid ids");
            if let Some(budget) = c.budget {
                child = child.with_budget(budget);
            }
            spec = spec.with_child(child);
        }
        spec
    }
}

/// An event, resolved against the incarnations alive when it happens.
#[derive(Debug, Clone)]
enum Event {
    /// An incarnation ends; `stale` reports it for an incarnation that is
    /// not the current one.
    Exit {
        pick: u8,
        exit: ExitKind,
        stale: bool,
    },
    Ready {
        pick: u8,
        stale: bool,
    },
    /// Every alive incarnation reports ready, in one batch.
    ReadyAll,
    Started {
        pick: u8,
    },
    Unhealthy {
        pick: u8,
        reason: ExitKind,
    },
    /// A stop the engine asked for completes (a timer if none is pending).
    StopDone {
        pick: u8,
    },
    /// Every stop the engine asked for completes, in one batch, with the
    /// readiness of every other alive incarnation.
    StopDoneAll,
    /// The timer fires at the next deadline (or now if none is set).
    Timer,
    Command {
        pick: u8,
        command: CommandKind,
    },
    Shutdown,
}

#[derive(Debug, Clone, Copy)]
enum CommandKind {
    Restart,
    Terminate,
    Delete,
    Quarantine,
    Release,
    Pause,
    Resume,
    /// Adds a worker depending on the live children whose bits are set.
    Add {
        restart: Restart,
        deps: u8,
    },
}

#[derive(Debug, Clone)]
struct Step {
    /// Milliseconds since the latest time given; negative: a late input.
    dt: i64,
    event: Event,
}

#[derive(Debug, Clone)]
struct Scenario {
    tree: TreeShape,
    seed: u64,
    /// An input handled before `start`.
    early: Option<Step>,
    steps: Vec<Step>,
}

fn millis(range: std::ops::RangeInclusive<u64>) -> impl Gen<Value = Duration> {
    range.prop_map(Duration::from_millis)
}

fn restart() -> impl Gen<Value = Restart> {
    prop_oneof![
        2 => Just(Restart::Permanent),
        1 => Just(Restart::Transient),
        1 => Just(Restart::Temporary),
    ]
}

fn backoff() -> impl Gen<Value = Backoff> {
    let jitter = prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64];
    prop_oneof![
        1 => Just(Backoff::none()),
        3 => (millis(1..=300), millis(0..=3_000), 1.0..=4.0f64, jitter, millis(1..=5_000))
            .prop_map(|(initial, extra, multiplier, jitter, reset_after)| {
                Backoff::exponential(initial, initial + extra)
                    .with_multiplier(multiplier)
                    .with_jitter(jitter)
                    .with_reset_after(reset_after)
            }),
    ]
}

fn budget() -> impl Gen<Value = Option<Budget>> {
    let exhausted = prop_oneof![
        Just(None),
        Just(Some(None)),
        millis(1..=2_000).prop_map(|r| Some(Some(r))),
    ];
    prop::option::of((0..=3u32, millis(1..=3_000), exhausted).prop_map(
        |(max, window, quarantine)| {
            let budget = Budget::new(max, window);
            match quarantine {
                None => budget,
                Some(retry_after) => budget.quarantine(retry_after),
            }
        },
    ))
}

fn child() -> impl Gen<Value = ChildShape> {
    let readiness = prop_oneof![
        3 => Just(Readiness::Immediate),
        1 => millis(1..=2_000).prop_map(Readiness::explicit),
    ];
    (
        restart(),
        any::<bool>(),
        backoff(),
        budget(),
        readiness,
        any::<u8>(),
    )
        .prop_map(
            |(restart, significant, backoff, budget, readiness, deps)| ChildShape {
                restart,
                significant,
                backoff,
                budget,
                readiness,
                deps,
            },
        )
}

fn tree() -> impl Gen<Value = TreeShape> {
    let strategy = prop_oneof![
        Just(Strategy::OneForOne),
        Just(Strategy::OneForAll),
        Just(Strategy::RestForOne)
    ];
    let order = prop_oneof![
        Just(ShutdownOrder::Sequential),
        Just(ShutdownOrder::Parallel)
    ];
    let auto = prop_oneof![
        Just(AutoShutdown::Never),
        Just(AutoShutdown::AnySignificant),
        Just(AutoShutdown::AllSignificant)
    ];
    (
        strategy,
        order,
        auto,
        0..=6u32,
        millis(1..=3_000),
        prop::collection::vec(child(), 1..=6),
        any::<bool>(),
    )
        .prop_map(
            |(
                strategy,
                shutdown_order,
                auto_shutdown,
                max_restarts,
                period,
                children,
                forward_deps,
            )| {
                TreeShape {
                    strategy,
                    shutdown_order,
                    auto_shutdown,
                    max_restarts,
                    period,
                    children,
                    forward_deps,
                }
            },
        )
}

fn exit_kind() -> impl Gen<Value = ExitKind> {
    prop_oneof![
        Just(ExitKind::Completed),
        Just(ExitKind::Failed),
        Just(ExitKind::Panicked),
        Just(ExitKind::Stopped),
        Just(ExitKind::LivenessMissed),
        Just(ExitKind::ReadinessTimedOut),
    ]
}

fn command() -> impl Gen<Value = CommandKind> {
    prop_oneof![
        Just(CommandKind::Restart),
        Just(CommandKind::Terminate),
        Just(CommandKind::Delete),
        Just(CommandKind::Quarantine),
        Just(CommandKind::Release),
        Just(CommandKind::Pause),
        Just(CommandKind::Resume),
        (restart(), any::<u8>()).prop_map(|(restart, deps)| CommandKind::Add { restart, deps }),
    ]
}

fn event() -> impl Gen<Value = Event> {
    let unhealthy = prop_oneof![
        Just(ExitKind::LivenessMissed),
        Just(ExitKind::ReadinessTimedOut)
    ];
    // Shutdown is rare: what comes after it is mostly ignored, and every
    // scenario ends with one anyway.
    prop_oneof![
        24 => (any::<u8>(), exit_kind(), prop::bool::weighted(0.2))
            .prop_map(|(pick, exit, stale)| Event::Exit { pick, exit, stale }),
        16 => (any::<u8>(), prop::bool::weighted(0.2))
            .prop_map(|(pick, stale)| Event::Ready { pick, stale }),
        12 => Just(Event::ReadyAll),
        4 => any::<u8>().prop_map(|pick| Event::Started { pick }),
        4 => (any::<u8>(), unhealthy).prop_map(|(pick, reason)| Event::Unhealthy { pick, reason }),
        32 => any::<u8>().prop_map(|pick| Event::StopDone { pick }),
        6 => Just(Event::StopDoneAll),
        12 => Just(Event::Timer),
        8 => (any::<u8>(), command()).prop_map(|(pick, command)| Event::Command { pick, command }),
        1 => Just(Event::Shutdown),
    ]
}

fn step() -> impl Gen<Value = Step> {
    let dt = prop_oneof![
        4 => Just(0i64),
        4 => 1..=50i64,
        3 => 51..=3_000i64,
        1 => -300..=-1i64,
        1 => 86_400_000..=10_000_000_000i64,
    ];
    (dt, event()).prop_map(|(dt, event)| Step { dt, event })
}

fn scenario_of_len(len: usize) -> impl Gen<Value = Scenario> {
    (
        tree(),
        any::<u64>(),
        prop::option::weighted(0.1, step()),
        prop::collection::vec(step(), 1..=len),
    )
        .prop_map(|(tree, seed, early, steps)| Scenario {
            tree,
            seed,
            early,
            steps,
        })
}

fn scenario() -> impl Gen<Value = Scenario> {
    scenario_of_len(60)
}

// ---------------------------------------------------------------------------
// Running a scenario

/// One call into the engine and its answer.
#[derive(Debug)]
struct Record {
    /// The time passed in (the engine takes the latest it has seen).
    now: Time,
    /// None for `start`, one for `handle`, several for `handle_batch`.
    inputs: Vec<Input>,
    decision: Decision,
    /// Live children in start order before the call.
    order: Vec<ChildKey>,
    /// After the call: the engine's `in_flux()`, and the count of what the
    /// runtime waits to hear of (stops unanswered, running children not
    /// ready yet).
    in_flux: (usize, usize),
    /// After the call: whether the engine's counts match a recount.
    counts: Result<(), String>,
    /// After the call: the children of the engine's `stop_plan()`.
    plan: Option<Vec<ChildKey>>,
}

#[derive(Debug)]
struct Run {
    strategy: Strategy,
    shutdown_order: ShutdownOrder,
    max_restarts: u32,
    period: Duration,
    /// Every child that ever existed.
    specs: BTreeMap<ChildKey, ChildSpec>,
    /// Each child's direct dependencies, by key.
    deps: BTreeMap<ChildKey, Vec<ChildKey>>,
    steps: Vec<Record>,
}

impl Run {
    /// Children in `order` that depend, directly or not, on one of `roots`.
    fn dependents(&self, roots: &[ChildKey], order: &[ChildKey]) -> BTreeSet<ChildKey> {
        let mut found = BTreeSet::new();
        let mut stack = roots.to_vec();
        while let Some(k) = stack.pop() {
            for &o in order {
                let depends = self.deps.get(&o).is_some_and(|d| d.contains(&k));
                if depends && !roots.contains(&o) && found.insert(o) {
                    stack.push(o);
                }
            }
        }
        found
    }

    /// Whether `child` depends, directly or not, on `dependency`.
    fn depends_on(&self, child: ChildKey, dependency: ChildKey) -> bool {
        let mut stack = vec![child];
        let mut seen = BTreeSet::new();
        while let Some(k) = stack.pop() {
            for &d in self.deps.get(&k).into_iter().flatten() {
                if d == dependency {
                    return true;
                }
                if seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        false
    }
}

/// Drives an engine through a scenario, keeping track (from the decisions
/// alone) of which incarnations are alive and which stops are pending.
struct Runner {
    engine: Engine,
    /// The latest time given.
    clock: Time,
    /// Every key ever seen, in creation (and so start) order.
    known: Vec<ChildKey>,
    removed: BTreeSet<ChildKey>,
    alive: BTreeMap<ChildKey, Generation>,
    /// Children asked to stop whose exit has not been reported.
    stopping: BTreeSet<ChildKey>,
    history: BTreeMap<ChildKey, Vec<Generation>>,
    exited: bool,
    added: u32,
    run: Run,
}

/// Two runs took the same steps: the same inputs, decisions and counts.
fn same_steps(a: &Run, b: &Run) -> Check {
    prop_assert_eq!(a.steps.len(), b.steps.len());
    for (x, y) in a.steps.iter().zip(&b.steps) {
        prop_assert_eq!(format!("{:?}", x), format!("{:?}", y));
    }
    Ok(())
}

fn run(s: &Scenario) -> Run {
    run_with(s, false)
}

/// `run`, with the engine's shutdown shortcuts off.
fn run_general(s: &Scenario) -> Run {
    run_with(s, true)
}

fn run_with(s: &Scenario, general_only: bool) -> Run {
    let spec = s.tree.spec().validate().expect("generated trees are valid");
    let mut r = Runner::new(&spec, s.seed);
    if general_only {
        r.engine.__general_paths_only();
    }
    if let Some(step) = &s.early {
        r.step(step);
    }
    r.start();
    for step in &s.steps {
        r.step(step);
    }
    r.drain();
    r.run
}

impl Runner {
    fn new(spec: &supervisor_spec::ValidatedSpec, seed: u64) -> Self {
        let mut engine = Engine::new(spec, seed);
        // Its checks follow a child by its key over the whole run (see
        // `reused_keys_decide_as_fresh_ones`).
        engine.__fresh_keys_only();
        let tree = spec.spec();
        let mut r = Self {
            known: engine.keys().to_vec(),
            engine,
            clock: Time::ZERO,
            removed: BTreeSet::new(),
            alive: BTreeMap::new(),
            stopping: BTreeSet::new(),
            history: BTreeMap::new(),
            exited: false,
            added: 0,
            run: Run {
                strategy: tree.strategy,
                shutdown_order: tree.shutdown_order,
                max_restarts: tree.intensity.max_restarts,
                period: tree.intensity.period,
                specs: BTreeMap::new(),
                deps: BTreeMap::new(),
                steps: Vec::new(),
            },
        };
        for (&key, child) in r.known.clone().iter().zip(&tree.children) {
            r.register(key, child.clone());
        }
        r
    }

    fn register(&mut self, key: ChildKey, spec: ChildSpec) {
        let deps = spec
            .depends_on
            .iter()
            .filter_map(|id| self.engine.key(id.as_str()))
            .collect();
        self.run.deps.insert(key, deps);
        self.run.specs.insert(key, spec);
    }

    fn order(&self) -> Vec<ChildKey> {
        let live = |k: &&ChildKey| !self.removed.contains(*k);
        self.known.iter().filter(live).copied().collect()
    }

    fn start(&mut self) {
        let order = self.order();
        let decision = self.engine.start(self.clock);
        self.record(self.clock, Vec::new(), decision, order);
    }

    fn step(&mut self, step: &Step) {
        let mut now = match u64::try_from(step.dt) {
            Ok(dt) => {
                self.clock = self.clock + Duration::from_millis(dt);
                self.clock
            }
            Err(_) => self.clock - Duration::from_millis(step.dt.unsigned_abs()),
        };
        let input = match step.event {
            Event::Exit { pick, exit, stale } => {
                let (child, generation) = self.incarnation(pick, stale);
                Input::Exited {
                    child,
                    generation,
                    exit,
                }
            }
            Event::Ready { pick, stale } => {
                let (child, generation) = self.incarnation(pick, stale);
                Input::Ready { child, generation }
            }
            Event::ReadyAll => {
                // At once, as the runtime takes in the readiness its board
                // gathered in one turn.
                let ready: Vec<_> = self
                    .alive
                    .iter()
                    .map(|(&child, &generation)| Input::Ready { child, generation })
                    .collect();
                self.batch(now, ready);
                return;
            }
            Event::StopDoneAll => {
                let mut inputs = Vec::new();
                for (&child, &generation) in &self.alive {
                    inputs.push(if self.stopping.contains(&child) {
                        Input::Exited {
                            child,
                            generation,
                            exit: ExitKind::Stopped,
                        }
                    } else {
                        Input::Ready { child, generation }
                    });
                }
                self.batch(now, inputs);
                return;
            }
            Event::Started { pick } => {
                let (child, generation) = self.incarnation(pick, false);
                Input::Started { child, generation }
            }
            Event::Unhealthy { pick, reason } => {
                let (child, generation) = self.incarnation(pick, false);
                Input::Unhealthy {
                    child,
                    generation,
                    reason,
                }
            }
            Event::StopDone { pick } => match self.nth(&self.stopping, pick) {
                Some(child) => Input::Exited {
                    child,
                    generation: self.alive.get(&child).copied().unwrap_or(Generation(0)),
                    exit: ExitKind::Stopped,
                },
                None => {
                    now = self.timer(now);
                    Input::Timer
                }
            },
            Event::Timer => {
                now = self.timer(now);
                Input::Timer
            }
            Event::Command { pick, command } => Input::Command(self.command(pick, command)),
            Event::Shutdown => Input::Shutdown,
        };
        self.handle(now, input);
    }

    /// The next deadline if it is later than `now`.
    fn timer(&mut self, now: Time) -> Time {
        let now = self.engine.next_deadline().map_or(now, |t| t.max(now));
        self.clock = self.clock.max(now);
        now
    }

    fn nth<'a>(&self, set: impl IntoIterator<Item = &'a ChildKey>, pick: u8) -> Option<ChildKey> {
        let all: Vec<ChildKey> = set.into_iter().copied().collect();
        (!all.is_empty()).then(|| all[usize::from(pick) % all.len()])
    }

    /// An alive incarnation (unless `stale` or none is alive), or one that
    /// is not current: an older one, or one never issued.
    fn incarnation(&self, pick: u8, stale: bool) -> (ChildKey, Generation) {
        if !stale && let Some(child) = self.nth(self.alive.keys(), pick) {
            return (child, self.alive[&child]);
        }
        let child = self.known[usize::from(pick) % self.known.len()];
        let current = self.alive.get(&child);
        let mut old: Vec<Generation> = self
            .history
            .get(&child)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        old.retain(|g| Some(g) != current);
        old.extend([Generation(0), Generation(u64::MAX)]);
        (child, old[usize::from(pick / 7) % old.len()])
    }

    fn command(&mut self, pick: u8, command: CommandKind) -> Command {
        let key = self.known[usize::from(pick) % self.known.len()];
        match command {
            CommandKind::Restart => Command::Restart(key),
            CommandKind::Terminate => Command::Terminate(key),
            CommandKind::Delete => Command::Delete(key),
            CommandKind::Quarantine => Command::Quarantine(key),
            CommandKind::Release => Command::Release(key),
            CommandKind::Pause => Command::Pause(key),
            CommandKind::Resume => Command::Resume(key),
            CommandKind::Add { restart, deps } => {
                self.added += 1;
                let deps: Vec<String> = self
                    .order()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 8 && deps & (1 << i) != 0)
                    .filter_map(|(_, &k)| self.run.specs.get(&k).map(|s| s.id.to_string()))
                    .collect();
                let spec = ChildSpec::worker(format!("x{}", self.added).as_str())
                    .expect("valid id")
                    .with_restart(restart)
                    .with_depends_on(deps)
                    .expect("valid ids");
                Command::Add(Box::new(spec))
            }
        }
    }

    /// Feeds `inputs` to the engine as one batch (`handle_batch`).
    fn batch(&mut self, now: Time, inputs: Vec<Input>) {
        for input in &inputs {
            if let Input::Exited {
                child, generation, ..
            } = *input
                && self.alive.get(&child) == Some(&generation)
            {
                self.alive.remove(&child);
                self.stopping.remove(&child);
            }
        }
        let order = self.order();
        let mut decision = Decision::default();
        self.engine
            .handle_batch(now, inputs.iter().cloned(), &mut decision);
        self.record(now, inputs, decision, order);
    }

    fn handle(&mut self, now: Time, input: Input) {
        // The runtime saw the incarnation end before it told the engine.
        if let Input::Exited {
            child, generation, ..
        } = input
            && self.alive.get(&child) == Some(&generation)
        {
            self.alive.remove(&child);
            self.stopping.remove(&child);
        }
        let order = self.order();
        let decision = self.engine.handle(now, input.clone());
        if let (Input::Command(Command::Add(spec)), Some(Ok(()))) = (&input, &decision.outcome)
            && let Some(key) = self.engine.key(spec.id.as_str())
        {
            self.known.push(key);
            self.register(key, (**spec).clone());
        }
        self.record(now, vec![input], decision, order);
    }

    fn record(&mut self, now: Time, inputs: Vec<Input>, decision: Decision, order: Vec<ChildKey>) {
        for action in &decision.actions {
            match *action {
                Action::Start {
                    child, generation, ..
                } => {
                    self.alive.insert(child, generation);
                    self.history.entry(child).or_default().push(generation);
                }
                // Only a stop of a live incarnation is waiting for an answer.
                Action::Stop {
                    child, generation, ..
                } if self.alive.get(&child) == Some(&generation) => {
                    self.stopping.insert(child);
                }
                Action::Removed { child } => {
                    self.removed.insert(child);
                }
                Action::Exit { .. } => self.exited = true,
                _ => {}
            }
        }
        let starting = self
            .engine
            .keys()
            .iter()
            .filter(|&&k| {
                matches!(
                    self.engine.status(k),
                    Some(ChildStatus::Running { ready: false, .. })
                )
            })
            .count();
        let in_flux = (self.engine.in_flux(), self.stopping.len() + starting);
        self.run.steps.push(Record {
            now,
            inputs,
            decision,
            order,
            in_flux,
            counts: self.engine.check_counts(),
            plan: self
                .engine
                .stop_plan()
                .map(|p| p.into_iter().map(|(key, _)| key).collect()),
        });
    }

    /// Shuts down and answers every stop until the supervisor exits.
    fn drain(&mut self) {
        self.handle(self.clock, Input::Shutdown);
        // Each answer either ends the supervisor or lets a stop go out; the
        // bound only keeps a broken engine from looping forever.
        for _ in 0..1_000 {
            if self.exited {
                return;
            }
            let Some(&child) = self.stopping.first() else {
                return;
            };
            let generation = self.alive.get(&child).copied().unwrap_or(Generation(0));
            self.stopping.remove(&child);
            self.handle(
                self.clock,
                Input::Exited {
                    child,
                    generation,
                    exit: ExitKind::Stopped,
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The properties, each a check over a recorded run

fn is_restart(rule: Rule) -> bool {
    matches!(rule, Rule::RestartPermanent | Rule::RestartTransient)
}

fn escalates(d: &Decision) -> bool {
    d.actions
        .iter()
        .any(|a| matches!(a, Action::Escalate { .. }))
}

/// Counts every restart the engine decided (and the one that crossed the
/// limit) in a sliding window of its own, with OTP's rule: a restart
/// `period` or more ago no longer counts.
fn intensity(run: &Run) -> Check {
    let mut now = Time::ZERO;
    let mut restarts: Vec<Time> = Vec::new();
    for r in &run.steps {
        now = now.max(r.now);
        for e in &r.decision.explanations {
            if !is_restart(e.rule) && e.rule != Rule::IntensityExceeded {
                continue;
            }
            restarts.push(now);
            let count = restarts
                .iter()
                .filter(|&&t| now.saturating_since(t) < run.period)
                .count();
            let over = count > run.max_restarts as usize;
            if e.rule == Rule::IntensityExceeded {
                prop_assert!(
                    over,
                    "escalated at {count} of {} restarts: {r:?}",
                    run.max_restarts
                );
                let reason = r.decision.actions.iter().find_map(|a| match a {
                    Action::Escalate { reason } => Some(*reason),
                    _ => None,
                });
                prop_assert!(
                    matches!(reason, Some(Escalation::IntensityExceeded { .. })),
                    "intensity exceeded without escalating: {r:?}"
                );
            } else {
                prop_assert!(
                    !over || escalates(&r.decision),
                    "restart {count} of {} allowed without escalating: {r:?}",
                    run.max_restarts
                );
                prop_assert_eq!(
                    e.intensity.map(|w| w.count as usize),
                    Some(count),
                    "{:?}",
                    r
                );
            }
        }
    }
    Ok(())
}

/// Every delay drawn lies on the documented curve, within `[0, max]` and no
/// shorter than jitter allows; it is the delay scheduled, and the child
/// (with whatever goes down with it) does not start before it elapses
/// unless a command says so.
fn backoff_bounds(run: &Run) -> Check {
    let mut now = Time::ZERO;
    let mut not_before: BTreeMap<ChildKey, Time> = BTreeMap::new();
    // The attempt of each child's last draw, while nothing but the curve
    // (a command, a quarantine retry) can have changed its counter.
    let mut attempts: BTreeMap<ChildKey, u32> = BTreeMap::new();
    for r in &run.steps {
        now = now.max(r.now);
        for e in &r.decision.explanations {
            if matches!(e.rule, Rule::CommandAccepted | Rule::QuarantineRetry)
                && let Some(k) = e.child
            {
                not_before.remove(&k);
                attempts.remove(&k);
            }
            let (Some(draw), Some(child)) = (e.backoff, e.child) else {
                continue;
            };
            let b = run.specs[&child].backoff;
            prop_assert!(draw.delay <= b.max, "delay above max {:?}: {r:?}", b.max);
            prop_assert!(
                draw.delay <= draw.base,
                "jitter lengthened the delay: {r:?}"
            );
            prop_assert_eq!(
                draw.base,
                b.base_delay(draw.attempt),
                "off the curve: {:?}",
                r
            );
            let shortest = draw.base.mul_f64(1.0 - b.jitter);
            prop_assert!(draw.delay >= shortest, "delay below {shortest:?}: {r:?}");
            prop_assert!((0.0..1.0).contains(&draw.draw), "draw out of [0, 1): {r:?}");
            let expected = match attempts.insert(child, draw.attempt) {
                _ if draw.reset => 0,
                Some(previous) => previous.saturating_add(1),
                None => draw.attempt,
            };
            prop_assert_eq!(
                draw.attempt,
                expected,
                "attempts do not advance by one: {:?}",
                r
            );
            let scheduled = r.decision.actions.iter().find_map(|a| match *a {
                Action::RestartScheduled {
                    child: c,
                    delay,
                    at,
                } if c == child => Some((delay, at)),
                _ => None,
            });
            let expected = (!draw.delay.is_zero()).then_some((draw.delay, now + draw.delay));
            prop_assert_eq!(scheduled, expected, "{:?}", r);
            for &k in std::iter::once(&child).chain(&e.affected) {
                not_before.insert(k, now + draw.delay);
            }
        }
        for a in &r.decision.actions {
            let Action::Start { child, attempt, .. } = a else {
                continue;
            };
            if let Some(&t) = not_before.get(child) {
                prop_assert!(now >= t, "started before its delay ended at {t:?}: {r:?}");
            }
            if let Some(&drawn) = attempts.get(child) {
                prop_assert_eq!(*attempt, drawn.saturating_add(1), "{:?}", r);
            }
        }
    }
    Ok(())
}

/// The children a restart takes down are the strategy's siblings (none for
/// `one_for_one`, later ones for `rest_for_one`) and the dependents of what
/// restarts; every sibling or dependency stop is one of those, with a
/// truthful reason.
fn strategy_scope(run: &Run) -> Check {
    let mut forced: BTreeSet<ChildKey> = BTreeSet::new();
    for r in &run.steps {
        let pos = |k: ChildKey| r.order.iter().position(|&o| o == k);
        for e in &r.decision.explanations {
            if e.rule == Rule::CommandAccepted
                && let (Some(Input::Command(Command::Restart(k))), Some(child)) =
                    (r.inputs.first(), e.child)
                && *k == child
            {
                forced.extend(run.dependents(&[child], &r.order));
            }
            if !is_restart(e.rule) {
                continue;
            }
            let failed = e.child.expect("a restart names its child");
            let at = pos(failed).expect("a restarting child is live");
            let siblings: Vec<ChildKey> = match run.strategy {
                Strategy::OneForAll => r.order.iter().copied().filter(|&k| k != failed).collect(),
                Strategy::RestForOne => r.order[at + 1..].to_vec(),
                _ => Vec::new(),
            };
            let mut roots = siblings.clone();
            roots.push(failed);
            let dependents = run.dependents(&roots, &r.order);
            for &a in &e.affected {
                prop_assert!(
                    siblings.contains(&a) || dependents.contains(&a),
                    "{a:?} is neither a sibling by {:?} nor a dependent: {r:?}",
                    run.strategy
                );
                // A dependent may be declared before its dependency.
                if run.strategy != Strategy::OneForAll && !dependents.contains(&a) {
                    prop_assert!(pos(a) > Some(at), "{a:?} is earlier than {failed:?}: {r:?}");
                }
                forced.insert(a);
            }
        }
        for a in &r.decision.actions {
            let Action::Stop { child, reason, .. } = *a else {
                continue;
            };
            match reason {
                StopReason::SiblingRestart { trigger, strategy } => {
                    prop_assert_eq!(strategy, run.strategy);
                    prop_assert!(
                        strategy != Strategy::OneForOne,
                        "one_for_one stopped a sibling: {r:?}"
                    );
                    if strategy == Strategy::RestForOne {
                        prop_assert!(
                            pos(child) > pos(trigger),
                            "rest_for_one stopped an earlier child: {r:?}"
                        );
                    }
                    prop_assert!(
                        forced.remove(&child),
                        "stop not decided by any restart: {r:?}"
                    );
                }
                StopReason::DependencyRestart { dependency } => {
                    prop_assert!(
                        run.depends_on(child, dependency),
                        "{child:?} does not depend on {dependency:?}: {r:?}"
                    );
                    prop_assert!(
                        forced.remove(&child),
                        "stop not decided by any restart: {r:?}"
                    );
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Replays the decisions against the inputs: a child starts only when no
/// incarnation of it is alive, is stopped only in its current incarnation
/// and only once, inputs about other incarnations are fenced off,
/// generations only grow, and the supervisor exits only once all are down.
fn incarnations(run: &Run) -> Check {
    let mut alive: BTreeMap<ChildKey, Generation> = BTreeMap::new();
    let mut stopping: BTreeSet<ChildKey> = BTreeSet::new();
    let mut removed: BTreeSet<ChildKey> = BTreeSet::new();
    let mut latest = Generation(0);
    let mut exited = false;
    for r in &run.steps {
        for input in &r.inputs {
            let (Input::Exited {
                child, generation, ..
            }
            | Input::Ready { child, generation }
            | Input::Started { child, generation }
            | Input::Unhealthy {
                child, generation, ..
            }) = *input
            else {
                continue;
            };
            if alive.get(&child) == Some(&generation) {
                if let Input::Exited { .. } = input {
                    alive.remove(&child);
                    stopping.remove(&child);
                }
            } else if !exited {
                let fenced = r
                    .decision
                    .explanations
                    .iter()
                    .any(|e| matches!(e.rule, Rule::StaleGeneration | Rule::UnknownChild));
                prop_assert!(
                    fenced,
                    "an input about a dead incarnation was not fenced: {r:?}"
                );
            }
        }
        for a in &r.decision.actions {
            match *a {
                Action::Start {
                    child, generation, ..
                } => {
                    prop_assert!(
                        !alive.contains_key(&child),
                        "{child:?} started while alive: {r:?}"
                    );
                    prop_assert!(
                        !removed.contains(&child),
                        "{child:?} started after removal: {r:?}"
                    );
                    prop_assert!(
                        generation > latest,
                        "generation {generation:?} reused: {r:?}"
                    );
                    latest = generation;
                    alive.insert(child, generation);
                }
                Action::Stop {
                    child, generation, ..
                } => {
                    prop_assert_eq!(
                        alive.get(&child),
                        Some(&generation),
                        "stop of a dead incarnation: {:?}",
                        r
                    );
                    prop_assert!(stopping.insert(child), "{child:?} stopped twice: {r:?}");
                }
                Action::Removed { child } => {
                    prop_assert!(
                        !alive.contains_key(&child),
                        "{child:?} removed while alive: {r:?}"
                    );
                    removed.insert(child);
                }
                Action::Exit { .. } => {
                    prop_assert!(alive.is_empty(), "exit with {alive:?} alive: {r:?}");
                    exited = true;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Once shutdown is asked for, an escalation is decided or auto-shutdown
/// fires, no child starts; once the supervisor has exited, nothing happens.
fn nothing_after_shutdown(run: &Run) -> Check {
    let mut down = false;
    let mut exited = false;
    for r in &run.steps {
        if exited {
            prop_assert!(r.decision.actions.is_empty(), "action after exit: {r:?}");
        }
        down |= r.inputs.iter().any(|i| matches!(i, Input::Shutdown))
            || escalates(&r.decision)
            || r.decision.explanation(Rule::AutoShutdown).is_some();
        if down {
            let started = r
                .decision
                .actions
                .iter()
                .any(|a| matches!(a, Action::Start { .. }));
            prop_assert!(!started, "a child started after shutdown began: {r:?}");
        }
        exited |= r
            .decision
            .actions
            .iter()
            .any(|a| matches!(a, Action::Exit { .. }));
    }
    Ok(())
}

/// Stops the supervisor schedules itself (shutdown, strategy, dependency,
/// commands) go out one at a time with `sequential` order, and those that
/// take several children down (shutdown, strategy, dependency) stop a child
/// only once every sibling that depends on it has ended. Stops for a missed
/// deadline go out at once, outside that order.
fn stop_plan(run: &Run) -> Check {
    // After each step: the live incarnations, and the children asked to
    // stop that have not exited yet.
    let mut alive: BTreeMap<ChildKey, Generation> = BTreeMap::new();
    let mut asked: BTreeSet<ChildKey> = BTreeSet::new();
    let mut after = Vec::with_capacity(run.steps.len());
    for r in &run.steps {
        ended(&mut alive, r);
        asked.retain(|k| alive.contains_key(k));
        for a in &r.decision.actions {
            match *a {
                Action::Start {
                    child, generation, ..
                } => {
                    alive.insert(child, generation);
                }
                Action::Stop {
                    child, generation, ..
                } if alive.get(&child) == Some(&generation) => {
                    asked.insert(child);
                }
                _ => {}
            }
        }
        after.push((alive.clone(), asked.clone()));
    }
    for (i, r) in run.steps.iter().enumerate() {
        let Some(plan) = &r.plan else { continue };
        let (mut alive, asked) = after[i].clone();
        prop_assert_eq!(
            asked.len(),
            1,
            "a plan while {:?} are being stopped: {:?}",
            asked,
            r
        );
        let Some(&(mut current)) = asked.first() else {
            return Ok(());
        };
        let mut next = 0;
        for later in &run.steps[i + 1..] {
            let current_ended = later.inputs.iter().any(|input| {
                matches!(*input, Input::Exited { child, generation, .. }
                    if child == current && alive.get(&child) == Some(&generation))
            });
            ended(&mut alive, later);
            let stops: Vec<ChildKey> = later
                .decision
                .actions
                .iter()
                .filter_map(|a| match *a {
                    Action::Stop { child, .. } => Some(child),
                    _ => None,
                })
                .collect();
            // Children of the plan that ended on their own are skipped.
            while next < plan.len() && !alive.contains_key(&plan[next]) {
                next += 1;
            }
            if current_ended && next < plan.len() {
                prop_assert_eq!(&stops, &vec![plan[next]], "plan {:?}: {:?}", plan, later);
                current = plan[next];
                next += 1;
            } else {
                prop_assert!(
                    stops.is_empty(),
                    "plan {plan:?}, {current:?} still stopping: {later:?}"
                );
            }
        }
    }
    Ok(())
}

/// Takes the exits of live incarnations among `r`'s inputs out of `alive`.
fn ended(alive: &mut BTreeMap<ChildKey, Generation>, r: &Record) {
    for input in &r.inputs {
        if let Input::Exited {
            child, generation, ..
        } = *input
            && alive.get(&child) == Some(&generation)
        {
            alive.remove(&child);
        }
    }
}

fn stop_order(run: &Run) -> Check {
    let sequential = run.shutdown_order == ShutdownOrder::Sequential;
    let mut alive: BTreeMap<ChildKey, Generation> = BTreeMap::new();
    // Outstanding stops: whether each was scheduled (not a deadline's).
    let mut asked: BTreeMap<ChildKey, bool> = BTreeMap::new();
    for r in &run.steps {
        ended(&mut alive, r);
        asked.retain(|k, _| alive.contains_key(k));
        for a in &r.decision.actions {
            match *a {
                Action::Start {
                    child, generation, ..
                } => {
                    alive.insert(child, generation);
                }
                Action::Stop {
                    child,
                    generation,
                    reason,
                } => {
                    if alive.get(&child) != Some(&generation) {
                        continue; // judged by the incarnation property
                    }
                    let scheduled = !matches!(
                        reason,
                        StopReason::ReadinessTimeout | StopReason::LivenessMissed
                    );
                    if sequential && scheduled {
                        prop_assert!(
                            !asked.values().any(|&s| s),
                            "sequential order, yet {child:?} is stopped while {asked:?} are: {r:?}"
                        );
                    }
                    if !matches!(reason, StopReason::Manual { .. }) && scheduled {
                        let dependents: Vec<ChildKey> = alive
                            .keys()
                            .copied()
                            .filter(|d| run.deps.get(d).is_some_and(|ds| ds.contains(&child)))
                            .collect();
                        prop_assert!(
                            dependents.is_empty(),
                            "{child:?} is stopped before its dependents {dependents:?}: {r:?}"
                        );
                    }
                    asked.insert(child, scheduled);
                }
                _ => {}
            }
        }
    }
    Ok(())
}
