//! What every contender shares: the runtime each measurement gets, the
//! idle-child countdown, the failing child (`Victim`), the panic filter,
//! the counting allocator, and readings of CPU time and resident memory.

// The counting allocator needs `unsafe impl GlobalAlloc`; nothing else in
// this crate uses unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::Notify;

/// A boxed, sendable future: what the contenders' object-safe methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a scenario gives back: a value, or why this contender has no value
/// for it (the text goes into the table cell).
pub type Outcome<T> = Result<T, String>;

/// A fresh multi-thread runtime with 2 workers, as the runtime's own bench
/// uses; every measurement gets one of its own.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `fut` as a task on `rt` (as application code would run, not on the
/// thread that blocks) and waits for its output.
pub fn run<T: Send + 'static>(rt: &Runtime, fut: impl Future<Output = T> + Send + 'static) -> T {
    match rt.block_on(rt.spawn(fut)) {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The raw baseline's cancellation: one flag and one `Notify`, as
/// tokio-util's `CancellationToken` without children.
#[derive(Clone, Default)]
pub struct Token(Arc<TokenInner>);

#[derive(Default)]
struct TokenInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Token {
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// As tokio-util's `WaitForCancellationFuture`: a `Notified` is woken
    /// by any `notify_waiters` after it was made, polled yet or not, so it
    /// is made before the flag is read, and joins the `Notify`'s list only
    /// when awaited.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Counts arrivals down to zero and then wakes the one waiter. Every idle
/// child of every contender calls `arrive` first thing, so "all running"
/// means the same for all of them: each child's own code has run.
pub struct Countdown {
    left: AtomicUsize,
    zero: Notify,
}

impl Countdown {
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            left: AtomicUsize::new(n),
            zero: Notify::new(),
        })
    }

    pub fn arrive(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.zero.notify_one();
        }
    }

    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }

    pub async fn wait(&self) {
        if self.left() > 0 {
            self.zero.notified().await;
        }
    }

    /// Waits at most `limit`; on a time-out, says how many never arrived.
    pub async fn wait_for(&self, limit: Duration) -> Outcome<()> {
        match tokio::time::timeout(limit, self.wait()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(format!(
                "{} children not running after {} s",
                self.left(),
                limit.as_secs()
            )),
        }
    }
}

/// The panic message of the victim. The panic hook stays silent for it
/// (and only for it), for every contender alike.
pub const BOOM: &str = "boom";

/// Installs a panic hook that prints nothing for the victim's panics and
/// defers to the default hook for anything else (a bug in this harness).
pub fn silence_victim_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&BOOM) {
            default(info);
        }
    }));
}

/// The child that fails: every incarnation fails at once, except the one
/// that ends a batch of restarts, which waits for the next batch.
///
/// Incarnations are numbered by `starts`; the one numbered `target` signals
/// `done` and waits for `go` (or its stop, or `quit`). A batch of `n`
/// restarts sets `target` `n - 1` past the next number and releases the
/// waiting one.
pub struct Victim {
    pub panic: bool,
    starts: AtomicU64,
    target: AtomicU64,
    done: Notify,
    pub go: Notify,
    /// Cancelled before the tree is shut down, so a contender whose stop
    /// cannot reach the waiting incarnation (ractor's `post_start`) still
    /// ends cleanly.
    pub quit: Token,
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last failure (0 before the first).
    failed_at: AtomicU64,
    /// Whether to record fail-to-next-start latencies.
    record: AtomicBool,
    latencies: Mutex<Vec<u64>>,
}

impl Victim {
    pub fn new(panic: bool) -> Arc<Self> {
        Arc::new(Self {
            panic,
            starts: AtomicU64::new(0),
            target: AtomicU64::new(0),
            done: Notify::new(),
            go: Notify::new(),
            quit: Token::default(),
            epoch: Instant::now(),
            failed_at: AtomicU64::new(0),
            record: AtomicBool::new(false),
            latencies: Mutex::new(Vec::with_capacity(4096)),
        })
    }

    fn nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Called first in each incarnation; whether this one ends the batch
    /// (and must wait for `go` before it fails).
    pub fn on_start(&self) -> bool {
        if self.record.load(Ordering::Relaxed) {
            let failed = self.failed_at.load(Ordering::Acquire);
            if failed != 0 {
                let latency = self.nanos().saturating_sub(failed);
                self.latencies.lock().expect("latencies").push(latency);
            }
        }
        let n = self.starts.fetch_add(1, Ordering::AcqRel);
        if n >= self.target.load(Ordering::Acquire) {
            self.done.notify_one();
            return true;
        }
        false
    }

    /// Fails the incarnation: returns the error, or panics.
    pub fn fail(&self) -> Result<(), std::io::Error> {
        self.failed_at.store(self.nanos().max(1), Ordering::Release);
        if self.panic {
            std::panic::panic_any(BOOM);
        }
        Err(std::io::Error::other(BOOM))
    }

    /// Incarnations started so far.
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Acquire)
    }

    /// Waits for the first incarnation, which ends the empty first batch.
    pub async fn first(&self, limit: Duration) -> Outcome<()> {
        tokio::time::timeout(limit, self.done.notified())
            .await
            .map_err(|_| "the failing child never started".to_owned())
    }

    /// Runs `n` restarts in a row; returns how long they took. Gives up
    /// when no incarnation starts for `stall`: the contender stopped
    /// restarting.
    pub async fn batch(&self, n: u64, stall: Duration) -> Outcome<Duration> {
        let next = self.starts();
        self.target.store(next + n - 1, Ordering::Release);
        let t0 = Instant::now();
        self.go.notify_one();
        loop {
            let before = self.starts();
            if tokio::time::timeout(stall, self.done.notified())
                .await
                .is_ok()
            {
                return Ok(t0.elapsed());
            }
            if self.starts() == before {
                return Err(format!(
                    "stops restarting after {} restarts",
                    self.starts().saturating_sub(1)
                ));
            }
        }
    }

    pub fn set_recording(&self, on: bool) {
        self.record.store(on, Ordering::Relaxed);
    }

    pub fn take_latencies(&self) -> Vec<u64> {
        std::mem::take(&mut *self.latencies.lock().expect("latencies"))
    }
}

/// [`System`], counting the bytes and blocks currently allocated while
/// [`COUNTING`] is set (only in the heap probe's process).
pub struct CountingAlloc;

pub static COUNTING: AtomicBool = AtomicBool::new(false);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

impl CountingAlloc {
    fn add(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            BYTES.fetch_add(size, Ordering::Relaxed);
            BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn sub(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            BYTES.fetch_sub(size, Ordering::Relaxed);
            BLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments;
// the counters do not touch the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Self::sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            Self::sub(layout.size());
            Self::add(new_size);
        }
        p
    }
}

/// Heap bytes and blocks allocated now (while counting).
pub fn heap() -> (u64, u64) {
    (
        BYTES.load(Ordering::Relaxed) as u64,
        BLOCKS.load(Ordering::Relaxed) as u64,
    )
}

/// Anonymous resident memory of this process, in bytes.
pub fn rss_anon() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Nanoseconds this process has spent on a CPU so far, summed over its
/// threads' `schedstat`.
pub fn cpu_nanos() -> u64 {
    let mut nanos = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let sched = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += sched
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    nanos
}
