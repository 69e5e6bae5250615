//! What the runtime costs next to doing the same job by hand on raw tokio.
//!
//! Every scenario has a `raw_tokio` baseline in this file: plain
//! `tokio::spawn` with `JoinHandle`s, one shared cancellation token (a flag
//! and a `Notify`, as tokio-util's), and a hand-written restart loop. Each
//! benchmark runs on a fresh multi-thread runtime with 2 workers, and its
//! driver runs as a task on that runtime, as an application's code would.
//!
//! - `start_10k_idle`: starting 10,000 idle children until all run (ours:
//!   until `start().await` returns, which is when every child is ready).
//! - `restart_err`, `restart_panic`: 1,000 restarts in a row of one child
//!   that fails at once (`Backoff::none()`), by an `Err` or a panic.
//! - `shutdown_10k_idle`: stopping 10,000 cooperative children.
//! - `restart_with_siblings`: 1,000 restarts of one child next to 1 or
//!   10,000 idle siblings (one_for_one).
//!
//! After criterion's benchmarks come three reports that are not timings:
//! the fail-to-next-start latency of each restart (p50, p99), the heap kept
//! per idle child, and the CPU burned in the second after shutdown returned.
//! The `count` module runs one scenario under callgrind instead (see
//! `count.sh` next to this directory).
//!
//! The heap is counted by the global allocator of this file, in a fresh
//! child process of this binary (started with `SUPERVISOR_BENCH_PROBE` set)
//! so that nothing allocated before counting began is freed while it counts;
//! in the benchmarks themselves the allocator only checks a flag.

// The counting allocator needs `unsafe impl GlobalAlloc`; nothing else here
// uses unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group};
use parking_lot::Mutex;
use supervisor_runtime::{Supervisor, Task, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, ShutdownOrder, SupervisorSpec, limits};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod count;

use count::{counted_begin, counted_end};

/// Children in the start, shutdown and heap scenarios.
const CHILDREN: usize = 10_000;
/// Restarts measured per iteration of the restart scenarios.
const RESTARTS: u64 = 1_000;
/// Set in a child process of this binary to run one probe instead of the
/// benchmarks.
const PROBE_ENV: &str = "SUPERVISOR_BENCH_PROBE";
/// The number of children of a heap probe (default [`CHILDREN`]).
const PROBE_CHILDREN_ENV: &str = "SUPERVISOR_BENCH_CHILDREN";

/// [`System`], counting the bytes and blocks currently allocated while
/// [`COUNTING`] is set.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
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

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Bytes and blocks allocated now (while counting).
fn heap() -> (usize, usize) {
    (
        BYTES.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
    )
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `fut` as a task on `rt` and waits for its output.
fn run<T: Send + 'static>(rt: &Runtime, fut: impl Future<Output = T> + Send + 'static) -> T {
    rt.block_on(rt.spawn(fut))
        .expect("the benchmark driver panicked")
}

/// The raw baselines' cancellation: one flag and one `Notify`, shared by
/// every task, as tokio-util's `CancellationToken` without children.
#[derive(Clone, Default)]
struct Token(Arc<TokenInner>);

#[derive(Default)]
struct TokenInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Token {
    fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// As tokio-util's `WaitForCancellationFuture`: a `Notified` is woken
    /// by any `notify_waiters` after it was made, polled yet or not, so it
    /// is made before the flag is read, and joins the `Notify`'s list only
    /// when awaited.
    async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Counts arrivals down to zero and then wakes the one waiter.
struct Countdown {
    left: AtomicUsize,
    zero: Notify,
}

impl Countdown {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            left: AtomicUsize::new(n),
            zero: Notify::new(),
        })
    }

    fn arrive(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.zero.notify_one();
        }
    }

    async fn wait(&self) {
        if self.left.load(Ordering::Acquire) > 0 {
            self.zero.notified().await;
        }
    }
}

/// Our idle child: says it is in, then waits to be stopped.
fn ours_idle(entered: Arc<Countdown>) -> impl Task {
    move |ctx: TaskContext| {
        let entered = entered.clone();
        async move {
            entered.arrive();
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    }
}

/// The raw idle task: the same, on the shared token.
async fn raw_idle(token: Token, entered: Arc<Countdown>) {
    entered.arrive();
    token.cancelled().await;
}

fn raw_spawn_idle(n: usize, token: &Token, entered: &Arc<Countdown>) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|_| tokio::spawn(raw_idle(token.clone(), entered.clone())))
        .collect()
}

fn idle_children(n: usize, prefix: &str) -> impl Iterator<Item = ChildSpec> {
    (0..n).map(move |i| {
        ChildSpec::worker(format!("{prefix}{i}").as_str())
            .and_then(|c| c.with_task("idle"))
            .expect("valid ids")
    })
}

/// A tree of `n` idle children, ready to start.
fn idle_tree(n: usize, order: ShutdownOrder, entered: &Arc<Countdown>) -> Supervisor {
    let spec = SupervisorSpec::new("bench")
        .expect("valid id")
        .with_shutdown_order(order)
        .with_children(idle_children(n, "w"));
    Supervisor::new(spec).task("idle", ours_idle(entered.clone()))
}

/// Starts 10,000 idle children of our tree (then stops them); returns how
/// long `start` took.
async fn ours_start() -> Duration {
    let entered = Countdown::new(CHILDREN);
    let tree = idle_tree(CHILDREN, ShutdownOrder::Parallel, &entered);
    let t0 = Instant::now();
    counted_begin();
    let tree = tree.start().await.expect("the tree starts");
    counted_end();
    let took = t0.elapsed();
    entered.wait().await;
    tree.shutdown().await;
    took
}

/// Spawns 10,000 idle raw tasks until each has run (then stops them);
/// returns how long that took.
async fn raw_start() -> Duration {
    let token = Token::default();
    let entered = Countdown::new(CHILDREN);
    let t0 = Instant::now();
    counted_begin();
    let handles = raw_spawn_idle(CHILDREN, &token, &entered);
    entered.wait().await;
    counted_end();
    let took = t0.elapsed();
    token.cancel();
    for h in handles {
        h.await.expect("an idle task ends");
    }
    took
}

/// Benchmarks `scenario` as `name` on a runtime of its own: each of
/// criterion's iterations runs it once and adds up the times it returns.
fn bench_async<F, Fut>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, scenario: F)
where
    F: Fn() -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Duration> + Send,
{
    let rt = runtime();
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            run(&rt, async move {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    took += scenario().await;
                }
                took
            })
        });
    });
}

fn start(c: &mut Criterion) {
    let mut group = c.benchmark_group("start_10k_idle");
    group.sample_size(10);
    bench_async(&mut group, "ours", ours_start);
    bench_async(&mut group, "raw_tokio", raw_start);
    group.finish();
}

/// Stops 10,000 children of our tree; returns how long `shutdown` took.
async fn ours_shutdown(order: ShutdownOrder) -> Duration {
    let entered = Countdown::new(CHILDREN);
    let tree = idle_tree(CHILDREN, order, &entered)
        .start()
        .await
        .expect("the tree starts");
    entered.wait().await;
    let t0 = Instant::now();
    counted_begin();
    let report = tree.shutdown().await;
    counted_end();
    let took = t0.elapsed();
    assert_eq!(report.children.len(), CHILDREN);
    took
}

/// Stops 10,000 raw tasks: all at once through one token, or one at a
/// time in reverse order through a token each (the sequential baseline).
async fn raw_shutdown(sequential: bool) -> Duration {
    let entered = Countdown::new(CHILDREN);
    let tokens: Vec<Token> = if sequential {
        (0..CHILDREN).map(|_| Token::default()).collect()
    } else {
        vec![Token::default()]
    };
    let handles: Vec<JoinHandle<()>> = (0..CHILDREN)
        .map(|i| tokio::spawn(raw_idle(tokens[i % tokens.len()].clone(), entered.clone())))
        .collect();
    entered.wait().await;
    let t0 = Instant::now();
    counted_begin();
    if sequential {
        for (token, h) in tokens.iter().zip(handles).rev() {
            token.cancel();
            h.await.expect("an idle task ends");
        }
    } else {
        tokens[0].cancel();
        for h in handles {
            h.await.expect("an idle task ends");
        }
    }
    counted_end();
    t0.elapsed()
}

fn shutdown(c: &mut Criterion) {
    let mut group = c.benchmark_group("shutdown_10k_idle");
    group.sample_size(10);
    bench_async(&mut group, "ours_parallel", || {
        ours_shutdown(ShutdownOrder::Parallel)
    });
    bench_async(&mut group, "raw_tokio", || raw_shutdown(false));
    bench_async(&mut group, "ours_sequential", || {
        ours_shutdown(ShutdownOrder::Sequential)
    });
    bench_async(&mut group, "raw_tokio_sequential", || raw_shutdown(true));
    group.finish();
}

/// Batches of [`RESTARTS`] restarts: `warm` unmeasured ones, then `iters`
/// measured ones, whose fail-to-next-start latencies are recorded if
/// `record`.
#[derive(Clone, Copy)]
struct Plan {
    warm: u64,
    iters: u64,
    record: bool,
}

impl Plan {
    /// What criterion measures: `iters` batches, no warm-up, no recording.
    fn timed(iters: u64) -> Self {
        Self {
            warm: 0,
            iters,
            record: false,
        }
    }

    /// One warm batch, then one measured batch.
    fn once(record: bool) -> Self {
        Self {
            warm: 1,
            iters: 1,
            record,
        }
    }
}

/// The child that fails: every incarnation fails at once, except the one
/// that ends a batch of restarts, which waits for the next batch.
///
/// Incarnations are numbered by `starts`; the one numbered `target` signals
/// `done` and waits for `go` (or its stop). A batch of `n` restarts sets
/// `target` `n - 1` past the next number and releases the waiting one.
struct Victim {
    panic: bool,
    starts: AtomicU64,
    target: AtomicU64,
    done: Notify,
    go: Notify,
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last failure (0 before the first).
    failed_at: AtomicU64,
    /// Whether to record fail-to-next-start latencies.
    record: AtomicBool,
    latencies: Mutex<Vec<u64>>,
}

impl Victim {
    fn new(panic: bool) -> Arc<Self> {
        Arc::new(Self {
            panic,
            starts: AtomicU64::new(0),
            target: AtomicU64::new(0),
            done: Notify::new(),
            go: Notify::new(),
            epoch: Instant::now(),
            failed_at: AtomicU64::new(0),
            record: AtomicBool::new(false),
            latencies: Mutex::new(Vec::new()),
        })
    }

    fn nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Called first in each incarnation; whether this one ends the batch.
    fn on_start(&self) -> bool {
        if self.record.load(Ordering::Relaxed) {
            let failed = self.failed_at.load(Ordering::Acquire);
            if failed != 0 {
                let latency = self.nanos().saturating_sub(failed);
                self.latencies.lock().push(latency);
            }
        }
        let n = self.starts.fetch_add(1, Ordering::AcqRel);
        if n >= self.target.load(Ordering::Acquire) {
            self.done.notify_one();
            return true;
        }
        false
    }

    fn fail(&self) -> Result<(), std::io::Error> {
        self.failed_at.store(self.nanos().max(1), Ordering::Release);
        if self.panic {
            panic!("boom");
        }
        Err(std::io::Error::other("boom"))
    }

    /// Waits for the first incarnation, which ends the empty first batch.
    async fn first(&self) {
        self.done.notified().await;
    }

    /// After the first incarnation, the batches of `plan`; returns how
    /// long the measured ones took.
    async fn batches(&self, plan: Plan) -> Duration {
        let Plan {
            warm,
            iters,
            record,
        } = plan;
        self.first().await;
        for _ in 0..warm {
            self.batch(RESTARTS).await;
        }
        self.record.store(record, Ordering::Relaxed);
        let mut took = Duration::ZERO;
        counted_begin();
        for _ in 0..iters {
            took += self.batch(RESTARTS).await;
        }
        counted_end();
        took
    }

    /// Runs `n` restarts in a row; returns how long they took.
    async fn batch(&self, n: u64) -> Duration {
        let next = self.starts.load(Ordering::Acquire);
        self.target.store(next + n - 1, Ordering::Release);
        let t0 = Instant::now();
        self.go.notify_one();
        self.done.notified().await;
        t0.elapsed()
    }
}

fn ours_victim(v: Arc<Victim>) -> impl Task {
    move |ctx: TaskContext| {
        let v = v.clone();
        async move {
            if v.on_start() {
                tokio::select! {
                    () = ctx.cancelled() => return Ok(()),
                    () = v.go.notified() => {}
                }
            }
            v.fail()
        }
    }
}

async fn raw_victim(v: Arc<Victim>, token: Token) -> Result<(), std::io::Error> {
    if v.on_start() {
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = v.go.notified() => {}
        }
    }
    v.fail()
}

/// The hand-written restart loop: spawn, wait for the end, restart at once
/// on an error or a panic (keeping its message), stop on a clean end.
async fn raw_supervise(v: Arc<Victim>, token: Token) {
    loop {
        let incarnation = tokio::spawn(raw_victim(v.clone(), token.clone()));
        match incarnation.await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => drop(black_box(e)),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                drop(black_box(message));
            }
            Err(_) => return,
        }
        if token.is_cancelled() {
            return;
        }
    }
}

/// Our tree for the restart scenarios: `siblings` idle children, then the
/// victim, one_for_one, with an intensity that never trips (10,000
/// restarts within 1 ms).
fn restart_tree(v: &Arc<Victim>, siblings: usize, entered: &Arc<Countdown>) -> Supervisor {
    let spec = SupervisorSpec::new("bench")
        .expect("valid id")
        .with_intensity(limits::MAX_RESTARTS, Duration::from_millis(1))
        .with_shutdown_order(ShutdownOrder::Parallel)
        .with_children(idle_children(siblings, "s"))
        .with_child(
            ChildSpec::worker("victim")
                .expect("valid id")
                .with_backoff(Backoff::none()),
        );
    let tree = Supervisor::new(spec).task("victim", ours_victim(v.clone()));
    if siblings > 0 {
        tree.task("idle", ours_idle(entered.clone()))
    } else {
        tree
    }
}

/// Runs the batches of `plan` on one of our trees; returns the time the
/// measured ones took.
async fn ours_restarts(v: Arc<Victim>, siblings: usize, plan: Plan) -> Duration {
    let entered = Countdown::new(siblings);
    let tree = restart_tree(&v, siblings, &entered)
        .start()
        .await
        .expect("the tree starts");
    entered.wait().await;
    let took = v.batches(plan).await;
    tree.shutdown().await;
    took
}

/// The same on raw tokio.
async fn raw_restarts(v: Arc<Victim>, siblings: usize, plan: Plan) -> Duration {
    let token = Token::default();
    let entered = Countdown::new(siblings);
    let idle = raw_spawn_idle(siblings, &token, &entered);
    let supervisor = tokio::spawn(raw_supervise(v.clone(), token.clone()));
    entered.wait().await;
    let took = v.batches(plan).await;
    token.cancel();
    supervisor.await.expect("the restart loop ends");
    for h in idle {
        h.await.expect("an idle task ends");
    }
    took
}

/// Replaces the panic hook with a silent one while alive, so printing
/// 1,000 panic messages does not dominate the panic benchmarks.
struct SilentPanics(Option<PanicHook>);

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

impl SilentPanics {
    fn new() -> Self {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        Self(Some(previous))
    }
}

impl Drop for SilentPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            std::panic::set_hook(previous);
        }
    }
}

/// Benchmarks batches of restarts (ours or raw tokio) next to `siblings`
/// idle children, on a runtime of its own.
fn bench_restarts(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    ours: bool,
    panic: bool,
    siblings: usize,
) {
    let rt = runtime();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let (v, plan) = (Victim::new(panic), Plan::timed(iters));
            if ours {
                run(&rt, ours_restarts(v, siblings, plan))
            } else {
                run(&rt, raw_restarts(v, siblings, plan))
            }
        });
    });
}

fn restart(c: &mut Criterion) {
    for (name, panic) in [("restart_err", false), ("restart_panic", true)] {
        let _silent = panic.then(SilentPanics::new);
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        group.throughput(Throughput::Elements(RESTARTS));
        for (side, ours) in [("ours", true), ("raw_tokio", false)] {
            bench_restarts(
                &mut group,
                BenchmarkId::from_parameter(side),
                ours,
                panic,
                0,
            );
        }
        group.finish();
    }
}

fn restart_with_siblings(c: &mut Criterion) {
    let mut group = c.benchmark_group("restart_with_siblings");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RESTARTS));
    for siblings in [1, CHILDREN] {
        for (name, ours) in [("ours", true), ("raw_tokio", false)] {
            bench_restarts(
                &mut group,
                BenchmarkId::new(name, siblings),
                ours,
                false,
                siblings,
            );
        }
    }
    group.finish();
}

criterion_group!(benches, start, restart, shutdown, restart_with_siblings);

/// The fail-to-next-start latency of each of 1,000 restarts (after 1,000
/// unmeasured ones), from just before the task returns its error (or
/// panics) to the first poll of the next incarnation.
fn restart_latency_report() {
    for (kind, panic) in [("err", false), ("panic", true)] {
        let _silent = panic.then(SilentPanics::new);
        for ours in [true, false] {
            let rt = runtime();
            let v = Victim::new(panic);
            if ours {
                run(&rt, ours_restarts(v.clone(), 0, Plan::once(true)));
            } else {
                run(&rt, raw_restarts(v.clone(), 0, Plan::once(true)));
            }
            let mut l = std::mem::take(&mut *v.latencies.lock());
            l.sort_unstable();
            let at = |q: f64| l[((l.len() - 1) as f64 * q) as usize] as f64 / 1e3;
            let mean = l.iter().sum::<u64>() as f64 / l.len() as f64 / 1e3;
            println!(
                "restart_latency/{kind}/{}: p50 {:.2} µs, p99 {:.2} µs, mean {mean:.2} µs over {} restarts",
                if ours { "ours" } else { "raw_tokio" },
                at(0.5),
                at(0.99),
                l.len(),
            );
        }
    }
}

/// Anonymous resident memory of this process, in bytes.
fn rss_anon() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("an RssAnon line")
        * 1024
}

/// Runs one heap probe in this process (which counts every allocation
/// since `main` began) and exits with the children still running. Prints
/// heap bytes and blocks, and anonymous resident memory, before anything is
/// built, once the tree's spec is built, and once every child waits.
fn heap_probe(kind: &str) -> ! {
    let children = std::env::var(PROBE_CHILDREN_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CHILDREN);
    let rt = runtime();
    // Both workers have run a task before the first reading.
    run(&rt, async {
        let a = tokio::spawn(async {});
        let b = tokio::spawn(async {});
        let _ = (a.await, b.await);
    });
    let reading = || {
        let (bytes, blocks) = heap();
        [bytes as u64, blocks as u64, rss_anon()]
    };
    let before = reading();
    let entered = Countdown::new(children);
    let (built, held) = match kind {
        "heap-ours" => {
            let tree = idle_tree(children, ShutdownOrder::Parallel, &entered);
            let built = reading();
            let tree = run(&rt, async move {
                let tree = tree.start().await.expect("the tree starts");
                entered.wait().await;
                tree
            });
            (built, Box::new(tree) as Box<dyn Send>)
        }
        "heap-raw_tokio" => {
            let token = Token::default();
            let handles = run(&rt, async move {
                let handles = raw_spawn_idle(children, &token, &entered);
                entered.wait().await;
                (token, handles)
            });
            (before, Box::new(handles) as Box<dyn Send>)
        }
        other => panic!("unknown probe {other}"),
    };
    let after = reading();
    for (name, r) in [("before", before), ("built", built), ("after", after)] {
        println!("{name} bytes={} blocks={} rss={}", r[0], r[1], r[2]);
    }
    // Exit with everything still alive: nothing is freed before the end.
    std::mem::forget(held);
    std::process::exit(0)
}

/// Runs each heap probe in a child process and reports the growth per child.
fn heap_report() {
    for kind in ["ours", "raw_tokio"] {
        let exe = std::env::current_exe().expect("this binary's path");
        let out = Command::new(exe)
            .env(PROBE_ENV, format!("heap-{kind}"))
            .env(PROBE_CHILDREN_ENV, CHILDREN.to_string())
            .output()
            .expect("the probe runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |point: &str, field: &str| -> u64 {
            text.lines()
                .find(|l| l.starts_with(point))
                .and_then(|l| {
                    l.split_whitespace()
                        .find_map(|kv| kv.strip_prefix(field)?.strip_prefix('='))
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("probe output without {point} {field}: {text}"))
        };
        // The counters may have wrapped below zero if something allocated
        // before counting began was freed; differences are still exact.
        let per = |field: &str, from: &str| {
            value("after", field).wrapping_sub(value(from, field)) as i64 as f64 / CHILDREN as f64
        };
        let spec = if kind == "ours" {
            format!(
                " ({:.0} B of it added by start(), the rest is the spec)",
                per("bytes", "built")
            )
        } else {
            String::new()
        };
        println!(
            "heap_per_idle_child/{kind}: {:.0} B in {:.1} blocks per child{spec}; \
             RssAnon {:.0} B per child",
            per("bytes", "before"),
            per("blocks", "before"),
            per("rss", "before"),
        );
    }
}

/// CPU time of this process so far: (utime + stime from `/proc/self/stat`
/// in clock ticks, nanoseconds on CPU summed over its threads' schedstat).
fn cpu_time() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `fields[0]` is field 3.
    let ticks = fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
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
    (ticks, nanos)
}

/// Shuts 10,000 children down, then measures the CPU the process burns in
/// the next second, with the runtime still up.
fn cpu_after_shutdown_report() {
    let cases: [(&str, Option<ShutdownOrder>); 3] = [
        ("ours_parallel", Some(ShutdownOrder::Parallel)),
        ("ours_sequential", Some(ShutdownOrder::Sequential)),
        ("raw_tokio", None),
    ];
    for (name, order) in cases {
        let rt = runtime();
        run(&rt, async move {
            match order {
                Some(order) => ours_shutdown(order).await,
                None => raw_shutdown(false).await,
            }
        });
        let (ticks0, nanos0) = cpu_time();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(1));
        let (ticks1, nanos1) = cpu_time();
        let wall = t0.elapsed();
        println!(
            "cpu_after_shutdown/{name}: {:.3} ms on CPU in {:.0} ms ({} clock ticks); {} tasks alive",
            nanos1.saturating_sub(nanos0) as f64 / 1e6,
            wall.as_secs_f64() * 1e3,
            ticks1.saturating_sub(ticks0),
            rt.metrics().num_alive_tasks(),
        );
    }
}

/// Whether criterion runs benchmarks (`cargo bench`, not `cargo test`) and
/// its filter, if any, is part of `name`.
fn wanted(name: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if !has("--bench") || has("--test") || has("--list") || has("--profile-time") {
        return false;
    }
    // Criterion's options that take a value: skip the value too.
    const VALUED: [&str; 15] = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--color",
        "--output-format",
        "--plotting-backend",
        "--format",
    ];
    let mut filter = None;
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
        } else if VALUED.contains(&a.as_str()) || a == "-s" || a == "-b" || a == "-c" {
            skip = true;
        } else if !a.starts_with('-') {
            filter = Some(a.as_str());
            break;
        }
    }
    filter.is_none_or(|f| name.contains(f))
}

fn main() {
    if let Ok(probe) = std::env::var(PROBE_ENV) {
        if let Some(what) = probe.strip_prefix("count:") {
            count::probe(what);
        }
        COUNTING.store(true, Ordering::Relaxed);
        heap_probe(&probe);
    }
    benches();
    if wanted("restart_latency") {
        restart_latency_report();
    }
    if wanted("heap_per_idle_child") {
        heap_report();
    }
    if wanted("cpu_after_shutdown") {
        cpu_after_shutdown_report();
    }
    Criterion::default().configure_from_args().final_summary();
}
