//! [`Engine`]: the state machine of one supervisor, its bookkeeping, and the
//! settling step that turns states into start and stop actions.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::num::NonZeroU32;

use supervisor_spec::{
    AutoShutdown, ChildSpec, ShutdownOrder, Strategy, SupervisorSpec, ValidatedSpec,
};

use crate::child::{Child, Group, State, Then};
use crate::hash::FxBuildHasher;
use crate::index::IdIndex;
use crate::policy::Policies;
use crate::posset::PosSet;
use crate::window::Window;
use crate::{
    Action, ChildKey, Decision, Explanation, Generation, Input, Rule, SupervisorExit, Time,
};

/// The restart logic of one supervisor, as a deterministic state machine.
///
/// Inputs and the time they happened go in ([`Engine::start`],
/// [`Engine::handle`]); [`Decision`]s come out. The engine owns no clock, no
/// task and no randomness but its seeded per-child generators, so the same
/// seed and inputs always give the same decisions.
///
/// See the [crate documentation](crate) for the model and a worked example.
#[derive(Debug)]
pub struct Engine {
    pub(crate) strategy: Strategy,
    pub(crate) auto_shutdown: AutoShutdown,
    pub(crate) shutdown_order: ShutdownOrder,
    pub(crate) intensity: Window,
    pub(crate) seed: u64,
    /// Slots indexed by [`ChildKey`]; `None` once deleted.
    pub(crate) children: Vec<Option<Child>>,
    /// The distinct policies of the children, by [`Child::policy`].
    pub(crate) policies: Policies,
    /// Keys by id, built on the first lookup (a command, a dependency): a
    /// tree that is only started and stopped never needs it, and building
    /// it for every child cost about 140 instructions and 13 bytes each.
    pub(crate) by_id: std::sync::OnceLock<IdIndex>,
    /// Keys in start order.
    pub(crate) order: Vec<ChildKey>,
    /// Keys of deleted children, given to the next ones added, so that a
    /// pool that adds and deletes children for ever keeps its size.
    /// Everything that outlives a child names its incarnation too (a
    /// generation, unique in the engine), so a reused key is never taken
    /// for the child that had it before.
    pub(crate) free: Vec<ChildKey>,
    /// Whether deleted keys go to `free` (off only in property tests, see
    /// `__fresh_keys_only`).
    pub(crate) reuse_keys: bool,
    pub(crate) next_generation: u64,
    pub(crate) next_group: u32,
    /// Restart groups still waiting for members to stop: group -> members left.
    pub(crate) groups: HashMap<Group, u32, FxBuildHasher>,
    /// Children in `Waiting` that may start (their group, if any, is down),
    /// by start position.
    pub(crate) waiting: PosSet,
    /// Children in `Waiting` whose group still has members stopping, by
    /// group; moved to `waiting` when the group is released, so settling
    /// never scans children that cannot start yet.
    pub(crate) parked: HashMap<Group, Vec<ChildKey>, FxBuildHasher>,
    /// Children in `StopQueued`, by start position.
    pub(crate) stop_queue: PosSet,
    /// Children in `Stopping`.
    pub(crate) stopping: usize,
    /// Children with an incarnation alive.
    pub(crate) alive: usize,
    /// Children running and not ready yet.
    pub(crate) starting: usize,
    /// Non-temporary children that are not satisfied (ready or completed).
    pub(crate) unready: usize,
    pub(crate) deadlines: BinaryHeap<Reverse<(Time, ChildKey)>>,
    /// `settle`'s buffer of the children that may start, kept between calls.
    pub(crate) candidates: Vec<ChildKey>,
    pub(crate) phase: Phase,
    pub(crate) now: Time,
    /// Whether the shortcuts for the usual shutdown are taken (see
    /// `queue_all_for_shutdown` and `take_shutdown_exit`); off only in the
    /// property test that checks they decide as the general paths do.
    pub(crate) shortcuts: bool,
}

/// The largest `settle` buffer kept for the next call (the initial start of
/// a big tree fills one with every child; it is not kept).
const MAX_KEPT_CANDIDATES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Phase {
    /// Created; `start` not called yet.
    Created,
    Running,
    ShuttingDown(SupervisorExit),
    Exited(SupervisorExit),
}

impl Engine {
    /// An engine for the direct children of `spec`. Nested supervisors are
    /// children like any other here; each runs its own engine.
    ///
    /// `seed` seeds the jitter of every child (mixed with the child's id), so
    /// a run can be replayed exactly.
    pub fn new(spec: &ValidatedSpec, seed: u64) -> Self {
        Self::from_spec(spec.spec(), seed)
    }

    fn from_spec(spec: &SupervisorSpec, seed: u64) -> Self {
        let n = spec.children.len();
        let mut engine = Self {
            strategy: spec.strategy,
            auto_shutdown: spec.auto_shutdown,
            shutdown_order: spec.shutdown_order,
            intensity: Window::new(spec.intensity.max_restarts, spec.intensity.period),
            seed,
            children: Vec::with_capacity(n),
            policies: Policies::default(),
            by_id: std::sync::OnceLock::new(),
            order: Vec::with_capacity(n),
            free: Vec::new(),
            reuse_keys: true,
            next_generation: 1,
            next_group: 0,
            groups: HashMap::default(),
            waiting: PosSet::default(),
            parked: HashMap::default(),
            stop_queue: PosSet::default(),
            stopping: 0,
            alive: 0,
            starting: 0,
            unready: 0,
            deadlines: BinaryHeap::new(),
            candidates: Vec::new(),
            phase: Phase::Created,
            now: Time::ZERO,
            shortcuts: true,
        };
        // Every child waits to start from time zero. Set directly rather
        // than through `set_state`, which would do the same bookkeeping one
        // child at a time: `waiting` is built at once below (keys are in
        // start order), and a wait until zero sets no deadline.
        let waiting = State::Waiting {
            not_before: Time::ZERO,
            group: None,
        };
        for child in &spec.children {
            engine.insert(child, waiting);
        }
        for child in spec.children.iter().filter(|c| !c.depends_on.is_empty()) {
            engine.link(child);
        }
        engine.waiting = PosSet::full(engine.order.len());
        engine
    }

    /// Adds a child slot at the end of the start order, in `state` (`Idle`,
    /// or `Waiting` with the caller indexing it in `waiting`): a deleted
    /// child's, if there is one.
    pub(crate) fn insert(&mut self, spec: &ChildSpec, state: State) -> ChildKey {
        let policy = self.policies.intern(spec);
        let child = Child::new(spec, self.order.len() as u32, policy, state);
        if child.restart != supervisor_spec::Restart::Temporary {
            // Idle or waiting, and not ended: not satisfied.
            self.unready += 1;
        }
        let key = match self.free.pop() {
            Some(key) => {
                self.children[key.index()] = Some(child);
                key
            }
            None => {
                self.children.push(Some(child));
                ChildKey(self.children.len() as u32 - 1)
            }
        };
        let children = &self.children;
        if let Some(index) = self.by_id.get_mut() {
            index.insert(spec.id.as_str(), key, |k| id_of(children, k));
        }
        self.order.push(key);
        key
    }

    /// Resolves `depends_on` ids to keys, both ways. Unknown ids are skipped
    /// (validation rejects them before an engine is built).
    pub(crate) fn link(&mut self, spec: &ChildSpec) {
        if spec.depends_on.is_empty() {
            return;
        }
        let Some(key) = self.key(spec.id.as_str()) else {
            return;
        };
        let deps: Vec<ChildKey> = spec
            .depends_on
            .iter()
            .filter_map(|d| self.key(d.as_str()))
            .filter(|&d| d != key)
            .collect();
        for &d in &deps {
            if let Some(dep) = self.slot_mut(d) {
                dep.extras_mut().dependents.push(key);
            }
        }
        if !deps.is_empty()
            && let Some(child) = self.slot_mut(key)
        {
            child.extras_mut().deps = deps;
        }
    }

    /// Starts the children: in declaration order, each once every child it
    /// depends on is ready. Independent children start together.
    pub fn start(&mut self, now: Time) -> Decision {
        let mut d = Decision::default();
        if self.phase != Phase::Created {
            return d;
        }
        self.now = self.now.max(now);
        self.phase = Phase::Running;
        d.explanations.push(Explanation::new(Rule::InitialStart));
        self.settle(&mut d);
        self.clean_deadlines();
        d
    }

    /// Handles one input that happened at `now` and returns what to do.
    ///
    /// Deadlines that are due by `now` (backoff delays, readiness timeouts,
    /// quarantine retries) are handled with every input, right after it, so
    /// a late timer never loses a deadline. Time never goes backwards: an earlier
    /// `now` than already seen is taken as the latest time seen.
    pub fn handle(&mut self, now: Time, input: Input) -> Decision {
        let mut d = Decision::default();
        self.handle_into(now, input, &mut d);
        d
    }

    /// [`handle`](Self::handle), writing the decision into `d` (cleared
    /// first), so that a caller handling many inputs reuses one decision's
    /// buffers instead of allocating new ones for each input.
    pub fn handle_into(&mut self, now: Time, input: Input, d: &mut Decision) {
        d.clear();
        self.handle_append(now, input, d);
    }

    /// [`handle_into`](Self::handle_into) without clearing `d` first: this
    /// input's actions and explanations are appended to those already in
    /// `d`, so a caller can carry out the actions of several inputs at
    /// once, in the order they were decided. (To also settle once for a
    /// run of inputs, see [`handle_batch`](Self::handle_batch).)
    pub fn handle_append(&mut self, now: Time, input: Input, d: &mut Decision) {
        self.now = self.now.max(now);
        if let Phase::Exited(_) = self.phase {
            if let Input::Command(_) = input {
                self.reject(d, None, "the supervisor has ended");
            }
            return;
        }
        if let Input::Exited {
            child,
            generation,
            exit,
        } = input
            && self.take_shutdown_exit(d, child, generation, exit)
        {
            return;
        }
        self.take(d, input);
        self.after_inputs(d);
    }

    /// The one input of each step of a shutdown: the exit of a child that
    /// was asked to stop for it, outside any restart group, with no
    /// deadline pending. Handled as `take` and `after_inputs` would
    /// (the same state, counts, explanation and next stops), without their
    /// general steps, which cost a sequential shutdown about as much again
    /// as the change itself. Returns false, having changed nothing, for any
    /// other input.
    fn take_shutdown_exit(
        &mut self,
        d: &mut Decision,
        key: ChildKey,
        generation: Generation,
        exit: crate::ExitKind,
    ) -> bool {
        if !self.shortcuts
            || !matches!(self.phase, Phase::ShuttingDown(_))
            || !self.deadlines.is_empty()
        {
            return false;
        }
        let Some(child) = self.children.get_mut(key.index()).and_then(Option::as_mut) else {
            return false;
        };
        match child.state {
            State::Stopping {
                generation: g,
                group: None,
                ..
            } if g == generation => {}
            _ => return false,
        }
        // `on_exit` of a stopping child during shutdown, with `set_state`'s
        // change from stopping to idle.
        child.last_exit = Some(exit);
        child.state = State::Idle;
        self.stopping -= 1;
        self.alive -= 1;
        if child.is_satisfied() && child.restart != supervisor_spec::Restart::Temporary {
            self.unready -= 1;
        }
        d.explanations.push(
            Explanation::new(Rule::ExitDuringShutdown)
                .child(key, Some(generation))
                .exit(exit),
        );
        // `after_inputs`: no deadline to fire or clean, so only settling.
        self.settle(d);
        true
    }

    /// A run of inputs that happened together: the same as
    /// [`handle_append`](Self::handle_append) for each in turn, except that
    /// due deadlines are handled, stops issued and waiting children started
    /// once, after the last input, rather than after each.
    ///
    /// So a deadline due by `now` is void for a child whose readiness or
    /// exit is in the run (as it is for an exit reported at its own
    /// deadline), and the starts and stops the run leads to are decided
    /// together, in start order. A runtime that takes in many inputs at
    /// once (the readiness of a big tree's children, their exits during
    /// shutdown) saves the steps that follow each input, which cost more
    /// than taking in one readiness or one exit.
    pub fn handle_batch(
        &mut self,
        now: Time,
        inputs: impl IntoIterator<Item = Input>,
        d: &mut Decision,
    ) {
        self.now = self.now.max(now);
        let mut taken = false;
        for input in inputs {
            if let Phase::Exited(_) = self.phase {
                if let Input::Command(_) = input {
                    self.reject(d, None, "the supervisor has ended");
                }
                continue;
            }
            self.take(d, input);
            taken = true;
        }
        if taken {
            self.after_inputs(d);
        }
    }

    /// Takes in one input; `after_inputs` must follow.
    fn take(&mut self, d: &mut Decision, input: Input) {
        match input {
            Input::Started { child, generation } => self.on_started(d, child, generation),
            Input::Ready { child, generation } => self.on_ready(d, child, generation),
            Input::Unready { child, generation } => self.on_unready(d, child, generation),
            Input::Exited {
                child,
                generation,
                exit,
            } => self.on_exit(d, child, generation, exit),
            Input::Unhealthy {
                child,
                generation,
                reason,
            } => self.on_unhealthy(d, child, generation, reason),
            Input::Command(command) => self.on_command(d, command),
            Input::Shutdown => {
                if let Phase::Running | Phase::Created = self.phase {
                    d.explanations
                        .push(Explanation::new(Rule::ShutdownRequested));
                    self.begin_shutdown(SupervisorExit::Shutdown);
                }
            }
            Input::Timer => {}
        }
    }

    /// What follows every input, or run of inputs: due deadlines, then
    /// settling (stops whose turn has come, starts that may go ahead).
    fn after_inputs(&mut self, d: &mut Decision) {
        // After the input: an exit reported at its own readiness deadline is
        // the exit it says, and its deadline is void.
        if matches!(self.phase, Phase::Running | Phase::ShuttingDown(_)) {
            self.fire_deadlines(d);
        }
        if self.phase != Phase::Created {
            self.settle(d);
        }
        self.clean_deadlines();
    }

    /// The children queued for a sequential shutdown's stops, in the order
    /// the engine will stop them, when that order is already fixed: each
    /// exit of the child being stopped brings the stop of the next child
    /// of the plan that is still up, and nothing else brings a stop. (A
    /// runtime can then have each child's end stop the next one itself,
    /// and tell the engine after.) Each child comes with the reason its
    /// stop will give: `Shutdown`, or the reason it was queued for before
    /// the shutdown began (a restart in progress, a command).
    ///
    /// `None` unless the supervisor shuts down in sequential order with
    /// exactly one child being stopped (which comes before the plan), and
    /// no child depends on another (dependents stop before their
    /// dependencies, whatever the start order: the order would depend on
    /// which are still up). The property tests check both conditions.
    pub fn stop_plan(&self) -> Option<Vec<(ChildKey, crate::StopReason)>> {
        if !matches!(self.phase, Phase::ShuttingDown(_))
            || self.shutdown_order != ShutdownOrder::Sequential
            || self.stopping != 1
        {
            return None;
        }
        let independent = self
            .children
            .iter()
            .flatten()
            .all(|c| c.deps().is_empty() && c.dependents().is_empty());
        if !independent {
            return None;
        }
        Some(
            self.stop_queue
                .iter_rev()
                .map(|p| self.order[p as usize])
                .filter_map(|key| match self.slot(key)?.state {
                    State::StopQueued { reason, .. } => Some((key, reason)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// Takes the general paths only, never the shortcuts for the usual
    /// shutdown. For tests that check both decide alike; not meant for
    /// use outside this crate's tests.
    #[doc(hidden)]
    pub fn __general_paths_only(&mut self) {
        self.shortcuts = false;
    }

    /// Gives every child added a key never used before, as the engine did
    /// before it reused deleted children's keys: for the property tests
    /// that follow a child by its key over a whole run (a test of its own
    /// checks that reusing keys decides alike). Not meant for use outside
    /// this crate's tests.
    #[doc(hidden)]
    pub fn __fresh_keys_only(&mut self) {
        self.reuse_keys = false;
    }

    /// How many child slots the engine holds (in use or free to reuse).
    /// For tests of memory that must not grow with churn.
    #[doc(hidden)]
    pub fn __slots(&self) -> usize {
        self.children.len()
    }

    /// The earliest time the engine must be woken with [`Input::Timer`], if
    /// any. One timer per supervisor is enough, whatever the number of
    /// children.
    pub fn next_deadline(&self) -> Option<Time> {
        self.deadlines.peek().map(|Reverse((t, _))| *t)
    }

    pub(crate) fn slot(&self, key: ChildKey) -> Option<&Child> {
        self.children.get(key.index()).and_then(Option::as_ref)
    }

    pub(crate) fn slot_mut(&mut self, key: ChildKey) -> Option<&mut Child> {
        self.children.get_mut(key.index()).and_then(Option::as_mut)
    }

    /// Changes a child's state and keeps every index and counter in step.
    /// All state changes go through here but the two every start makes,
    /// waiting to running (`start_child`) and running to ready
    /// (`on_ready`): those keep the same counts and indices by hand, with
    /// the one lookup of the child they already made. (Routed through here,
    /// they cost a start about 100 instructions more.) The property tests
    /// recount every count and index after every input
    /// (`check_counts`).
    pub(crate) fn set_state(&mut self, key: ChildKey, new: State) {
        let Some(child) = self.children.get_mut(key.index()).and_then(Option::as_mut) else {
            return;
        };
        // The three changes every stop makes, by hand: the general path
        // below costs more than they do. Each keeps the same counts and
        // indices (a property test recounts them after every input).
        match (&child.state, &new) {
            // Queued for a stop: no longer ready or starting.
            (State::Running { ready, .. }, State::StopQueued { .. }) => {
                let ready = *ready;
                let counts = child.restart != supervisor_spec::Restart::Temporary;
                let pos = child.pos;
                child.state = new;
                self.stop_queue.insert(pos);
                if !ready {
                    self.starting -= 1;
                } else if counts {
                    self.unready += 1;
                }
                return;
            }
            // Its stop goes out.
            (State::StopQueued { .. }, State::Stopping { .. }) => {
                let pos = child.pos;
                child.state = new;
                self.stop_queue.remove(pos);
                self.stopping += 1;
                return;
            }
            // Stopped and not restarted.
            (State::Stopping { .. }, State::Idle) => {
                child.state = new;
                self.stopping -= 1;
                self.alive -= 1;
                if child.is_satisfied() && child.restart != supervisor_spec::Restart::Temporary {
                    self.unready -= 1;
                }
                return;
            }
            _ => {}
        }
        let pos = child.pos;
        let counts = child.restart != supervisor_spec::Restart::Temporary;
        let was_satisfied = child.is_satisfied();
        let old = std::mem::replace(&mut child.state, new);
        if let State::Running { .. } = new {
            // A new incarnation: whatever the last one did is over.
            child.ended = false;
        }
        let now_satisfied = child.is_satisfied();
        let deadline = child.deadline();
        match old {
            State::Waiting { .. } => {
                self.waiting.remove(pos);
            }
            State::StopQueued { .. } => {
                self.stop_queue.remove(pos);
            }
            State::Stopping { .. } => self.stopping -= 1,
            _ => {}
        }
        match new {
            State::Waiting { group: Some(g), .. } if self.groups.contains_key(&g) => {
                self.parked.entry(g).or_default().push(key);
            }
            State::Waiting { .. } => {
                self.waiting.insert(pos);
            }
            State::StopQueued { .. } => {
                self.stop_queue.insert(pos);
            }
            State::Stopping { .. } => self.stopping += 1,
            _ => {}
        }
        match (old.is_alive(), new.is_alive()) {
            (false, true) => self.alive += 1,
            (true, false) => self.alive -= 1,
            _ => {}
        }
        let starting = |s: &State| matches!(s, State::Running { ready: false, .. });
        match (starting(&old), starting(&new)) {
            (false, true) => self.starting += 1,
            (true, false) => self.starting -= 1,
            _ => {}
        }
        if counts {
            match (was_satisfied, now_satisfied) {
                (true, false) => self.unready += 1,
                (false, true) => self.unready -= 1,
                _ => {}
            }
        }
        if let Some(t) = deadline.filter(|&t| t > self.now) {
            self.deadlines.push(Reverse((t, key)));
        }
    }

    /// Marks an idle child as ended by itself for good (OTP's significant
    /// rule; a normal completion also satisfies dependents and readiness).
    pub(crate) fn end_for_good(&mut self, key: ChildKey) {
        self.set_state(key, State::Idle);
        let Some(child) = self.slot_mut(key) else {
            return;
        };
        let counts = child.restart != supervisor_spec::Restart::Temporary;
        child.ended = true;
        if counts && child.is_satisfied() {
            self.unready -= 1;
        }
    }

    /// Drops deadlines that no longer match their child's state, so
    /// [`next_deadline`](Self::next_deadline) never wakes the runtime for nothing.
    fn clean_deadlines(&mut self) {
        while let Some(&Reverse((t, key))) = self.deadlines.peek() {
            let current = self.slot(key).and_then(Child::deadline);
            if current == Some(t) && t > self.now {
                break;
            }
            self.deadlines.pop();
        }
        // Stale entries under a valid one are not reached above (a child
        // ready long before its readiness deadline, under a sibling's
        // earlier one): drop them all once they outnumber the children.
        // Each child has at most one valid deadline, so the heap stays
        // within about twice the children, at an amortized O(1) a push.
        if self.deadlines.len() > 2 * self.children.len() + 64 {
            let children = &self.children;
            let now = self.now;
            self.deadlines.retain(|&Reverse((t, key))| {
                t > now
                    && children
                        .get(key.index())
                        .and_then(Option::as_ref)
                        .and_then(Child::deadline)
                        == Some(t)
            });
        }
    }

    /// Handles every deadline due by `now`.
    fn fire_deadlines(&mut self, d: &mut Decision) {
        let mut due = Vec::new();
        while let Some(&Reverse((t, key))) = self.deadlines.peek() {
            if t > self.now {
                break;
            }
            self.deadlines.pop();
            // A child's deadline may be in the heap twice (its state came
            // back to the same deadline, or its key was reused): handled
            // once. Equal entries come out one after the other.
            if self.slot(key).and_then(Child::deadline) == Some(t) && due.last() != Some(&key) {
                due.push(key);
            }
        }
        for key in due {
            self.on_deadline(d, key);
        }
    }

    /// Issues the stops whose turn has come, ends the supervisor when
    /// shutdown has stopped everything, and starts every waiting child whose
    /// time, group and dependencies allow.
    pub(crate) fn settle(&mut self, d: &mut Decision) {
        self.issue_stops(d);
        match self.phase {
            Phase::ShuttingDown(exit) => {
                if self.alive == 0 {
                    self.phase = Phase::Exited(exit);
                    d.explanations.push(Explanation::new(Rule::SupervisorExit));
                    d.actions.push(Action::Exit { exit });
                }
                return;
            }
            Phase::Running => {}
            Phase::Created | Phase::Exited(_) => return,
        }
        if self.waiting.is_empty() {
            return;
        }
        // Which children can start does not change while others start (a
        // new incarnation is not ready yet, and starting one puts no child in
        // `Waiting`), so decide for all of them first.
        // A buffer kept between calls: settling runs for every input.
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        for pos in self.waiting.iter() {
            let key = self.order[pos as usize];
            if self.can_start(key) {
                candidates.push(key);
            }
        }
        if candidates.len() > 1 && candidates.len() == self.waiting.len() {
            // All of them (the initial start, a whole group coming back):
            // drop the set at once rather than remove each child from it.
            self.waiting.clear();
        }
        for &key in &candidates {
            self.start_child(d, key);
        }
        if candidates.capacity() <= MAX_KEPT_CANDIDATES {
            self.candidates = candidates;
        }
    }

    fn can_start(&self, key: ChildKey) -> bool {
        let Some(child) = self.slot(key) else {
            return false;
        };
        let State::Waiting { not_before, group } = child.state else {
            return false;
        };
        not_before <= self.now
            && group.is_none_or(|g| !self.groups.contains_key(&g))
            && child
                .deps()
                .iter()
                .all(|&dep| self.slot(dep).is_some_and(Child::is_satisfied))
    }

    fn start_child(&mut self, d: &mut Decision, key: ChildKey) {
        let generation = Generation(self.next_generation);
        self.next_generation += 1;
        let now = self.now;
        let Some(child) = self.slot(key) else {
            return;
        };
        let attempt = child.attempt;
        let ready_deadline = match self.policies.get(child.policy).readiness {
            supervisor_spec::Readiness::Explicit { timeout } => Some(now + timeout),
            _ => None,
        };
        let running = State::Running {
            generation,
            since: now,
            ready: false,
            ready_deadline,
        };
        match self.children.get_mut(key.index()).and_then(Option::as_mut) {
            Some(child) if matches!(child.state, State::Waiting { .. }) => {
                // `set_state` from waiting to running, by hand: every start
                // makes this change, and the general path costs more than
                // the change. Waiting and running-not-ready are both not
                // satisfied, so `unready` stays; `waiting` may have been
                // cleared at once by `settle`, when all of it starts.
                child.state = running;
                child.ended = false;
                let pos = child.pos;
                self.waiting.remove(pos);
                self.alive += 1;
                self.starting += 1;
                if let Some(t) = ready_deadline.filter(|&t| t > now) {
                    self.deadlines.push(Reverse((t, key)));
                }
            }
            _ => self.set_state(key, running),
        }
        d.actions.push(Action::Start {
            child: key,
            generation,
            attempt,
        });
    }

    /// Queues a stop of `key`'s running incarnation. Already stopping
    /// children keep their plan.
    pub(crate) fn queue_stop(
        &mut self,
        key: ChildKey,
        reason: crate::StopReason,
        then: Then,
        group: Option<Group>,
    ) -> bool {
        let Some(child) = self.slot(key) else {
            return false;
        };
        let State::Running { generation, .. } = child.state else {
            return false;
        };
        if let Some(g) = group {
            *self.groups.entry(g).or_insert(0) += 1;
        }
        self.set_state(
            key,
            State::StopQueued {
                generation,
                reason,
                then,
                group,
            },
        );
        true
    }

    /// Sends stop requests whose turn has come: in reverse start order, a
    /// child only after its dependents have ended, and with `sequential`
    /// order only one at a time.
    fn issue_stops(&mut self, d: &mut Decision) {
        loop {
            if self.stop_queue.is_empty() {
                return;
            }
            if self.shutdown_order == ShutdownOrder::Sequential && self.stopping > 0 {
                return;
            }
            let next = self
                .stop_queue
                .iter_rev()
                .map(|p| self.order[p as usize])
                .find(|&k| !self.has_live_dependents(k));
            let Some(key) = next else { return };
            let Some(child) = self.slot(key) else { return };
            let State::StopQueued {
                generation,
                reason,
                then,
                group,
            } = child.state
            else {
                return;
            };
            self.set_state(
                key,
                State::Stopping {
                    generation,
                    then,
                    group,
                },
            );
            d.actions.push(Action::Stop {
                child: key,
                generation,
                reason,
            });
        }
    }

    /// Whether a sibling that depends on `key` is still queued or stopping.
    fn has_live_dependents(&self, key: ChildKey) -> bool {
        self.slot(key).is_some_and(|c| {
            c.dependents().iter().any(|&dep| {
                self.slot(dep).is_some_and(|c| {
                    matches!(c.state, State::StopQueued { .. } | State::Stopping { .. })
                })
            })
        })
    }

    /// Stops every child and ends the supervisor with `exit` once all are down.
    pub(crate) fn begin_shutdown(&mut self, exit: SupervisorExit) {
        self.phase = Phase::ShuttingDown(exit);
        if self.queue_all_for_shutdown() {
            return;
        }
        for key in self.order.clone() {
            let Some(child) = self.slot(key) else {
                continue;
            };
            match child.state {
                State::Running { .. } => {
                    self.queue_stop(key, crate::StopReason::Shutdown, Then::Idle, None);
                }
                State::StopQueued {
                    generation,
                    reason,
                    group,
                    ..
                } => self.set_state(
                    key,
                    State::StopQueued {
                        generation,
                        reason,
                        then: Then::Idle,
                        group,
                    },
                ),
                State::Stopping {
                    generation, group, ..
                } => self.set_state(
                    key,
                    State::Stopping {
                        generation,
                        then: Then::Idle,
                        group,
                    },
                ),
                State::Waiting { .. } | State::Quarantined { .. } | State::Paused => {
                    self.set_state(key, State::Idle);
                }
                State::Idle => {}
            }
        }
    }

    /// The usual shutdown, of a supervisor whose children all run and none
    /// is queued or being stopped: every child queued at once, the queue
    /// filled in one go rather than child by child through `queue_stop`
    /// (which costs a shutdown about 80 instructions a child more). Leaves
    /// everything as it was and returns false in any other case. The
    /// property tests recount every count and index after every input.
    fn queue_all_for_shutdown(&mut self) -> bool {
        let n = self.order.len();
        if !self.shortcuts
            || n == 0
            || self.alive != n
            || self.stopping != 0
            || !self.stop_queue.is_empty()
        {
            return false;
        }
        // `alive` counts running, queued and stopping children: with none
        // of the last two, every child in the start order runs.
        let mut queued = 0;
        for &key in &self.order {
            let Some(child) = self.children.get_mut(key.index()).and_then(Option::as_mut) else {
                continue;
            };
            let State::Running {
                generation, ready, ..
            } = child.state
            else {
                continue;
            };
            child.state = State::StopQueued {
                generation,
                reason: crate::StopReason::Shutdown,
                then: Then::Idle,
                group: None,
            };
            // As `set_state` from running to queued.
            if !ready {
                self.starting -= 1;
            } else if child.restart != supervisor_spec::Restart::Temporary {
                self.unready += 1;
            }
            queued += 1;
        }
        if queued == n {
            self.stop_queue = PosSet::full(n);
        } else {
            // Not reached while the counts are right; if they were not, the
            // queue still holds exactly the children queued above.
            for (pos, &key) in self.order.iter().enumerate() {
                if let Some(State::StopQueued { .. }) = self.slot(key).map(|c| c.state) {
                    self.stop_queue.insert(pos as u32);
                }
            }
        }
        true
    }

    /// The restart group `key` was parked in, if that group still waits
    /// for members to stop. A child taken out of waiting by a command
    /// (paused, quarantined, terminated) and brought back before its group
    /// is down goes back to wait for it, so that it never starts next to
    /// what its group's restart is still stopping (`one_for_all`,
    /// `rest_for_one`, dependents). It leaves the parked list here:
    /// `set_state` parks it again.
    pub(crate) fn rejoin_group(&mut self, key: ChildKey) -> Option<Group> {
        let g = self
            .parked
            .iter()
            .find(|(g, keys)| self.groups.contains_key(*g) && keys.contains(&key))
            .map(|(g, _)| *g)?;
        if let Some(keys) = self.parked.get_mut(&g) {
            keys.retain(|&k| k != key);
        }
        Some(g)
    }

    /// Marks a group member as down; the group is released when none is left.
    pub(crate) fn leave_group(&mut self, group: Option<Group>) {
        let Some(g) = group else { return };
        if let Some(left) = self.groups.get_mut(&g) {
            *left -= 1;
            if *left == 0 {
                self.groups.remove(&g);
                for key in self.parked.remove(&g).unwrap_or_default() {
                    if let Some(c) = self.slot(key)
                        && matches!(c.state, State::Waiting { group: Some(h), .. } if h == g)
                    {
                        self.waiting.insert(c.pos);
                    }
                }
            }
        }
    }

    /// The next group number; they wrap, skipping 0.
    pub(crate) fn new_group(&mut self) -> Group {
        let group = NonZeroU32::new(self.next_group.wrapping_add(1)).unwrap_or(NonZeroU32::MIN);
        self.next_group = group.get();
        group
    }
}

/// The id of the child in slot `key`, for [`IdIndex`].
impl Engine {
    /// The index of keys by id, built now if it was not yet.
    pub(crate) fn by_id(&self) -> &IdIndex {
        self.by_id.get_or_init(|| {
            let children = &self.children;
            let mut index = IdIndex::with_capacity(children.len());
            for (i, child) in children.iter().enumerate() {
                if let Some(child) = child {
                    index.insert(child.id.as_str(), ChildKey(i as u32), |k| {
                        id_of(children, k)
                    });
                }
            }
            index
        })
    }
}

pub(crate) fn id_of(children: &[Option<Child>], key: u32) -> Option<&str> {
    children
        .get(key as usize)
        .and_then(Option::as_ref)
        .map(|c| c.id.as_str())
}

#[cfg(test)]
mod deadline_tests {
    use std::time::Duration;

    use supervisor_spec::{Backoff, ChildSpec, Readiness, SupervisorSpec};

    use crate::{Action, Decision, Engine, ExitKind, Input, Time};

    /// A child ready long before its readiness deadline leaves that
    /// deadline stale; under a sibling's earlier deadline, the stale ones
    /// are not at the top of the heap. A crash-looping child must not pile
    /// them up for as long as its timeout (up to a day).
    #[test]
    fn stale_readiness_deadlines_do_not_pile_up_under_a_valid_one() {
        let worker = |id: &str, timeout: u64| {
            ChildSpec::worker(id)
                .unwrap()
                .with_backoff(Backoff::none())
                .with_readiness(Readiness::explicit(Duration::from_secs(timeout)))
        };
        let spec = SupervisorSpec::new("root")
            .unwrap()
            .with_intensity(10_000, Duration::from_secs(1))
            // Never ready: its deadline, an hour out, stays on top.
            .with_child(worker("slow", 3_600))
            // Ready at once, then fails, for ever.
            .with_child(worker("flaky", 24 * 3_600))
            .validate()
            .unwrap();
        let mut engine = Engine::new(&spec, 1);
        let flaky = engine.key("flaky").unwrap();
        let mut now = Time::ZERO;
        let start_of = |d: &Decision| {
            d.actions.iter().find_map(|a| match *a {
                Action::Start {
                    child, generation, ..
                } if child == flaky => Some(generation),
                _ => None,
            })
        };
        let mut generation = start_of(&engine.start(now)).unwrap();
        for _ in 0..10_000 {
            engine.handle(
                now,
                Input::Ready {
                    child: flaky,
                    generation,
                },
            );
            now = now + Duration::from_millis(10);
            let d = engine.handle(
                now,
                Input::Exited {
                    child: flaky,
                    generation,
                    exit: ExitKind::Failed,
                },
            );
            generation = start_of(&d).expect("restarted");
        }
        assert!(
            engine.deadlines.len() <= 2 * 2 + 64,
            "{} deadlines held for 2 children",
            engine.deadlines.len()
        );
    }
}
