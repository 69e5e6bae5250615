//! [`Chain`]: a sequential shutdown carried on by the children themselves.
//!
//! In a sequential shutdown each step used to be a ping-pong through the
//! supervisor: a child ends, the supervisor wakes, takes the exit, asks
//! the engine, and stops the next child. Two task switches a child, and
//! the supervisor's whole turn, for a step whose outcome is known in
//! advance when the engine's stop order is fixed (see
//! `Engine::stop_plan`).
//!
//! So the supervisor hands the rest of that order to the children: a
//! chained child that ends cleanly after its stop marks its exit on the
//! board without waking the supervisor, and asks the next child in the
//! order to stop. The last one wakes the supervisor, which then takes all
//! the exits at once, in stop order, and the engine decides each step as
//! before (its stops find their child already asked). Whatever else
//! happens (an exit that is not clean, a message, a timer, a stop that
//! runs out of time) wakes the supervisor, and the supervisor's first
//! act on waking is to break the chain: it stops the child after the
//! chain's last itself, and that stop starts a new chain.
//!
//! Each link records when it ended, which is also when it asked the next
//! child to stop, so the supervisor's report has every child's stop
//! times as they were.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use supervisor_policy::{ChildKey, Generation};
use supervisor_spec::{Shutdown, ShutdownOrder};
use tokio::time::Instant;

use super::{KidKind, Node, Timer};
use crate::context::Shared;

/// The rest of a sequential shutdown's stop order, carried on by the
/// children (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// Whether a chain runs: checked before taking the lock.
    on: AtomicBool,
    state: Mutex<ChainState>,
}

#[derive(Debug, Default)]
struct ChainState {
    /// The slot of the child asked to stop last (the one whose end moves
    /// the chain on), and the generation of its incarnation asked: an
    /// older one, detached and ending late, does not move it on.
    current: Option<(usize, Generation)>,
    /// The children still to stop, the next one last.
    rest: Vec<Link>,
    /// When each child that moved the chain on ended: its slot and the
    /// time since the epoch, in stop order.
    ended: Vec<(usize, Duration)>,
}

/// A child still to stop, and how long its stop may take.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) slot: usize,
    pub(crate) shared: Arc<Shared>,
    pub(crate) timeout: Duration,
}

impl Chain {
    /// Starts a chain: `current` (its incarnation `generation`) was just
    /// asked to stop; `rest` follow, the next one last.
    pub(crate) fn start(&self, current: usize, generation: Generation, rest: Vec<Link>) {
        let mut state = self.state.lock();
        state.current = Some((current, generation));
        state.ended.clear();
        state.ended.reserve(rest.len());
        state.rest = rest;
        self.on.store(true, Ordering::Release);
    }

    /// Whether a chain may be running (it may end any moment).
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// The incarnation `generation` of the child in `slot` ended cleanly
    /// after its stop: if it is the chain's current one, the next child
    /// is asked to stop and `true` returned (the supervisor need not
    /// wake). Otherwise `false`: not the current child (or an older,
    /// detached incarnation of it), the order done, or the next child
    /// ended already (which ends the chain).
    pub(crate) fn relay(&self, slot: usize, generation: Generation, epoch: Instant) -> bool {
        let next = {
            let mut state = self.state.lock();
            if !self.on.load(Ordering::Relaxed) || state.current != Some((slot, generation)) {
                return false;
            }
            let now = Instant::now().saturating_duration_since(epoch);
            state.ended.push((slot, now));
            match state.rest.pop() {
                Some(next) => {
                    state.current = Some((next.slot, next.shared.generation));
                    Some((next, now))
                }
                None => {
                    self.on.store(false, Ordering::Release);
                    None
                }
            }
        };
        let Some((next, now)) = next else {
            return false;
        };
        // A child that ended meanwhile (on its own, before its turn) is not
        // asked: the chain ends there, and the supervisor takes over.
        let asked = next
            .shared
            .cancel(crate::StopReason::Shutdown, Some(now + next.timeout));
        if !asked {
            self.on.store(false, Ordering::Release);
        }
        asked
    }

    /// Ends the chain: no child moves it on from here. Returns when each
    /// child that did ended, in stop order.
    pub(crate) fn stop(&self) -> Vec<(usize, Duration)> {
        let mut state = self.state.lock();
        self.on.store(false, Ordering::Release);
        drop(std::mem::take(&mut state.rest));
        std::mem::take(&mut state.ended)
    }
}

/// How long a chain may run before the supervisor breaks it, when
/// someone listens to events: they hear of the chain's stops only then
/// (dated as they happened). A sequential stop of 10,000 idle children
/// takes about 10 ms here.
const MAX_EVENT_LAG: Duration = Duration::from_millis(20);

/// The node's side of its shutdown's chain.
#[derive(Debug, Default)]
pub(crate) struct ChainRun {
    /// A chain was started in this shutdown (after the supervisor broke
    /// one, the next stop it makes itself starts another).
    started: bool,
    /// It may still run: the supervisor breaks it when it next wakes.
    running: bool,
    /// When each child that moved it on ended, in stop order, until the
    /// supervisor took that child's exit.
    ends: VecDeque<(usize, Duration)>,
    /// When the last of those ended, taken in: the time the next child in
    /// the order was asked to stop.
    from: Option<Duration>,
}

impl ChainRun {
    pub(crate) fn is_running(&self) -> bool {
        self.running
    }
}

impl Node {
    /// Hands the rest of a sequential shutdown to the children, right
    /// after `key` (a worker) was asked to stop for it, when the engine's
    /// order is fixed. The chain takes the children in that order up to
    /// the first it cannot carry on: a supervisor, one already stopping,
    /// one without a graceful timeout, or one queued for a stop for
    /// another reason than the shutdown. With event listeners, the
    /// supervisor breaks it after `MAX_EVENT_LAG` at most. Once it broke a
    /// chain, the next stop it makes itself starts a new one.
    pub(crate) fn start_chain(&mut self, key: ChildKey, generation: Generation) {
        let Some(state) = self.shutdown.as_ref() else {
            return;
        };
        if state.chain.running
            || !self
                .kid(key)
                .is_some_and(|k| matches!(k.kind, KidKind::Worker(_)))
            || state.abort_all
            || self.header.shutdown_order != ShutdownOrder::Sequential
        {
            return;
        }
        let Some(plan) = self.engine.stop_plan() else {
            return;
        };
        let mut rest = Vec::with_capacity(plan.len());
        let mut before = key.index();
        for (next, reason) in plan {
            // The chain asks for a stop for shutdown; a child queued for
            // another reason (a restart in progress) is told that one.
            if reason != supervisor_policy::StopReason::Shutdown {
                break;
            }
            // Its exits are taken in stop order by slot, the highest
            // first (see `order_chain_exits`): children added at run time
            // may not follow that.
            if next.index() >= before {
                break;
            }
            before = next.index();
            let Some(kid) = self.kid(next) else { break };
            let Shutdown::Graceful { timeout, .. } = self.policy(kid).shutdown else {
                break;
            };
            let Some(live) = kid.live.as_ref() else { break };
            if !matches!(kid.kind, KidKind::Worker(_))
                || live.stopping().is_some()
                || live.shared.is_cancelled()
            {
                break;
            }
            rest.push(Link {
                slot: next.index(),
                shared: live.shared.clone(),
                timeout,
            });
        }
        let Some(shortest) = rest.iter().map(|l| l.timeout).min() else {
            return;
        };
        // Listeners hear of the chain's stops when the supervisor wakes
        // (dated as they happened): at most this late.
        let wake = if self.bus.is_active() {
            shortest.min(MAX_EVENT_LAG)
        } else {
            shortest
        };
        // Popped from the back: the next child last.
        rest.reverse();
        if let Some(state) = self.shutdown.as_mut() {
            state.chain.started = true;
            state.chain.running = true;
        }
        self.siblings.chain.start(key.index(), generation, rest);
        // No link's timeout can run out before this: each runs from its
        // stop, which is now or later. Woken then, the supervisor breaks
        // the chain and arms the timeout of the child stopping then.
        self.timer_after(wake, Timer::Chain);
    }

    /// Breaks the chain, if one runs (the supervisor woke: it makes the
    /// next stop itself), and takes in when its links ended.
    /// Whether one ran: the exits it marked on the board are then to be
    /// taken, though they did not wake the supervisor.
    pub(crate) fn break_chain(&mut self) -> bool {
        let Some(state) = self.shutdown.as_mut() else {
            return false;
        };
        if !state.chain.running {
            return false;
        }
        state.chain.running = false;
        let ends = self.siblings.chain.stop();
        state.chain.ends.extend(ends);
        true
    }

    /// When the child in `slot` ended, if it moved the chain on (its exits
    /// are taken in stop order, so it is the first not taken yet).
    pub(crate) fn chain_end(&mut self, slot: usize) -> Option<Duration> {
        let chain = &mut self.shutdown.as_mut()?.chain;
        let &(first, end) = chain.ends.front()?;
        if first != slot {
            return None;
        }
        chain.ends.pop_front();
        chain.from = Some(end);
        Some(end)
    }

    /// When the chain asked the next child to stop: when the child before
    /// it in the order ended.
    pub(crate) fn chain_from(&self) -> Option<Duration> {
        self.shutdown.as_ref()?.chain.from
    }

    /// Puts a batch of clean exits (in slot order) in the order they
    /// happened, once a chain has run in this shutdown: first those of
    /// children that ended on their own, in slot order as usual (each
    /// ended before the chain reached it, or it would have been asked),
    /// then those of children asked to stop, in stop order (the chain's
    /// order, the reverse of the start order: see `Engine::stop_plan`).
    pub(crate) fn order_chain_exits(&self, exits: &mut [(ChildKey, Generation)]) {
        let asked = |key: ChildKey| {
            self.kid(key)
                .and_then(|k| k.live.as_ref())
                .is_some_and(|l| l.shared.is_cancelled())
        };
        // A stable sort: the others keep their slot order.
        exits.sort_by_cached_key(|&(key, _)| {
            if asked(key) {
                (true, std::cmp::Reverse(key.index()))
            } else {
                (false, std::cmp::Reverse(0))
            }
        });
    }

    /// Whether a chain runs, as far as the supervisor knows (until
    /// `break_chain`).
    pub(crate) fn chain_running(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| s.chain.running)
    }

    /// Whether exits are to be put in order (see `order_chain_exits`).
    pub(crate) fn chain_started(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| s.chain.started)
    }
}
