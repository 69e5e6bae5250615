//! A small, realistic tree that fails on purpose, printing what happens.
//!
//! ```text
//! cargo run --example demo                     # until Ctrl-C (a second Ctrl-C aborts)
//! cargo run --example demo -- --duration 10s   # for ten seconds
//! ```
//!
//! - `db`: a connection pool that takes 200 ms to become ready (explicit
//!   readiness) and heartbeats (liveness 2 s).
//! - `api`: depends on `db`; serves until stopped.
//! - `ingest`: depends on `db`; fails or panics at random, restarted with
//!   exponential backoff; a budget quarantines it for 5 s if it flaps.
//! - `writer`: a blocking worker on a thread of its own.
//! - `jobs`: a nested `one_for_all` supervisor with a scheduler and a reporter.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use supervisor_runtime::{BlockingContext, Supervisor, TaskContext};
use supervisor_spec::{Backoff, Budget, ChildSpec, Readiness, Restart, Strategy, SupervisorSpec};

fn spec() -> Result<SupervisorSpec, supervisor_spec::IdError> {
    let jobs = SupervisorSpec::new("jobs")?
        .with_strategy(Strategy::OneForAll)
        .with_child(ChildSpec::worker("scheduler")?)
        .with_child(ChildSpec::worker("reporter")?.with_depends_on(["scheduler"])?);
    Ok(SupervisorSpec::new("root")?
        .with_intensity(10, Duration::from_secs(10))
        .with_shutdown(Duration::from_secs(10))
        .with_child(
            ChildSpec::worker("db")?
                .with_description("connection pool")
                .with_readiness(Readiness::explicit(Duration::from_secs(5)))
                .with_liveness(Duration::from_secs(2)),
        )
        .with_child(
            ChildSpec::worker("api")?
                .with_depends_on(["db"])?
                .with_tag("http"),
        )
        .with_child(
            ChildSpec::worker("ingest")?
                .with_restart(Restart::Transient)
                .with_backoff(Backoff::exponential(
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                ))
                .with_budget(
                    Budget::new(4, Duration::from_secs(10))
                        .quarantine(Some(Duration::from_secs(5))),
                )
                .with_depends_on(["db"])?,
        )
        .with_child(ChildSpec::blocking("writer")?)
        .with_child(ChildSpec::supervisor(jobs)))
}

/// A tiny xorshift, seeded per incarnation, so failures look random.
fn chance(seed: u64) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % 100
}

async fn db(ctx: TaskContext) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(200)).await; // "connecting"
    ctx.ready();
    let mut beat = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = ctx.cancelled() => return Ok(()),
            _ = beat.tick() => ctx.heartbeat(),
        }
    }
}

async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    // Drain in-flight requests within the graceful timeout.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

async fn ingest(ctx: TaskContext, salt: Arc<AtomicU64>) -> Result<(), std::io::Error> {
    let roll = chance(salt.fetch_add(1, Ordering::Relaxed) * 7919 + ctx.generation().0);
    let run_for = Duration::from_millis(200 + roll * 15);
    tokio::select! {
        _ = ctx.cancelled() => Ok(()),
        _ = tokio::time::sleep(run_for) => match roll % 10 {
            0..=3 => panic!("ingest: corrupt record at offset {}", roll * 4096),
            4..=8 => Err(std::io::Error::other("upstream connection reset")),
            _ => Ok(()), // all caught up: a transient child is not restarted
        },
    }
}

fn writer(ctx: BlockingContext) -> Result<(), std::io::Error> {
    ctx.ready();
    while !ctx.wait_cancelled(Duration::from_millis(500)) {
        // flush a batch to disk
    }
    Ok(())
}

async fn idle(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn parse_args() -> Result<Option<Duration>, String> {
    let mut args = std::env::args().skip(1);
    let mut duration = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--duration" => {
                let value = args.next().ok_or("--duration needs a value such as 10s")?;
                let d = value
                    .parse::<humantime_lite::Duration>()
                    .map_err(|e| format!("--duration {value}: {e}"))?;
                duration = Some(d.0);
            }
            "-h" | "--help" => {
                return Err("usage: demo [--duration 10s]".into());
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: demo [--duration 10s]"
                ));
            }
        }
    }
    Ok(duration)
}

/// Parses `500ms`, `10s`, `2m` (enough for a flag).
mod humantime_lite {
    pub(crate) struct Duration(pub(crate) std::time::Duration);

    impl std::str::FromStr for Duration {
        type Err = String;

        fn from_str(s: &str) -> Result<Self, String> {
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (n, unit) = s.split_at(split);
            let n: u64 = n
                .parse()
                .map_err(|_| format!("expected a number, found {s:?}"))?;
            let d = match unit {
                "ms" => std::time::Duration::from_millis(n),
                "s" | "" => std::time::Duration::from_secs(n),
                "m" => std::time::Duration::from_secs(n * 60),
                other => return Err(format!("unknown unit {other:?} (use ms, s or m)")),
            };
            Ok(Self(d))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let duration = match parse_args() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let spec = match spec() {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("demo tree: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{spec}");
    // Panics of supervised tasks reach the events with their message; the
    // default hook would also print a backtrace for each on stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let salt = Arc::new(AtomicU64::new(1));
    let supervisor = Supervisor::new(spec)
        .task("db", db)
        .task("api", api)
        .task("ingest", move |ctx| ingest(ctx, salt.clone()))
        .blocking_task("writer", writer)
        .task("scheduler", idle)
        .task("reporter", idle);

    // Print every event as it happens, from a subscriber task.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let supervisor = supervisor.observer(move |event: &supervisor_runtime::Event| {
        let _ = tx.send(event.to_string());
    });
    let printer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            println!("{line}");
        }
    });

    let tree = match supervisor.start().await {
        Ok(tree) => tree,
        Err(e) => {
            eprintln!("the tree did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "-- tree ready; {} --",
        match duration {
            Some(d) => format!("running for {d:?}"),
            None => "Ctrl-C to stop (twice to abort)".to_owned(),
        }
    );
    let end = match duration {
        Some(d) => {
            tokio::time::sleep(d).await;
            let handle = tree.handle();
            tree.shutdown().await;
            handle.join().await
        }
        None => tree.run_until_signal().await,
    };
    // Let the printer drain.
    tokio::time::sleep(Duration::from_millis(50)).await;
    printer.abort();
    println!("-- shutdown report ({:?}) --\n{}", end.end, end.report);
    ExitCode::SUCCESS
}
