//! [`TaskContext`] and [`BlockingContext`]: what each incarnation of a
//! worker gets, and the shared state behind them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use parking_lot::{Condvar, Mutex};
use supervisor_policy::{ChildKey, Generation};
use supervisor_spec::{ChildId, ChildPath};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

use crate::StopReason;
use crate::node::board::ReadyBoard;
use crate::node::chain::Chain;
use crate::node::inbox::Inbox;
use crate::node::{Msg, Output};

/// State shared between one incarnation and its supervisor.
///
/// # Invariants
///
/// `CANCELLED` is set once, before the waiters are woken; the stop
/// request (`stop_deadline`, and the reason in `rare` unless it is
/// `Shutdown`) is written before it, so a task that sees the cancellation
/// also sees why. The first stop request is the one kept.
///
/// Waiting for a stop (see [`wait`](Self::wait)): one waiter at a time
/// holds `WAITER` and waits on `waker`; any other waiter at the same time
/// waits on the `Notify` in `rare`, made on first use, which `HAS_NOTIFY`
/// says exists. On either path, a waiter polled after its flag is set is
/// done, whether the wake-up came yet or not: a supervisor's loop that
/// sees the flag change polls its waiters once for it (see `Node::run`).
#[derive(Debug)]
pub(crate) struct Shared {
    /// What it shares with its siblings: the supervisor's path, the
    /// tree's epoch, and where to report.
    siblings: Arc<Siblings>,
    pub(crate) id: ChildId,
    /// Its key in the parent's engine (`None` for the root).
    key: Option<ChildKey>,
    pub(crate) generation: Generation,
    pub(crate) attempt: u32,
    /// The flags below.
    flags: AtomicU16,
    /// When the stop request says the task must be done, in nanoseconds
    /// since `epoch` (`NO_DEADLINE`: none); kept here rather than in
    /// `rare`, so stopping a child for shutdown allocates nothing.
    stop_deadline: AtomicU64,
    /// The waker of the waiter that holds `WAITER`.
    waker: AtomicWaker,
    /// What few incarnations need, boxed on first use.
    rare: Mutex<Option<Box<Rare>>>,
    /// Nanoseconds since `epoch` of the last heartbeat (whole milliseconds
    /// would date it up to 1 ms early, and a deadline with it).
    heartbeat: AtomicU64,
    /// Wakes blocking workers waiting in `BlockingContext::wait_cancelled`.
    blocking: Option<Box<(Mutex<()>, Condvar)>>,
}

/// What the incarnations of one supervisor's children have in common, kept
/// once per supervisor rather than once per incarnation: a child's path is
/// built from its parent's when asked for, not stored.
#[derive(Debug)]
pub(crate) struct Siblings {
    /// The supervisor's path; `None` for the root's own incarnation.
    pub(crate) parent: Option<ChildPath>,
    /// The tree's epoch: deadlines and heartbeats are kept relative to it.
    pub(crate) epoch: Instant,
    pub(crate) hook: ReadyHook,
    /// Where workers mark their first readiness and clean exits (see
    /// `ReadyBoard`); shared with the supervisor's `Inbox`.
    pub(crate) board: Arc<ReadyBoard>,
    /// The rest of a sequential shutdown, when the children carry it on
    /// (see `Chain`).
    pub(crate) chain: Chain,
}

/// Asked to stop.
const CANCELLED: u16 = 1;
/// The supervisor gave up waiting and aborts (nested supervisors abort
/// their own children at once when they see it).
const ABORTED: u16 = 1 << 1;
/// Set (under the `rare` lock) once the incarnation ended: nothing can be
/// spawned into a dead incarnation.
const CLOSED: u16 = 1 << 2;
const READY: u16 = 1 << 3;
/// For supervisors: whether its children are all ready right now.
const ROLLED_UP: u16 = 1 << 4;
/// The stop reason is in `rare` (without it, the reason is `Shutdown`).
const REASON_IN_RARE: u16 = 1 << 5;
/// A waiter for the stop waits on `waker`.
const WAITER: u16 = 1 << 6;
/// `rare` holds a `Notify` that other waiters wait on.
const HAS_NOTIFY: u16 = 1 << 7;
/// The task ended with `Ok(())` and no sub-tasks left, and its board slot
/// is marked: the supervisor learns the exit from the board, without a
/// message (see `report_exit`).
const CLEAN_EXIT: u16 = 1 << 8;

/// `stop_deadline` before any stop request.
const UNASKED: u64 = u64::MAX;
/// `stop_deadline` of a stop request without a deadline.
const NO_DEADLINE: u64 = u64::MAX - 1;
/// Set when the incarnation reports its end, however it ended (see
/// `report_exit`): a stop request that finds it set came too late.
const ENDED: u16 = 1 << 9;

/// The parts of an incarnation's state that most incarnations never use,
/// kept out of line so that an idle child costs less.
#[derive(Debug, Default)]
struct Rare {
    /// Why it must stop, once asked, unless the reason is `Shutdown`.
    stop: Option<StopReason>,
    /// Sub-tasks spawned through the context, until the incarnation ends
    /// and its supervisor takes those left (see `Shared::take_subtasks`).
    subtasks: Option<JoinSet<()>>,
    /// The message of a panic while the task's future was dropped, as it
    /// was aborted: parked here for the supervisor to report.
    panic: Option<String>,
    /// Wakes the waiters for the stop beyond the first (sub-tasks, a
    /// nested supervisor's loop): cloned by each, so that none holds the
    /// lock while it waits.
    notify: Option<Arc<Notify>>,
}

/// How a task's future ended: its result, or the message of its panic.
pub(crate) type Ended = Result<crate::node::WorkerResult, String>;

/// Where readiness and exits are reported: the parent's loop, or the
/// tree's owner.
#[derive(Debug)]
pub(crate) enum ReadyHook {
    Parent(Inbox),
    /// Counts the times the root became ready, so `start` sees a tree that
    /// was ready even if it went down again before `start` looked.
    Root(tokio::sync::watch::Sender<u64>),
}

impl Shared {
    pub(crate) fn new(
        siblings: Arc<Siblings>,
        id: ChildId,
        key: Option<ChildKey>,
        generation: Generation,
        attempt: u32,
        since_epoch: Duration,
        blocking: bool,
    ) -> Self {
        // Started counts as a heartbeat. The caller knows the time since
        // the epoch already: working it out from an `Instant` again cost a
        // start about 55 instructions.
        let heartbeat = crate::node::nanos(since_epoch);
        Self {
            siblings,
            id,
            key,
            generation,
            attempt,
            flags: AtomicU16::new(0),
            stop_deadline: AtomicU64::new(UNASKED),
            waker: AtomicWaker::new(),
            rare: Mutex::new(None),
            heartbeat: AtomicU64::new(heartbeat),
            blocking: blocking.then(|| Box::new((Mutex::new(()), Condvar::new()))),
        }
    }

    /// A tree's root incarnation: no parent loop; its readiness counts in
    /// `ready`, for `start` (see `ReadyHook::Root`).
    pub(crate) fn root(
        id: ChildId,
        epoch: Instant,
        ready: tokio::sync::watch::Sender<u64>,
    ) -> Arc<Self> {
        let siblings = Arc::new(Siblings {
            parent: None,
            epoch,
            hook: ReadyHook::Root(ready),
            board: Arc::default(),
            chain: Chain::default(),
        });
        Arc::new(Self::new(
            siblings,
            id,
            None,
            Generation(0),
            0,
            Duration::ZERO,
            false,
        ))
    }

    /// The child's path: its parent's with its id appended (two reference
    /// counts, no allocation: the parent's path is flat).
    pub(crate) fn path(&self) -> ChildPath {
        match &self.siblings.parent {
            Some(parent) => parent.join(&self.id),
            None => ChildPath::root(self.id.clone()),
        }
    }

    fn epoch(&self) -> Instant {
        self.siblings.epoch
    }

    /// The parent's inbox and this child's key there (`None` for the root).
    fn parent(&self) -> Option<(&Inbox, ChildKey)> {
        match (&self.siblings.hook, self.key) {
            (ReadyHook::Parent(tx), Some(key)) => Some((tx, key)),
            _ => None,
        }
    }

    /// Asks the incarnation to stop, for `reason`, by `deadline` (the time
    /// since the tree's epoch). The first request is the one kept, even
    /// when two are made at once (a shutdown's chain and its supervisor):
    /// `stop_deadline` decides which. An incarnation that reported its end
    /// is not asked. Returns whether this call asked it.
    pub(crate) fn cancel(&self, reason: StopReason, deadline: Option<Duration>) -> bool {
        let deadline = deadline.map_or(NO_DEADLINE, |d| crate::node::nanos(d).min(NO_DEADLINE - 1));
        if self
            .stop_deadline
            .compare_exchange(UNASKED, deadline, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let mut flags = CANCELLED;
        if !matches!(reason, StopReason::Shutdown) {
            self.rare.lock().get_or_insert_default().stop = Some(reason);
            flags |= REASON_IN_RARE;
        }
        // Not on an incarnation that reported its end already: it was not
        // asked to stop (a chain that reached it late leaves it be).
        let mut before = self.flags.load(Ordering::Acquire);
        loop {
            if before & ENDED != 0 {
                return false;
            }
            match self.flags.compare_exchange_weak(
                before,
                before | flags,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => before = now,
            }
        }
        self.wake_waiters(before);
        self.wake_thread();
        true
    }

    /// Asks for a stop even if the incarnation reported its end already:
    /// for a supervisor dropped with its runtime. A blocking worker's
    /// thread outlives the task that reports for it, which the runtime
    /// may drop first (reporting `Aborted`), and cannot be aborted: only
    /// this tells it to stop.
    pub(crate) fn cancel_on_drop(&self) {
        let _ = self.stop_deadline.compare_exchange(
            UNASKED,
            NO_DEADLINE,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        let before = self.flags.fetch_or(CANCELLED, Ordering::AcqRel);
        if before & CANCELLED == 0 {
            self.wake_waiters(before);
            self.wake_thread();
        }
    }

    /// Wakes a blocking worker waiting in `BlockingContext::wait_cancelled`.
    fn wake_thread(&self) {
        if let Some((lock, cvar)) = self.blocking.as_deref() {
            let _guard = lock.lock();
            cvar.notify_all();
        }
    }

    /// Tells a nested supervisor to abort its children at once.
    pub(crate) fn abort(&self) {
        let before = self.flags.fetch_or(ABORTED, Ordering::AcqRel);
        if !self.is_cancelled() {
            let _ = self.cancel(StopReason::Shutdown, None);
        } else {
            self.wake_waiters(before);
        }
    }

    /// Wakes whoever waits for a stop, after a flag was set: the flags
    /// read as `before` by that change say whether a `Notify` was made
    /// then. One made after it has its waiter check the flag after (see
    /// `wait`), so it needs no wake.
    fn wake_waiters(&self, before: u16) {
        self.waker.wake();
        if before & HAS_NOTIFY != 0 {
            let notify = self.rare.lock().as_ref().and_then(|r| r.notify.clone());
            if let Some(notify) = notify {
                notify.notify_waiters();
            }
        }
    }

    fn has(&self, flag: u16) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    /// Sets or clears `flag`; whether it was set before.
    fn set(&self, flag: u16, on: bool) -> bool {
        let old = if on {
            self.flags.fetch_or(flag, Ordering::AcqRel)
        } else {
            self.flags.fetch_and(!flag, Ordering::AcqRel)
        };
        old & flag != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.has(CANCELLED)
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.has(ABORTED)
    }

    /// Waits until cancelled (or aborted, with `abort`).
    ///
    /// The first waiter (a task's own `cancelled()`, the common and the
    /// hot case) registers its waker in `waker`: no lock and no list, so a
    /// loop that asks for a new `cancelled()` each turn costs a few atomic
    /// operations a turn. A waiter that comes while another waits takes
    /// the `Notify` in `rare`.
    pub(crate) async fn wait(&self, abort: bool) {
        let flag = if abort { ABORTED } else { CANCELLED };
        if self.has(flag) {
            return;
        }
        if self.flags.fetch_or(WAITER, Ordering::AcqRel) & WAITER == 0 {
            let _held = HeldWaker(self);
            // Registered before the flag is read, and the flag set before
            // the waker is woken: one of the two sees the other.
            return std::future::poll_fn(|cx| {
                self.waker.register(cx.waker());
                if self.has(flag) {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        let notify = {
            let mut rare = self.rare.lock();
            let rare = rare.get_or_insert_default();
            let notify = rare.notify.get_or_insert_default().clone();
            self.flags.fetch_or(HAS_NOTIFY, Ordering::AcqRel);
            notify
        };
        // Made before the flag is read: a `Notified` is woken by any
        // `notify_waiters` after it was made, polled yet or not. Boxed:
        // few waiters come here, and every task's `cancelled()` would
        // carry its size (see `task::tests`).
        let mut notified = Box::pin(notify.notified());
        std::future::poll_fn(|cx| {
            loop {
                // Read on every poll, not only after a notification: the
                // flag is set before the wake-up goes out, and a poll in
                // between must see it (see the type's invariants).
                if self.has(flag) {
                    return std::task::Poll::Ready(());
                }
                if notified.as_mut().poll(cx).is_pending() {
                    return std::task::Poll::Pending;
                }
                notified.set(notify.notified());
            }
        })
        .await;
    }

    /// Marks the incarnation ready; tells the supervisor the first time.
    pub(crate) fn set_ready(&self) {
        // Not once the incarnation ended (a sub-task it left saying so
        // before it is aborted): its readiness comes before its close, or
        // not at all, else dependents would start on a dead incarnation.
        let mut flags = self.flags.load(Ordering::Acquire);
        loop {
            if flags & (READY | CLOSED) != 0 {
                return;
            }
            match self.flags.compare_exchange_weak(
                flags,
                flags | READY,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => flags = now,
            }
        }
        self.tell_ready();
    }

    /// Tells the supervisor (or the tree's owner) that the ready flag is set.
    pub(crate) fn tell_ready(&self) {
        match (&self.siblings.hook, self.key) {
            (ReadyHook::Parent(tx), Some(child)) => {
                // A bit on the board, or (for a child added after its
                // supervisor started, beyond the board) a message.
                if !self.siblings.board.mark(child.index()) {
                    let _ = tx.send(Msg::Ready {
                        child,
                        generation: self.generation,
                    });
                }
            }
            (ReadyHook::Parent(_), None) => {}
            (ReadyHook::Root(tx), _) => tx.send_modify(|n| *n += 1),
        }
    }

    /// Sets the ready flag without telling the supervisor: for an
    /// incarnation whose first poll ended it. Its exit is reported at once
    /// (sub-tasks it left are ended by the supervisor after that), and the
    /// supervisor reads the flag before it handles the exit
    /// (`Node::catch_up_ready`), so the readiness still comes first, and a
    /// child that fails at once does not wake it twice. The exit comes
    /// after the task's future was dropped, so a `Drop` that blocks delays
    /// both.
    pub(crate) fn set_ready_flag(&self) {
        self.set(READY, true);
    }

    /// Records a supervisor's current readiness roll-up and, when it
    /// changed, tells its parent (or the tree's owner).
    pub(crate) fn set_rolled_up(&self, ready: bool) {
        if self.set(ROLLED_UP, ready) == ready {
            return;
        }
        self.set(READY, ready);
        match (&self.siblings.hook, self.key) {
            (ReadyHook::Parent(tx), Some(child)) => {
                let generation = self.generation;
                let _ = tx.send(if ready {
                    Msg::Ready { child, generation }
                } else {
                    Msg::Unready { child, generation }
                });
            }
            (ReadyHook::Parent(_), None) => {}
            (ReadyHook::Root(tx), _) => {
                // Only `start` waits on it, and only the first time counts
                // after that: skip the send once nobody can read it.
                if ready && (*tx.borrow() == 0 || tx.receiver_count() > 0) {
                    tx.send_modify(|n| *n += 1);
                }
            }
        }
    }

    /// Tells the supervisor that this incarnation's task ended, with what it
    /// returned (the root has no parent loop to tell: its owner joins it).
    ///
    /// The common end, `Ok(())` with no sub-tasks left, needs no data: it
    /// is a flag and a mark on the board, which wakes the supervisor once
    /// for a whole batch of them (a shutdown of many children), where a
    /// message each cost a send, a receive and a wake-up. The supervisor
    /// reads the flag of the live incarnation when it takes the slot (see
    /// `Node::take_slot`), after its readiness, so a flag left by an
    /// incarnation it no longer waits for is never read.
    pub(crate) fn report_exit(&self, output: Output) {
        let Some((tx, child)) = self.parent() else {
            return;
        };
        let board = &self.siblings.board;
        if matches!(output, Output::Worker(Ok(()), 0)) && board.has_slot(child.index()) {
            let before = self.flags.fetch_or(CLEAN_EXIT | ENDED, Ordering::AcqRel);
            let chain = &self.siblings.chain;
            if before & CANCELLED != 0 && chain.is_on() {
                // Marked first: whatever wakes the supervisor next finds it.
                board.mark_quietly(child.index());
                if !chain.relay(child.index(), self.generation, self.siblings.epoch) {
                    board.wake();
                }
                return;
            }
            board.mark(child.index());
            return;
        }
        self.flags.fetch_or(ENDED, Ordering::AcqRel);
        let _ = tx.send(Msg::Exit {
            child,
            generation: self.generation,
            output,
        });
    }

    /// Whether the incarnation reported its end, however it ended: its
    /// exit is on its way to the supervisor (on the board or in a
    /// message), and a stop asked now would not be seen.
    pub(crate) fn has_ended(&self) -> bool {
        self.has(ENDED)
    }

    /// Whether the task ended cleanly and said so on the board.
    pub(crate) fn has_clean_exit(&self) -> bool {
        self.has(CLEAN_EXIT)
    }

    /// Whether this root was ready at least once.
    pub(crate) fn was_ever_ready(&self) -> bool {
        match &self.siblings.hook {
            ReadyHook::Root(tx) => *tx.borrow() > 0,
            ReadyHook::Parent(_) => self.has(READY),
        }
    }

    /// Whether the incarnation said it is ready (for a supervisor: whether
    /// its children are all ready right now).
    pub(crate) fn is_ready(&self) -> bool {
        self.has(READY)
    }

    pub(crate) fn is_rolled_up_ready(&self) -> bool {
        self.has(ROLLED_UP)
    }

    pub(crate) fn heartbeat(&self) {
        self.heartbeat
            .store(nanos_since(self.epoch()), Ordering::Relaxed);
    }

    /// When the last heartbeat was.
    pub(crate) fn last_heartbeat(&self) -> Instant {
        self.epoch() + Duration::from_nanos(self.heartbeat.load(Ordering::Relaxed))
    }

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> Option<AbortHandle> {
        let mut rare = self.rare.lock();
        if self.has(CLOSED) {
            return None;
        }
        let set = rare
            .get_or_insert_default()
            .subtasks
            .get_or_insert_default();
        Some(set.spawn(fut.in_current_span()))
    }

    /// Ends the incarnation: closes it to new sub-tasks, and leaves those
    /// still running for its supervisor to abort and wait for (see
    /// [`take_subtasks`](Self::take_subtasks)). Returns how many there are.
    pub(crate) fn close(&self) -> usize {
        let mut rare = self.rare.lock();
        self.set(CLOSED, true);
        let Some(r) = rare.as_deref_mut() else {
            return 0;
        };
        r.subtasks = r.subtasks.take().and_then(still_running);
        r.subtasks.as_ref().map_or(0, JoinSet::len)
    }

    /// Parks the message of a panic while the task's future was dropped.
    pub(crate) fn park_panic(&self, message: String) {
        self.rare.lock().get_or_insert_default().panic = Some(message);
    }

    /// Takes back the parked panic.
    pub(crate) fn take_panic(&self) -> Option<String> {
        self.rare.lock().as_mut().and_then(|r| r.panic.take())
    }

    /// Closes the incarnation to new sub-tasks (if it was aborted, it did
    /// not close itself) and hands over those still running, for the
    /// supervisor to abort and wait for.
    pub(crate) fn take_subtasks(&self) -> Option<JoinSet<()>> {
        let mut rare = self.rare.lock();
        self.set(CLOSED, true);
        rare.as_mut()?.subtasks.take().and_then(still_running)
    }

    /// Aborts whatever sub-tasks are left without waiting (the incarnation
    /// is being detached: it did not end after its abort wait). Returns how
    /// many there were.
    pub(crate) fn abort_subtasks(&self) -> usize {
        // Dropping the set aborts every task in it.
        self.take_subtasks().map_or(0, |set| set.len())
    }

    fn stop_reason(&self) -> Option<StopReason> {
        let flags = self.flags.load(Ordering::Acquire);
        if flags & CANCELLED == 0 {
            return None;
        }
        if flags & REASON_IN_RARE == 0 {
            return Some(StopReason::Shutdown);
        }
        let rare = self.rare.lock();
        rare.as_ref()?.stop.clone()
    }

    fn deadline(&self) -> Option<Instant> {
        if !self.is_cancelled() {
            return None;
        }
        match self.stop_deadline.load(Ordering::Relaxed) {
            NO_DEADLINE | UNASKED => None,
            nanos => Some(self.epoch() + Duration::from_nanos(nanos)),
        }
    }
}

/// Gives up `WAITER` when its waiter is done or dropped.
struct HeldWaker<'a>(&'a Shared);

impl Drop for HeldWaker<'_> {
    fn drop(&mut self) {
        self.0.flags.fetch_and(!WAITER, Ordering::AcqRel);
    }
}

/// Reports the end of an incarnation's task to its supervisor exactly once:
/// with the task's output when it ends, or as [`Output::Aborted`] when the
/// task is dropped before that (aborted, or its runtime shut down).
///
/// Declare it before anything else the task holds, so that it is dropped
/// last and the supervisor never hears of the end before the task's own
/// state is gone.
pub(crate) struct ExitReport {
    shared: Arc<Shared>,
    armed: bool,
}

impl ExitReport {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            armed: true,
        }
    }

    pub(crate) fn send(mut self, output: Output) {
        self.armed = false;
        self.shared.report_exit(output);
    }
}

impl Drop for ExitReport {
    fn drop(&mut self) {
        if self.armed {
            self.shared.report_exit(Output::Aborted);
        }
    }
}

/// Spawns a task of the runtime's own (a thread's waiter, a nested
/// supervisor, a reaper) that reports its end like an incarnation does.
pub(crate) fn spawn_reporting(
    shared: Arc<Shared>,
    fut: impl Future<Output = Output> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let report = ExitReport::new(shared);
    tokio::spawn(async move {
        let report = report;
        // A panic here is the runtime's own (user code in these tasks is
        // caught where it runs): reported as one, not as a stop.
        let output = crate::unwind::caught(fut)
            .await
            .unwrap_or_else(|message| Output::Panicked(message, 0));
        report.send(output);
    })
}

/// The sub-tasks of `set` that have not ended yet, if any.
fn still_running(mut set: JoinSet<()>) -> Option<JoinSet<()>> {
    // A sub-task's panic payload may panic when dropped (see `ended`).
    while let Some(joined) = set.try_join_next() {
        ended(joined);
    }
    (!set.is_empty()).then_some(set)
}

/// Drops what a sub-task's join gave: a sub-task that panicked leaves its
/// payload in the `JoinError`, and a payload whose `Drop` panics must not
/// fail its incarnation's report, or the supervisor reaping it.
pub(crate) fn ended(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        crate::error::drop_quietly(e);
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    crate::node::nanos(Instant::now().saturating_duration_since(epoch))
}

/// What an async worker's incarnation gets: who it is, a way to learn it
/// must stop, and ways to report readiness and liveness.
///
/// Cheap to clone; every clone refers to the same incarnation.
///
/// # Examples
///
/// ```
/// use supervisor_runtime::TaskContext;
///
/// async fn worker(ctx: TaskContext) -> Result<(), std::io::Error> {
///     // ... connect, warm up ...
///     ctx.ready();
///     loop {
///         tokio::select! {
///             _ = ctx.cancelled() => return Ok(()),
///             _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => ctx.heartbeat(),
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub(crate) shared: Arc<Shared>,
}

impl TaskContext {
    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.shared.id
    }

    /// The child's path in the tree (`root/jobs/ingest`).
    ///
    /// Built when asked for from the supervisor's path and the child's id
    /// (which it shares: no allocation), so that an idle child does not
    /// keep a copy of it.
    pub fn path(&self) -> ChildPath {
        self.shared.path()
    }

    /// This incarnation's number; a restart gets a higher one.
    pub fn generation(&self) -> Generation {
        self.shared.generation
    }

    /// Restart attempts since the child was last stable (0 on a first start).
    pub fn attempt(&self) -> u32 {
        self.shared.attempt
    }

    /// Completes when the supervisor asks this incarnation to stop. Borrows
    /// the context, so it fits in a `tokio::select!` branch.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing, and a new call
    /// completes at once if the stop was already asked for.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + '_ {
        self.shared.wait(false)
    }

    /// Whether the supervisor asked this incarnation to stop.
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }

    /// Why the supervisor asked this incarnation to stop, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.shared.stop_reason()
    }

    /// When the supervisor stops waiting for a cooperative stop and aborts
    /// the task, once a stop was asked for (`None` for brutal kills and
    /// supervisors allowed infinity).
    pub fn deadline(&self) -> Option<Instant> {
        self.shared.deadline()
    }

    /// Signals that the incarnation is ready (for children with explicit
    /// readiness; harmless otherwise). Idempotent.
    pub fn ready(&self) {
        self.shared.set_ready();
    }

    /// Records that the incarnation is alive, for its liveness deadline.
    /// Costs one relaxed atomic store.
    pub fn heartbeat(&self) {
        self.shared.heartbeat();
    }

    /// Spawns a sub-task owned by this incarnation: when the incarnation
    /// ends (whatever the reason: it returned, failed, panicked or was
    /// aborted), its supervisor aborts the sub-tasks still running and
    /// waits for them before the end counts (its exit event, its restart,
    /// the start of its successor), and the shutdown report counts them.
    /// The wait lasts at most the child's abort wait: a sub-task still
    /// running then (one blocking its thread) is left behind, and the
    /// child is reported as detached. Sub-tasks that should stop
    /// cooperatively can watch [`cancelled`](Self::cancelled) on a clone
    /// of the context.
    ///
    /// Returns `None`, spawning nothing, once the incarnation has ended.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime, like `tokio::spawn`.
    pub fn spawn<F>(&self, fut: F) -> Option<AbortHandle>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shared.spawn(fut)
    }
}

/// What a blocking worker's incarnation gets: the same information as a
/// [`TaskContext`], with synchronous waiting.
#[derive(Debug, Clone)]
pub struct BlockingContext {
    pub(crate) shared: Arc<Shared>,
}

impl BlockingContext {
    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.shared.id
    }

    /// The child's path in the tree, built when asked for (see
    /// [`TaskContext::path`]).
    pub fn path(&self) -> ChildPath {
        self.shared.path()
    }

    /// This incarnation's number.
    pub fn generation(&self) -> Generation {
        self.shared.generation
    }

    /// Restart attempts since the child was last stable.
    pub fn attempt(&self) -> u32 {
        self.shared.attempt
    }

    /// Whether the supervisor asked this incarnation to stop. Check it
    /// between units of work.
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }

    /// Blocks the thread for up to `timeout` or until a stop is asked for;
    /// returns whether it was. Use it instead of `thread::sleep` so a stop
    /// never waits for a sleep to end.
    pub fn wait_cancelled(&self, timeout: Duration) -> bool {
        if let Some((lock, cvar)) = self.shared.blocking.as_deref() {
            let mut guard = lock.lock();
            if !self.is_cancelled() {
                cvar.wait_for(&mut guard, timeout);
            }
        }
        self.is_cancelled()
    }

    /// Why the supervisor asked this incarnation to stop, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.shared.stop_reason()
    }

    /// Signals readiness. Idempotent.
    pub fn ready(&self) {
        self.shared.set_ready();
    }

    /// Records that the incarnation is alive.
    pub fn heartbeat(&self) {
        self.shared.heartbeat();
    }
}

#[cfg(test)]
mod tests;
