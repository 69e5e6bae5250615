//! One supervisor node: a tokio task running an event loop over its
//! children's exits, their readiness (on the board, or in messages),
//! control messages and one timer.

pub(crate) mod board;
pub(crate) mod chain;
mod control;
mod end;
pub(crate) mod inbox;
mod size;
mod spawn;
mod stop;
mod timers;

pub(crate) use size::TreeSize;

use std::collections::HashMap;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use supervisor_policy::{
    Action, ChildKey, Decision, Engine, Generation, Input, Rule, SupervisorExit, Time,
};
use supervisor_spec::{ChildId, ChildKind, ChildPath, Shutdown, ValidatedSpec};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::binding::{Binding, Bindings};
use crate::context::{ReadyHook, Shared, Siblings};
use crate::event::{Bus, EventKind};
use crate::{ChildFailure, ShutdownReport, StopOutcome};

pub(crate) use control::{CommandKind, Control, DEFAULT_DEADLINE, Op};

/// Messages handled per turn of a node's loop before it looks at its
/// timers and cancellation again, and lets other tasks run (see
/// `take_inputs`).
const MAX_MESSAGES_PER_TURN: usize = 256;

/// From this many children on, a node frees its copy of their specs in a
/// task of its own.
const FREE_SPECS_APART_FROM: usize = 1024;

/// Below this many timers, stale ones are left until they fire.
const MIN_TIMERS_COMPACTION: usize = 64;

/// The most actions or explanations whose room the node keeps between
/// inputs (see `keep_decision`), and the most a batch of readiness
/// gathers before it is carried out (see `input_ready`).
const MAX_KEPT_DECISION: usize = 64;

/// A message to a node's loop.
#[derive(Debug)]
pub(crate) enum Msg {
    /// An incarnation signalled readiness: a nested supervisor's roll-up,
    /// or a worker added beyond its supervisor's readiness board.
    Ready {
        child: ChildKey,
        generation: Generation,
    },
    /// A nested supervisor's children are no longer all ready.
    Unready {
        child: ChildKey,
        generation: Generation,
    },
    /// An incarnation's task ended (or a reaper of its sub-tasks did).
    /// A worker on the board that ended with `Ok(())` and no sub-tasks
    /// says so on the board instead (see `Shared::report_exit`).
    Exit {
        child: ChildKey,
        generation: Generation,
        output: Output,
    },
    /// An operator's command, possibly for a node below this one.
    Control(Control),
}

/// A worker's own result: `Ok`, or its error with the error's rendered chain.
pub(crate) type WorkerResult = Result<(), (crate::BoxError, String)>;

/// What a child's task reports when it ends.
pub(crate) enum Output {
    /// A worker's result (an error with its rendered chain), and how many
    /// of its sub-tasks were still running.
    Worker(WorkerResult, usize),
    /// The worker panicked (an async task, or a blocking worker's thread),
    /// and how many of its sub-tasks were still running.
    Panicked(String, usize),
    /// A nested supervisor ended.
    Nested(Box<NodeEnd>),
    /// The task was dropped before it ended: aborted (only supervisors
    /// abort their children's tasks), or its runtime shut down.
    Aborted,
    /// The aborted sub-tasks of an incarnation that ended without ending
    /// them itself are gone: `total` were running, `left` of them outlived
    /// the abort wait (threads blocked, they cannot be waited for).
    Reaped { total: usize, left: usize },
}

impl std::fmt::Debug for Output {
    /// Names the variant only: formatting a task's error runs user code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Worker(Ok(()), _) => "Worker(Ok)",
            Self::Worker(Err(_), _) => "Worker(Err)",
            Self::Panicked(..) => "Panicked",
            Self::Nested(_) => "Nested",
            Self::Aborted => "Aborted",
            Self::Reaped { .. } => "Reaped",
        })
    }
}

/// How a node ended, with its report.
#[derive(Debug, Clone)]
pub(crate) struct NodeEnd {
    pub(crate) exit: SupervisorExit,
    pub(crate) reason: Option<String>,
    pub(crate) report: ShutdownReport,
}

/// A child as the runtime knows it.
pub(crate) struct Kid {
    pub(crate) key: ChildKey,
    /// Its id; its path is the node's with this appended, built only when
    /// needed (an event someone listens to, an error, a report).
    pub(crate) id: ChildId,
    pub(crate) kind: KidKind,
    /// Its settings, in the node's table (children mostly share them).
    policy: u32,
    pub(crate) live: Option<Live>,
    pub(crate) started_before: bool,
    pub(crate) last_exit: Option<supervisor_policy::ExitKind>,
    pub(crate) last_failure: Option<Arc<ChildFailure>>,
    /// How its stop during shutdown ended (set once shutdown began), and
    /// how long it took (kept apart: a pair would take 16 bytes).
    outcome: Option<StopOutcome>,
    took: Took,
    pub(crate) nested_report: Option<Box<ShutdownReport>>,
    /// Sub-tasks the last incarnation left running (aborted at its end).
    pub(crate) subtasks: u32,
    /// Whether the last incarnation ended because it was asked to stop.
    pub(crate) stopped_by_us: bool,
}

impl Kid {
    /// How its stop during shutdown ended, and how long it took.
    pub(crate) fn outcome(&self) -> Option<(StopOutcome, Took)> {
        self.outcome.map(|o| (o, self.took))
    }

    pub(crate) fn set_outcome(&mut self, outcome: StopOutcome, took: Took) {
        self.outcome = Some(outcome);
        self.took = took;
    }

    /// Whether its incarnations run on threads of their own (blocking
    /// workers).
    pub(crate) fn is_thread(&self) -> bool {
        matches!(&self.kind, KidKind::Worker(b) if matches!(**b, Binding::Blocking(_)))
    }

    /// For a nested supervisor, its loop's inbox (while it runs).
    pub(crate) fn inbox(&self) -> Option<&inbox::Inbox> {
        match &self.kind {
            KidKind::Supervisor(nested) => nested.inbox.as_ref(),
            KidKind::Worker(_) => None,
        }
    }

    fn set_inbox(&mut self, inbox: Option<inbox::Inbox>) {
        if let KidKind::Supervisor(nested) = &mut self.kind {
            nested.inbox = inbox;
        }
    }
}

/// The settings of a child that the runtime acts on, shared by the
/// children that have the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KidPolicy {
    pub(crate) shutdown: Shutdown,
    pub(crate) liveness: Option<Duration>,
    /// Ready when first polled (no explicit readiness).
    pub(crate) immediate: bool,
}

/// How many distinct policies `add_kid` compares a child of the spec's with
/// before it adds another entry (a table with duplicates is still correct).
/// A child added at run time is compared with them all (see `add_kid`).
const POLICY_SEARCH: usize = 8;

pub(crate) enum KidKind {
    Worker(Arc<Binding>),
    /// Boxed: most children are workers, and the slot is per child.
    Supervisor(Box<NestedKid>),
}

/// What the runtime keeps of a nested supervisor.
pub(crate) struct NestedKid {
    pub(crate) spec: ValidatedSpec,
    /// Its loop's inbox, while it runs.
    pub(crate) inbox: Option<inbox::Inbox>,
}

impl KidKind {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Worker(binding) => match **binding {
                Binding::Async(_) => "worker",
                Binding::Blocking(_) => "blocking",
            },
            Self::Supervisor(_) => "supervisor",
        }
    }
}

/// A point in time as nanoseconds since the tree's epoch: half the size of
/// an `Instant`, kept per child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub(crate) fn since(self, earlier: Stamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A duration in whole nanoseconds, saturating (at about 584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long a stop took, in nanoseconds (half a `Duration`, kept per child).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Took(u64);

impl From<Duration> for Took {
    fn from(d: Duration) -> Self {
        Self(nanos(d))
    }
}

impl From<Took> for Duration {
    fn from(t: Took) -> Self {
        Duration::from_nanos(t.0)
    }
}

/// The incarnation alive now.
pub(crate) struct Live {
    pub(crate) generation: Generation,
    pub(crate) shared: Arc<Shared>,
    /// The incarnation's task (or, once it ended, the reaper of its
    /// sub-tasks): aborted through it.
    pub(crate) handle: JoinHandle<()>,
    pub(crate) ready: bool,
    /// Whether a stop was asked for, and whether the task was aborted since.
    stop: StopMark,
    /// When the stop was asked for (while `stop` is not `None`).
    stop_since: Stamp,
    pub(crate) started: Stamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopMark {
    None,
    Asked,
    Aborted,
}

impl Live {
    pub(crate) fn new(
        generation: Generation,
        shared: Arc<Shared>,
        handle: JoinHandle<()>,
        started: Stamp,
    ) -> Self {
        Self {
            generation,
            shared,
            handle,
            ready: false,
            stop: StopMark::None,
            stop_since: Stamp(0),
            started,
        }
    }

    /// When a stop was asked for, and whether the task was aborted since
    /// (kept as a mark and a stamp: an `Option` of the pair would take 16
    /// bytes).
    pub(crate) fn stopping(&self) -> Option<(Stamp, bool)> {
        match self.stop {
            StopMark::None => None,
            StopMark::Asked => Some((self.stop_since, false)),
            StopMark::Aborted => Some((self.stop_since, true)),
        }
    }

    pub(crate) fn set_stopping(&mut self, since: Stamp, aborted: bool) {
        self.stop_since = since;
        self.stop = if aborted {
            StopMark::Aborted
        } else {
            StopMark::Asked
        };
    }
}

/// What woke one turn of the node's loop.
enum Turn {
    /// The stop or abort request flags changed: the waiters poll again.
    Signals,
    /// An abort of every child was asked for.
    Aborted,
    /// A shutdown was asked for.
    Cancelled,
    /// The board has marks, or messages came.
    Board,
    /// The sleep until the next deadline ran out.
    Timers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The graceful timeout of a stop ran out.
    Abort(ChildKey, Generation),
    /// The abort wait ran out.
    Detach(ChildKey, Generation),
    /// Check a liveness deadline.
    Liveness(ChildKey, Generation),
    /// The supervisor's overall shutdown budget ran out.
    Budget,
    /// A shutdown's chain may have reached a child whose timeout could
    /// run out from here: the supervisor, woken, breaks the chain and arms
    /// that child's timeout itself (see `Node::start_chain`).
    Chain,
}

/// Shows the path of child `.1` of the node at `.0` without building it.
pub(crate) struct Joined<'a>(pub(crate) &'a ChildPath, pub(crate) &'a ChildId);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

pub(crate) struct Node {
    pub(crate) path: ChildPath,
    /// The supervisor's own settings; its children live in `kids` and the
    /// engine, not here, so a child costs no copy of its spec.
    pub(crate) header: supervisor_spec::SupervisorSpec,
    pub(crate) engine: Engine,
    pub(crate) kids: Vec<Option<Kid>>,
    policies: Vec<KidPolicy>,
    /// The binding `add_kid` looked up last, by task name.
    last_binding: Option<(supervisor_spec::TaskName, Arc<Binding>)>,
    /// Where anyone tells this node something (with `rx`).
    pub(crate) inbox: inbox::Inbox,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// What the incarnations of its children share (see `Shared`).
    pub(crate) siblings: Arc<Siblings>,
    pub(crate) bus: Arc<Bus>,
    pub(crate) bindings: Arc<Bindings>,
    pub(crate) seed: u64,
    pub(crate) timers: timers::Timers,
    /// The time of the current turn of the loop, read once per turn: the
    /// messages of one turn (at most `MAX_MESSAGES_PER_TURN`) share it.
    /// With it, the time since the tree's epoch.
    clock: std::cell::Cell<Option<(Instant, Duration)>>,
    /// Reused for every input's decision (see `input`).
    decision: Decision,
    /// Inputs taken in this turn and not yet given to the engine (see
    /// `defer`); kept between turns.
    deferred: Vec<Input>,
    /// The clean exits of one turn's board, kept between turns (see
    /// `take_inputs`).
    clean_exits: Vec<(ChildKey, Generation)>,
    /// The size of `timers` at which its stale entries are dropped.
    timers_compact_at: usize,
    /// Incarnations that ended, since the last pass over `timers`, while
    /// timers of theirs may have been pending: an upper bound on the stale
    /// entries.
    pub(crate) ended_with_timers: usize,
    /// Incarnations that ended while their aborted sub-tasks are still
    /// being waited for.
    pub(crate) reaping: HashMap<ChildKey, Box<end::Ended>>,
    /// This node's own incarnation state: its cancellation is this
    /// supervisor's shutdown request, its abort an immediate stop.
    pub(crate) me: Arc<Shared>,
    pub(crate) shutdown: Option<ShutdownState>,
    pub(crate) ended: Option<NodeEnd>,
    pub(crate) escalation: Option<String>,
    /// The reason given with the command being carried out, for stop reasons.
    pub(crate) pending_reason: Option<String>,
    /// Commands waiting for their effect to show.
    pub(crate) waiters: Vec<control::Waiter>,
    /// The children added at run time and not deleted, with the nodes each
    /// counts in the tree's `TreeSize`: given back when it is deleted, and
    /// all of them when this loop ends. Kept here, not in `Kid`: only
    /// added children pay for it.
    pub(crate) added: HashMap<ChildKey, usize>,
}

pub(crate) struct ShutdownState {
    pub(crate) since: Instant,
    /// The budget ran out (or an abort was asked for): stop everything at once.
    pub(crate) abort_all: bool,
    /// The children carrying on a sequential shutdown (see `chain`).
    pub(crate) chain: chain::ChainRun,
}

impl Node {
    pub(crate) fn new(
        spec: ValidatedSpec,
        path: ChildPath,
        me: Arc<Shared>,
        bus: Arc<Bus>,
        bindings: Arc<Bindings>,
        seed: u64,
    ) -> Self {
        // Flat, so that its children's paths share its segments (see
        // `ChildPath::join`).
        let path = path.flattened();
        // Each node mixes its path into the seed so sibling supervisors draw
        // different jitter.
        let node_seed = path
            .to_string()
            .bytes()
            .fold(seed, |h, b| h.rotate_left(5) ^ u64::from(b));
        let engine = Engine::new(&spec, node_seed);
        let (tx, rx) = mpsc::unbounded_channel();
        let board = Arc::new(board::ReadyBoard::new(spec.spec().children.len()));
        let inbox = inbox::Inbox::new(tx, board.clone());
        let siblings = Arc::new(Siblings {
            parent: Some(path.clone()),
            epoch: bus.epoch,
            hook: ReadyHook::Parent(inbox.clone()),
            board,
            chain: chain::Chain::default(),
        });
        let children = spec.spec().children.len();
        // Only supervisors have a nested spec (and looking one up is a scan
        // of the children); kept by position, without a slot per worker.
        let mut nested = spec
            .spec()
            .children
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind.supervisor().is_some())
            .filter_map(|(i, c)| Some((i, spec.nested(&c.id)?)))
            .collect::<Vec<_>>()
            .into_iter()
            .peekable();
        let mut header = spec.into_inner();
        let specs = std::mem::take(&mut header.children);
        let mut node = Self {
            path,
            kids: Vec::with_capacity(children),
            policies: Vec::new(),
            last_binding: None,
            header,
            engine,
            inbox,
            rx,
            siblings,
            bus,
            bindings,
            seed,
            timers: timers::Timers::default(),
            clock: std::cell::Cell::new(None),
            decision: Decision::default(),
            clean_exits: Vec::new(),
            deferred: Vec::new(),
            timers_compact_at: MIN_TIMERS_COMPACTION,
            ended_with_timers: 0,
            reaping: HashMap::new(),
            me,
            shutdown: None,
            ended: None,
            escalation: None,
            pending_reason: None,
            waiters: Vec::new(),
            added: HashMap::new(),
        };
        // Right after `Engine::new`, its keys are the spec's children in order.
        let keys = node.engine.keys().to_vec();
        for (i, (child, key)) in specs.iter().zip(keys).enumerate() {
            let nested = nested.next_if(|(j, _)| *j == i).map(|(_, n)| n);
            node.add_kid(key, child, nested, false);
        }
        // Freeing thousands of child specs takes a while (about 200
        // instructions each): a big tree frees them in a task of its own,
        // off the way to its children's start.
        if specs.len() >= FREE_SPECS_APART_FROM && tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(async move { drop(specs) });
        }
        node
    }

    /// The inbox of this node's loop.
    pub(crate) fn inbox(&self) -> inbox::Inbox {
        self.inbox.clone()
    }

    /// Registers the runtime side of a child (the engine has its own side);
    /// `added` if it is added at run time.
    pub(crate) fn add_kid(
        &mut self,
        key: ChildKey,
        child: &supervisor_spec::ChildSpec,
        nested: Option<ValidatedSpec>,
        added: bool,
    ) {
        let kind = match &child.kind {
            ChildKind::Supervisor(_) => match nested {
                Some(spec) => KidKind::Supervisor(Box::new(NestedKid { spec, inbox: None })),
                None => return,
            },
            _ => {
                let Some(task) = child.task() else { return };
                // Siblings mostly share their task: the last lookup is kept.
                let binding = match &self.last_binding {
                    Some((name, binding)) if name == task => binding.clone(),
                    _ => {
                        let Some(binding) = self.bindings.get(task) else {
                            return;
                        };
                        self.last_binding = Some((task.clone(), binding.clone()));
                        binding
                    }
                };
                KidKind::Worker(binding)
            }
        };
        let policy = KidPolicy {
            shutdown: child.shutdown,
            liveness: child.liveness,
            immediate: !matches!(child.readiness, supervisor_spec::Readiness::Explicit { .. }),
        };
        let found = if self.policies.last() == Some(&policy) {
            // Siblings declared alike: the common case, checked first.
            Some(self.policies.len() - 1)
        } else {
            self.policies
                .iter()
                .rev()
                // A child added at run time looks through them all (the
                // distinct settings, mostly few): a pool that adds and
                // deletes children of a few settings for ever keeps its
                // table.
                .take(if added { usize::MAX } else { POLICY_SEARCH })
                .position(|p| *p == policy)
                .map(|back| self.policies.len() - 1 - back)
        };
        let policy = match found {
            Some(i) => i,
            None => {
                self.policies.push(policy);
                self.policies.len() - 1
            }
        } as u32;
        let kid = Kid {
            key,
            id: child.id.clone(),
            kind,
            policy,
            live: None,
            started_before: false,
            last_exit: None,
            last_failure: None,
            outcome: None,
            took: Took::default(),
            nested_report: None,
            subtasks: 0,
            stopped_by_us: false,
        };
        let index = key.index();
        if index == self.kids.len() {
            self.kids.push(Some(kid));
            return;
        }
        if self.kids.len() < index {
            self.kids.resize_with(index, || None);
            self.kids.push(Some(kid));
            return;
        }
        self.kids[index] = Some(kid);
    }

    pub(crate) fn kid(&self, key: ChildKey) -> Option<&Kid> {
        self.kids.get(key.index()).and_then(Option::as_ref)
    }

    /// The path of a child of this node.
    pub(crate) fn path_of(&self, kid: &Kid) -> ChildPath {
        self.path.join(&kid.id)
    }

    /// Emits an event about a child, if anyone listens.
    #[inline]
    pub(crate) fn emit_kid(
        &self,
        key: ChildKey,
        generation: Option<Generation>,
        make: impl FnOnce() -> EventKind,
    ) {
        if let Some(kid) = self.kid(key) {
            self.bus.emit_child(&self.path, &kid.id, generation, make);
        }
    }

    /// The settings of a child.
    pub(crate) fn policy(&self, kid: &Kid) -> KidPolicy {
        self.policies[kid.policy as usize]
    }

    pub(crate) fn kid_mut(&mut self, key: ChildKey) -> Option<&mut Kid> {
        self.kids.get_mut(key.index()).and_then(Option::as_mut)
    }

    pub(crate) fn now(&self) -> Time {
        Time::from_duration(self.read_clock().1)
    }

    /// Now, as of this turn of the loop, as a compact stamp.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp(nanos(self.read_clock().1))
    }

    /// Now, as of this turn of the loop, as the time since the tree's epoch.
    pub(crate) fn since_epoch(&self) -> Duration {
        self.read_clock().1
    }

    /// Now, as of this turn of the loop (see `clock`).
    pub(crate) fn clock(&self) -> Instant {
        self.read_clock().0
    }

    fn read_clock(&self) -> (Instant, Duration) {
        match self.clock.get() {
            Some(t) => t,
            None => {
                let t = Instant::now();
                let t = (t, t.saturating_duration_since(self.bus.epoch));
                self.clock.set(Some(t));
                t
            }
        }
    }

    fn instant(&self, t: Time) -> Instant {
        self.bus.epoch + t.as_duration()
    }

    /// Arms a timer `delay` after now (this turn's time).
    pub(crate) fn timer_after(&mut self, delay: Duration, timer: Timer) {
        let now = self.clock();
        self.timers.after(now, delay, timer);
        self.compact_timers();
    }

    /// Arms a timer for `at`.
    pub(crate) fn timer_at(&mut self, at: Instant, timer: Timer) {
        self.timers.at(at, timer);
        self.compact_timers();
    }

    /// Timers are never cancelled: one that no longer applies (its
    /// incarnation ended) does nothing when it fires, and is dropped early
    /// when stale entries pile up, so a supervisor that stops children
    /// often with a long graceful timeout keeps at most about twice its
    /// live timers.
    fn compact_timers(&mut self) {
        let len = self.timers.len();
        if len >= self.timers_compact_at {
            // Only worth a pass when at least half may be stale (a parallel
            // shutdown arms one live timer per child).
            if self.ended_with_timers * 2 >= len {
                let mut timers = std::mem::take(&mut self.timers);
                timers.retain(|t| self.timer_applies(t));
                self.timers = timers;
                self.ended_with_timers = 0;
            }
            self.timers_compact_at = (self.timers.len() * 2).max(MIN_TIMERS_COMPACTION);
        }
    }

    /// Whether a timer still concerns a running incarnation.
    fn timer_applies(&self, timer: Timer) -> bool {
        let live = |key: ChildKey, generation: Generation| {
            self.kid(key)
                .and_then(|k| k.live.as_ref())
                .filter(|l| l.generation == generation)
        };
        match timer {
            Timer::Abort(key, generation) => {
                live(key, generation).is_some_and(|l| l.stopping().is_some_and(|(_, a)| !a))
            }
            Timer::Detach(key, generation) => live(key, generation).is_some(),
            Timer::Liveness(key, generation) => {
                live(key, generation).is_some_and(|l| l.stopping().is_none())
            }
            Timer::Budget => true,
            Timer::Chain => self.shutdown.as_ref().is_some_and(|s| s.chain.is_running()),
        }
    }

    /// Feeds the engine and carries out its decision.
    pub(crate) fn input(&mut self, input: Input) {
        self.flush();
        // The buffers of one decision serve every input.
        let mut d = std::mem::take(&mut self.decision);
        self.engine.handle_into(self.now(), input, &mut d);
        self.apply(&d);
        self.keep_decision(d);
    }

    /// Takes in an input together with the others of this turn (a start
    /// of many children marks the board with each readiness, a shutdown
    /// with each exit): the engine gets them at once (`handle_batch`), and
    /// its decision is carried out, by `flush`, before anything else is
    /// handled.
    pub(crate) fn defer(&mut self, input: Input) {
        self.deferred.push(input);
        // A batch is carried out every so many, so that the decision's
        // buffers stay small (see `keep_decision`).
        if self.deferred.len() >= MAX_KEPT_DECISION {
            self.flush();
        }
    }

    /// Gives the engine the inputs gathered by `defer` and carries out its
    /// decision, until none is left (carrying out a decision defers
    /// nothing today; if it did, those would go too).
    pub(crate) fn flush(&mut self) {
        while !self.deferred.is_empty() {
            let mut deferred = std::mem::take(&mut self.deferred);
            let mut d = std::mem::take(&mut self.decision);
            d.clear();
            self.engine
                .handle_batch(self.now(), deferred.drain(..), &mut d);
            self.apply(&d);
            self.keep_decision(d);
            // Its room (at most `MAX_KEPT_DECISION`) serves the next batch.
            if self.deferred.is_empty() {
                self.deferred = deferred;
            }
        }
    }

    /// Keeps a decision's buffers for the next input, unless a big batch
    /// grew them (a start of thousands of children takes in all their
    /// readiness at once): those are freed rather than held for good.
    fn keep_decision(&mut self, mut d: Decision) {
        if d.actions.capacity() > MAX_KEPT_DECISION || d.explanations.capacity() > MAX_KEPT_DECISION
        {
            d = Decision::default();
        }
        self.decision = d;
    }

    /// Runs the loop until every child is down after shutdown or escalation.
    ///
    /// Boxed: a node is over a kilobyte, and a future that holds it by
    /// value would put it (twice over, with the loop's own state) in its
    /// task's cell: about 4.3 kB, copied through tokio's spawn on the
    /// stack. Boxed, the cell is about 0.5 kB.
    pub(crate) async fn run(mut self: Box<Self>) -> NodeEnd {
        {
            // Dropped at once: a decision holds per-child data.
            let d = self.engine.start(self.now());
            self.apply(&d);
        }
        let me = self.me.clone();
        let siblings = self.siblings.clone();
        let sleep = tokio::time::sleep_until(Instant::now());
        // Built once: two waiters, so the second waits on a `Notify` (see
        // `Shared::wait`), and re-registering with it every turn of the
        // loop would cost more than the turn itself.
        let cancelled = me.wait(false);
        let aborted = me.wait(true);
        tokio::pin!(sleep, cancelled, aborted);
        let mut armed = false;
        // Whether the sleep's last poll since its last reset got past the
        // co-operative budget and returned `Pending`: it then holds this
        // task's waker for its deadline.
        let mut registered = false;
        // The request flags as of the last poll of `cancelled` and
        // `aborted`. A pending waiter keeps the waker it was polled with
        // (this task's, which does not change) until a wake-up, which
        // only a change of the flags brings (the one in the waker slot
        // gives its waker up then), and polling the one on the `Notify`
        // again takes its lock: so they are polled only in a turn that
        // sees the flags changed, when both register again, not on every
        // turn. In between, each turn checks the flags (`Turn::Signals`)
        // when that waker wakes this task, and starts a new turn. A turn
        // may see the flags change before the wake-up comes; a waiter
        // polled then is done all the same (see `Shared::wait`), so the
        // wake-up that follows is not needed.
        let mut seen = None;
        loop {
            if let Some(end) = self.ended.take() {
                return end;
            }
            self.clock.set(None);
            let wake = self.next_wake();
            if let Some(t) = wake {
                if !armed || sleep.deadline() != t {
                    sleep.as_mut().reset(t);
                    registered = false;
                }
                armed = true;
            } else {
                armed = false;
            }
            let shutting_down = self.shutdown.is_some();
            let aborting = self.shutdown.as_ref().is_some_and(|s| s.abort_all);
            let flags = (me.is_cancelled(), me.is_aborted());
            let signals = seen != Some(flags);
            seen = Some(flags);
            // One poll of everything this turn may wait on, in the order a
            // `biased` `select!` would poll them, and like it yielding at
            // once when the task's co-operative budget is spent (written
            // out: the macro's bookkeeping cost more than the polls of a
            // turn that finds nothing).
            let turn = std::future::poll_fn(|cx| {
                if !tokio::task::coop::has_budget_remaining() {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if signals {
                    if !aborting && aborted.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Turn::Aborted);
                    }
                    if !shutting_down && cancelled.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Turn::Cancelled);
                    }
                } else if (me.is_cancelled(), me.is_aborted()) != flags {
                    // The waiters keep their wakers (see `seen`): only a
                    // change of the flags is looked for.
                    return Poll::Ready(Turn::Signals);
                }
                // Workers' readiness and clean exits, marked on the board
                // (see `board`), and messages, which wake it too (see
                // `Inbox`).
                if siblings.board.poll_pending(cx.waker()) {
                    return Poll::Ready(Turn::Board);
                }
                if armed && (!registered || sleep.is_elapsed()) {
                    // A pending sleep keeps this task's waker until it
                    // fires or is reset, so it is polled again only then,
                    // or if its last poll ran out of co-operative budget
                    // (such a poll registers nothing).
                    let budget = tokio::task::coop::has_budget_remaining();
                    if sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Turn::Timers);
                    }
                    registered = budget;
                }
                Poll::Pending
            })
            .await;
            // Whatever woke it, the supervisor stops its children itself
            // from here, after it took in the exits the chain marked
            // without waking it (`take_inputs` breaks the chain first).
            if self.chain_running() {
                self.take_inputs(&siblings.board);
            }
            match turn {
                Turn::Signals => {}
                Turn::Aborted => self.abort_all("requested"),
                Turn::Cancelled => self.begin_shutdown("requested"),
                Turn::Board => {
                    // The first mark of a batch wakes this task, most often
                    // from the thread of the child that made it, which then
                    // runs it next (tokio's LIFO slot): before any other
                    // child could add to the batch, so that a start or a
                    // stop of many takes one turn per child. While more
                    // children are to tell something, the runnable ones go
                    // first, and one turn takes what they marked.
                    if self.engine.in_flux() > 1 {
                        tokio::task::yield_now().await;
                    }
                    if self.take_inputs(&siblings.board) {
                        // Messages are left, and the board is woken for
                        // them: it would be ready again at once, before
                        // the sleep is polled, and a `poll_fn` takes no
                        // coop budget. So the due timers are run here,
                        // and the other tasks get their turn, before the
                        // rest.
                        self.on_timers();
                        tokio::task::yield_now().await;
                    }
                }
                Turn::Timers => {
                    // Tasks woken at this same instant (a child ready, or
                    // ending, exactly at its deadline) run first, and what
                    // they marked is taken in before the deadlines fire:
                    // an input at a deadline voids it, as in the engine
                    // (see `Engine::handle_batch`). The sleep was set up
                    // before the child's own timer, so it wakes first.
                    tokio::task::yield_now().await;
                    self.take_inputs(&siblings.board);
                    if self.ended.is_none() {
                        self.on_timers();
                    }
                }
            }
        }
    }

    /// The earliest of the engine's deadline and the runtime's own timers.
    fn next_wake(&self) -> Option<Instant> {
        let engine = self.engine.next_deadline().map(|t| self.instant(t));
        let own = self.timers.next();
        match (engine, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One turn's worth of news: the board first (readiness and clean
    /// exits; a worker's readiness comes before its exit), then the
    /// messages, in one go (exits with an error or a panic, nested
    /// supervisors' news, commands). Up to `MAX_MESSAGES_PER_TURN`
    /// messages: if that many came, the board is woken again for the rest,
    /// and this returns `true` (the loop then runs its due timers and
    /// yields before it takes them).
    ///
    /// A chain still running is broken first (see `break_chain`): the
    /// exits a chain marks quietly are taken only after it is broken,
    /// when their times are known. A turn can take the board twice, and
    /// its first take can start a new chain (the supervisor stopping the
    /// next child itself after a failure), whose first link may end
    /// before the second take.
    fn take_inputs(&mut self, board: &board::ReadyBoard) -> bool {
        if self.break_chain() {
            board.flag_pending();
        }
        // Every readiness on the board first, then its clean exits: an
        // exit's decision (a group restart, say) must see the readiness
        // its siblings marked in the same batch.
        let mut exits = std::mem::take(&mut self.clean_exits);
        board.take(|slot| self.take_slot(slot, &mut exits));
        if !exits.is_empty() {
            if exits.len() > 1 && self.chain_started() {
                self.order_chain_exits(&mut exits);
            }
            self.flush();
            for (key, generation) in exits.drain(..) {
                self.on_exit(key, generation, Output::Worker(Ok(()), 0));
            }
        }
        // Kept for the next batch, unless a big one grew it.
        if exits.capacity() <= MAX_KEPT_DECISION {
            self.clean_exits = exits;
        }
        let mut more = true;
        for _ in 0..MAX_MESSAGES_PER_TURN {
            // Deferred inputs first: an exit among them may end the node,
            // and an ended node reads no more messages.
            self.flush();
            if self.ended.is_some() {
                more = false;
                break;
            }
            match self.rx.try_recv() {
                Ok(msg) => self.on_msg(msg),
                Err(_) => {
                    more = false;
                    break;
                }
            }
        }
        if more {
            board.wake();
        }
        self.flush();
        more
    }

    /// Takes in what a worker marked on the board: its readiness, if its
    /// live incarnation's flag says so and it is not taken in yet; and
    /// adds its clean exit to `exits`, if the flag says so (see
    /// `Shared::report_exit`), for `take_inputs` to handle after every
    /// readiness of the batch.
    fn take_slot(&mut self, slot: usize, exits: &mut Vec<(ChildKey, Generation)>) {
        let Some(kid) = self.kids.get(slot).and_then(Option::as_ref) else {
            return;
        };
        let key = kid.key;
        if let Some(live) = kid.live.as_ref().filter(|l| l.shared.has_clean_exit()) {
            exits.push((key, live.generation));
        }
        self.catch_up_ready(key);
    }

    /// Takes in a worker's readiness from its flag, unless already taken
    /// in: from the board, and before its exit, which must come after it.
    pub(crate) fn catch_up_ready(&mut self, key: ChildKey) {
        let Some(kid) = self.kid_mut(key) else { return };
        if !matches!(kid.kind, KidKind::Worker(_)) {
            return;
        }
        let Some(live) = kid.live.as_mut() else {
            return;
        };
        if live.ready || !live.shared.is_ready() {
            return;
        }
        live.ready = true;
        let generation = live.generation;
        if !self.awaits_ready(key, generation) {
            return;
        }
        self.emit_kid(key, Some(generation), || EventKind::Ready);
        self.defer(Input::Ready {
            child: key,
            generation,
        });
    }

    /// Whether the engine takes readiness from this incarnation: it runs,
    /// and is neither queued for a stop nor being stopped. One being
    /// stopped (its readiness timed out, a restart) is never said to be
    /// ready: the engine ignores it, and no event may say otherwise.
    fn awaits_ready(&self, key: ChildKey, generation: Generation) -> bool {
        self.engine.is_running(key, generation)
    }

    fn on_msg(&mut self, msg: Msg) {
        if !matches!(msg, Msg::Ready { .. }) {
            self.flush();
        }
        match msg {
            Msg::Ready { child, generation } => {
                let Some(kid) = self.kid_mut(child) else {
                    return;
                };
                let Some(live) = kid.live.as_mut().filter(|l| l.generation == generation) else {
                    return;
                };
                if live.ready {
                    // Taken in already (from its flag, before its exit
                    // was handled); a nested supervisor's next `Ready`
                    // comes after an `Unready`.
                    return;
                }
                live.ready = true;
                if !self.awaits_ready(child, generation) {
                    return;
                }
                self.emit_kid(child, Some(generation), || EventKind::Ready);
                self.defer(Input::Ready { child, generation });
            }
            Msg::Unready { child, generation } => {
                let Some(kid) = self.kid_mut(child) else {
                    return;
                };
                let Some(live) = kid.live.as_mut().filter(|l| l.generation == generation) else {
                    return;
                };
                live.ready = false;
                self.emit_kid(child, Some(generation), || EventKind::Unready);
                self.input(Input::Unready { child, generation });
            }
            Msg::Exit {
                child,
                generation,
                output,
            } => self.on_exit(child, generation, output),
            Msg::Control(control) => self.on_control(control),
        }
    }

    fn on_timers(&mut self) {
        self.flush();
        self.clock.set(None);
        let now = self.clock();
        let engine_due = self
            .engine
            .next_deadline()
            .is_some_and(|t| self.instant(t) <= now);
        let mut due = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            due.push(timer);
        }
        for timer in due {
            self.on_timer(timer);
        }
        if engine_due {
            self.input(Input::Timer);
        }
    }

    /// Carries out a decision's actions, in order.
    pub(crate) fn apply(&mut self, d: &Decision) {
        // Shutdown began in this decision (requested, escalation,
        // auto-shutdown): say so before any of its consequences, even when no
        // child is left to stop and the supervisor ends in the same decision.
        if self.shutdown.is_none() && self.engine.is_shutting_down() {
            let cause = if d
                .actions
                .iter()
                .any(|a| matches!(a, Action::Escalate { .. }))
            {
                "escalated"
            } else if d.explanation(Rule::AutoShutdown).is_some() {
                "auto_shutdown"
            } else {
                "requested"
            };
            self.note_shutdown(cause);
        }
        // A zero-delay restart has no RestartScheduled action: its start is
        // in this very decision. Explain it first, so the events read in
        // order (exited, restart scheduled, started).
        for e in &d.explanations {
            if matches!(e.rule, Rule::RestartPermanent | Rule::RestartTransient)
                && e.backoff.is_some_and(|b| b.delay.is_zero())
                && let Some(child) = e.child
            {
                self.emit_restart(d, child, Duration::ZERO);
            }
        }
        for action in &d.actions {
            match *action {
                Action::Start {
                    child,
                    generation,
                    attempt,
                } => self.start_child(child, generation, attempt),
                Action::Stop {
                    child,
                    generation,
                    reason,
                } => {
                    let reason = self.stop_reason(reason);
                    self.stop_child(child, generation, reason);
                }
                Action::RestartScheduled { child, delay, .. } => {
                    self.emit_restart(d, child, delay);
                }
                Action::Quarantined { child, retry_at } => {
                    let retry_after = retry_at.map(|t| t.saturating_since(self.now()));
                    self.emit_kid(child, None, || EventKind::Quarantined { retry_after });
                }
                Action::Removed { child } => {
                    if let Some(kid) = self.kids.get_mut(child.index()).and_then(Option::take) {
                        if let Some(nodes) = self.added.remove(&child) {
                            self.bus.size.release(nodes);
                        } else if self.path.len() == 1 {
                            // A child of the spec keeps its count where its
                            // supervisor may restart with it again; the root
                            // never does.
                            self.bus.size.release(match &kid.kind {
                                KidKind::Worker(_) => 1,
                                KidKind::Supervisor(nested) => {
                                    nested.spec.node_count().saturating_add(1)
                                }
                            });
                        }
                        self.bus
                            .emit_child(&self.path, &kid.id, None, || EventKind::Removed);
                    }
                }
                Action::Escalate { reason } => {
                    let text = self.escalation_text(&reason);
                    self.escalation = Some(text.clone());
                    let path = self.path.clone();
                    self.bus
                        .emit(&path, None, || EventKind::Escalated { reason: text });
                }
                Action::Exit { exit } => self.finish(exit),
                _ => {}
            }
        }
        self.check_waiters();
        // Readiness rolls up live: a nested supervisor tells its parent each
        // time its children stop or start being all ready.
        self.me.set_rolled_up(self.engine.is_ready());
    }

    fn emit_restart(&self, d: &Decision, child: ChildKey, delay: Duration) {
        if !self.bus.is_active() {
            return;
        }
        let Some(kid) = self.kid(child) else { return };
        let Some(e) = d.explanations.iter().find(|e| {
            e.child == Some(child)
                && matches!(e.rule, Rule::RestartPermanent | Rule::RestartTransient)
        }) else {
            return;
        };
        let affected = e
            .affected
            .iter()
            .filter_map(|&k| self.engine.id(k).cloned())
            .collect();
        let (rule, intensity, budget, backoff) = (e.rule, e.intensity, e.budget, e.backoff);
        self.bus
            .emit_child(&self.path, &kid.id, None, || EventKind::RestartScheduled {
                delay,
                rule,
                intensity,
                budget,
                backoff,
                affected,
            });
    }

    fn escalation_text(&self, reason: &supervisor_policy::Escalation) -> String {
        let name = |k: ChildKey| {
            self.engine
                .id(k)
                .map_or_else(|| "?".to_owned(), ToString::to_string)
        };
        match *reason {
            supervisor_policy::Escalation::IntensityExceeded { child, intensity } => format!(
                "restart intensity exceeded: {} restarts within {:?} (max {}), last by {}",
                intensity.count,
                intensity.period,
                intensity.max,
                name(child)
            ),
            supervisor_policy::Escalation::BudgetExhausted { child, budget } => format!(
                "budget of {} exhausted: {} restarts within {:?} (max {})",
                name(child),
                budget.count,
                budget.period,
                budget.max
            ),
            _ => "gave up".to_owned(),
        }
    }

    fn stop_reason(&self, reason: supervisor_policy::StopReason) -> crate::StopReason {
        let id = |k: ChildKey| self.engine.id(k).cloned();
        match reason {
            supervisor_policy::StopReason::SiblingRestart { trigger, .. } => match id(trigger) {
                Some(sibling) => crate::StopReason::SiblingRestart { sibling },
                None => crate::StopReason::Shutdown,
            },
            supervisor_policy::StopReason::DependencyRestart { dependency } => {
                match id(dependency) {
                    Some(dependency) => crate::StopReason::DependencyRestart { dependency },
                    None => crate::StopReason::Shutdown,
                }
            }
            supervisor_policy::StopReason::Manual { command } => crate::StopReason::Manual {
                command,
                reason: self.pending_reason.clone(),
            },
            supervisor_policy::StopReason::ReadinessTimeout => crate::StopReason::ReadinessTimeout,
            supervisor_policy::StopReason::LivenessMissed => crate::StopReason::LivenessMissed,
            _ => crate::StopReason::Shutdown,
        }
    }
}

#[cfg(test)]
mod tests;

impl Drop for Node {
    /// A node dropped before its children ended (its own task was aborted,
    /// or its runtime shut down) takes their tasks down with it, sub-tasks
    /// included, and asks its blocking workers' threads, which cannot be
    /// aborted, to stop.
    fn drop(&mut self) {
        // The chain holds its children's shared states, which hold the
        // siblings' state that holds the chain: break that cycle.
        drop(self.siblings.chain.stop());
        // A restarted supervisor starts from its spec, without them.
        self.bus.size.release(self.added.values().sum());
        for kid in self.kids.iter().flatten() {
            if let Some(live) = &kid.live {
                live.shared.cancel_on_drop();
                live.handle.abort();
                // Those an ended task left for this node to end: a sub-task
                // holding its context would otherwise keep itself alive.
                live.shared.abort_subtasks();
            }
        }
    }
}
