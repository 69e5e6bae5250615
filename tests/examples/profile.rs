//! A driver for profilers: runs one scenario of the runtime benchmark in a
//! plain process, so `valgrind --tool=callgrind` (stable instruction counts
//! on a noisy machine) or `perf` can look at it without criterion around.
//!
//! ```sh
//! cargo build --release -p tests --example profile
//! valgrind --tool=callgrind target/release/examples/profile start 10000 2
//! ```
//!
//! Modes (`profile MODE N ROUNDS`):
//!
//! - `start`: start `N` idle children, wait until each runs, shut down
//!   (`Parallel`), `ROUNDS` times on one runtime; prints the mean times.
//! - `sequential`: the same with the default `Sequential` shutdown order.
//! - `restarts`: one child that fails at once (`Backoff::none()`) next to
//!   `N` idle siblings, until it has started `ROUNDS` times.
//! - `fresh`: start `N` children on a new runtime each round, as the peer
//!   benchmark does; prints the median.
//! - `fresh-warmed`: the same, but each new runtime first starts and stops
//!   a tree of two children, so what is left is the start itself without
//!   the first-use costs of a new runtime's threads.
//!
//! The numbers in `supervisor-runtime/benches/README.md` that are
//! instruction counts come from this driver.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use supervisor_runtime::{Supervisor, Task, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, ShutdownOrder, SupervisorSpec, limits};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

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

fn idle(entered: Arc<Countdown>) -> impl Task {
    move |ctx: TaskContext| {
        let entered = entered.clone();
        async move {
            entered.arrive();
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    }
}

fn idle_children(n: usize) -> impl Iterator<Item = ChildSpec> {
    (0..n).map(|i| {
        ChildSpec::worker(format!("w{i}").as_str())
            .and_then(|c| c.with_task("idle"))
            .expect("valid ids")
    })
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Starts `n` idle children until each runs, then shuts them down;
/// returns how long each took.
async fn start_stop(n: usize, order: ShutdownOrder) -> (Duration, Duration) {
    let entered = Countdown::new(n);
    let spec = SupervisorSpec::new("profile")
        .expect("valid id")
        .with_shutdown_order(order)
        .with_children(idle_children(n));
    let tree = Supervisor::new(spec).task("idle", idle(entered.clone()));
    let t0 = Instant::now();
    let tree = tree.start().await.expect("the tree starts");
    entered.wait().await;
    let started = t0.elapsed();
    let t1 = Instant::now();
    tree.shutdown().await;
    (started, t1.elapsed())
}

fn start(n: usize, rounds: u32, order: ShutdownOrder) {
    let rt = runtime();
    let (started, stopped) = rt
        .block_on(rt.spawn(async move {
            let mut sum = (Duration::ZERO, Duration::ZERO);
            for _ in 0..rounds {
                let (a, b) = start_stop(n, order).await;
                sum = (sum.0 + a, sum.1 + b);
            }
            sum
        }))
        .expect("the driver ends");
    println!(
        "{n} children: start {:?}, shutdown {:?} (mean of {rounds})",
        started / rounds,
        stopped / rounds
    );
}

fn fresh(n: usize, rounds: u32, warmed: bool) {
    let mut took: Vec<Duration> = (0..rounds)
        .map(|_| {
            let rt = runtime();
            if warmed {
                rt.block_on(rt.spawn(start_stop(2, ShutdownOrder::Parallel)))
                    .expect("the driver ends");
            }
            rt.block_on(rt.spawn(start_stop(n, ShutdownOrder::Parallel)))
                .expect("the driver ends")
                .0
        })
        .collect();
    took.sort();
    let how = if warmed { "a fresh, warmed" } else { "a fresh" };
    println!(
        "{n} children on {how} runtime: start {:?} (median of {rounds})",
        took[took.len() / 2]
    );
}

fn restarts(siblings: usize, starts: u64) {
    let rt = runtime();
    rt.block_on(rt.spawn(async move {
        let count = Arc::new(AtomicU64::new(0));
        let done = Arc::new(Notify::new());
        let (c, d) = (count.clone(), done.clone());
        // Fails at once until it has started `starts` times, then waits.
        let victim = move |ctx: TaskContext| {
            let (count, done) = (c.clone(), d.clone());
            async move {
                let k = count.fetch_add(1, Ordering::AcqRel) + 1;
                if k < starts {
                    return Err(std::io::Error::other("fail"));
                }
                if k == starts {
                    done.notify_one();
                }
                ctx.cancelled().await;
                Ok(())
            }
        };
        let spec = SupervisorSpec::new("profile")
            .expect("valid id")
            .with_intensity(limits::MAX_RESTARTS, Duration::from_millis(1))
            .with_shutdown_order(ShutdownOrder::Parallel)
            .with_children(idle_children(siblings))
            .with_child(
                ChildSpec::worker("victim")
                    .expect("valid id")
                    .with_backoff(Backoff::none()),
            );
        let mut tree = Supervisor::new(spec).task("victim", victim);
        if siblings > 0 {
            tree = tree.task("idle", idle(Countdown::new(siblings)));
        }
        let t0 = Instant::now();
        let tree = tree.start().await.expect("the tree starts");
        done.notified().await;
        println!(
            "{starts} starts next to {siblings} siblings: {:?} each",
            t0.elapsed() / u32::try_from(starts).unwrap_or(u32::MAX)
        );
        tree.shutdown().await;
    }))
    .expect("the driver ends");
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let n = usize::try_from(number(1, 10_000)).unwrap_or(usize::MAX);
    let rounds = u32::try_from(number(2, 2)).unwrap_or(u32::MAX).max(1);
    match args.first().map(String::as_str) {
        Some("start") | None => start(n, rounds, ShutdownOrder::Parallel),
        Some("sequential") => start(n, rounds, ShutdownOrder::Sequential),
        Some("restarts") => restarts(n, number(2, 10_000).max(1)),
        Some("fresh") => fresh(n, rounds, false),
        Some("fresh-warmed") => fresh(n, rounds, true),
        Some(other) => {
            eprintln!("unknown mode `{other}`: start, sequential, restarts, fresh or fresh-warmed");
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}
