//! Splits the "start 100" row into its two phases, for ours and
//! task-supervisor (the one peer ahead on that row): building the tree
//! (our spec and `Supervisor::new`, its `SupervisorBuilder`) and starting
//! it until every child runs (our `start().await`, its `spawn()` and then
//! the wait for every child's first line).
//!
//! ```text
//! cargo run --release --manifest-path benches/peers/Cargo.toml --example start_phases -- 100 201
//! ```
//!
//! Arguments: children (default 100) and rounds (default 201). Each round
//! runs both on fresh 2-worker runtimes, in an order that alternates; the
//! medians over the rounds are printed. The children are the same as in
//! the main benchmark: a countdown's `arrive()`, then a wait for their
//! library's stop signal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, ShutdownOrder, SupervisorSpec};
use task_supervisor::{CancellationToken, SupervisedTask, SupervisorBuilder, TaskResult};

// The harness's own countdown and runtime (this example uses no more of it).
#[allow(dead_code)]
#[path = "../src/support.rs"]
mod support;

use support::{Countdown, run, runtime};

/// How long the build and the start took.
type Phases = (Duration, Duration);

async fn ours(n: usize) -> Phases {
    let entered = Countdown::new(n);
    let t0 = Instant::now();
    let spec = SupervisorSpec::new("bench")
        .expect("valid id")
        .with_shutdown_order(ShutdownOrder::Parallel)
        .with_children((0..n).map(|i| {
            ChildSpec::worker(format!("w{i}").as_str())
                .and_then(|c| c.with_task("idle"))
                .expect("valid ids")
        }));
    let e = entered.clone();
    let tree = Supervisor::new(spec).task("idle", move |ctx: TaskContext| {
        let e = e.clone();
        async move {
            e.arrive();
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    });
    let built = t0.elapsed();
    let tree = tree.start().await.expect("the tree starts");
    entered.wait().await;
    let started = t0.elapsed() - built;
    tree.shutdown().await;
    (built, started)
}

#[derive(Clone)]
struct Idle(Arc<Countdown>);

impl SupervisedTask for Idle {
    async fn run(self, cancel: CancellationToken) -> TaskResult {
        self.0.arrive();
        cancel.cancelled().await;
        Ok(())
    }
}

async fn task_supervisor(n: usize) -> Phases {
    let entered = Countdown::new(n);
    let t0 = Instant::now();
    let mut builder = SupervisorBuilder::new()
        .with_unlimited_restarts()
        .with_base_restart_delay(Duration::ZERO)
        .with_max_restart_delay(Duration::ZERO)
        .with_restart_jitter(0.0);
    for i in 0..n {
        builder = builder.with_task(&format!("w{i}"), Idle(entered.clone()));
    }
    let built = t0.elapsed();
    let handle = builder.spawn();
    entered.wait().await;
    let started = t0.elapsed() - built;
    handle.shutdown().await.expect("task-supervisor shuts down");
    (built, started)
}

/// Runs `f` as a task on a fresh 2-worker runtime, and ends the runtime,
/// as the harness does.
fn fresh<F: Future<Output = Phases> + Send + 'static>(f: F) -> Phases {
    let rt = runtime();
    let phases = run(&rt, f);
    rt.shutdown_timeout(Duration::from_secs(5));
    phases
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Children and rounds from the command line.
fn parse_args() -> Result<(usize, usize), String> {
    let mut args = std::env::args().skip(1);
    let mut number = |what: &str, default: usize| match args.next() {
        None => Ok(default),
        Some(a) => match a.parse::<usize>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(format!(
                "{what} must be a whole number of at least 1, not `{a}`"
            )),
        },
    };
    let n = number("children", 100)?;
    let rounds = number("rounds", 201)?;
    match args.next() {
        Some(extra) => Err(format!("unexpected argument `{extra}`")),
        None => Ok((n, rounds)),
    }
}

fn main() -> std::process::ExitCode {
    let (n, rounds) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}\nusage: start_phases [CHILDREN] [ROUNDS]");
            return std::process::ExitCode::from(2);
        }
    };
    let mut samples: [(Vec<Duration>, Vec<Duration>); 2] = Default::default();
    for round in 0..rounds {
        for k in 0..2 {
            let which = (round + k) % 2;
            let (built, started) = if which == 0 {
                fresh(ours(n))
            } else {
                fresh(task_supervisor(n))
            };
            samples[which].0.push(built);
            samples[which].1.push(started);
        }
    }
    println!("{n} children, medians of {rounds} rounds on fresh 2-worker runtimes:");
    println!("| | build | start until all run | sum of the medians |");
    println!("|---|---:|---:|---:|");
    for (name, (built, started)) in ["ours", "task-supervisor"].iter().zip(samples) {
        let (b, s) = (median(built), median(started));
        println!("| {name} | {b:.1?} | {s:.1?} | {:.1?} |", b + s);
    }
    std::process::ExitCode::SUCCESS
}
