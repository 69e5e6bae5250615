//! A small, realistic tree that fails on purpose, printing what happens and
//! serving a live dashboard, probes and metrics on a loopback port.
//!
//! ```text
//! cargo run --example demo                     # until Ctrl-C (a second Ctrl-C aborts)
//! cargo run --example demo -- --duration 10s   # for ten seconds
//! cargo run --example demo -- --config examples/demo.yaml   # the tree from a file
//! cargo run --example demo -- --port 8080      # a fixed port (default: any free one)
//! ```
//!
//! At start it prints the dashboard's address and a token that enables the
//! dashboard's control buttons.
//!
//! - `db`: a connection pool that takes 200 ms to become ready (explicit
//!   readiness) and heartbeats (liveness 2 s).
//! - `api`: depends on `db`; serves until stopped.
//! - `ingest`: depends on `db`; fails or panics at random, restarted with
//!   exponential backoff; a budget quarantines it for 5 s if it flaps.
//! - `writer`: a blocking worker on a thread of its own.
//! - `jobs`: a nested `one_for_all` supervisor with a scheduler and a reporter.
//!
//! The tree is built in Rust in `examples/demo_tree.rs` at the repository
//! root; `examples/demo.yaml` and `examples/demo.toml` there write the same
//! tree. `--config` runs any tree file whose workers use these task names.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use supervisor_observe::http::{HttpConfig, HttpServer, install_prometheus_recorder};
use supervisor_observe::{DEFAULT_JOURNAL_CAPACITY, Journal, MetricsObserver, SummaryCollector};
use supervisor_runtime::{BlockingContext, Supervisor, TaskContext};
use supervisor_spec::SupervisorSpec;

#[path = "../../examples/demo_tree.rs"]
mod demo_tree;

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

/// What the command line asks for.
struct Args {
    /// Run for this long, then shut down; `None`: until a signal.
    duration: Option<Duration>,
    /// Load the tree from this file instead of the built-in one.
    config: Option<PathBuf>,
    /// Serve HTTP on this loopback port (0: any free one).
    port: u16,
}

const USAGE: &str = "usage: demo [--duration 10s] [--config tree.yaml|tree.toml] [--port 8080]";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        duration: None,
        config: None,
        port: 0,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--duration" => {
                let value = args.next().ok_or("--duration needs a value such as 10s")?;
                let d = value
                    .parse::<humantime_lite::Duration>()
                    .map_err(|e| format!("--duration {value}: {e}"))?;
                parsed.duration = Some(d.0);
            }
            "--config" => {
                let value = args
                    .next()
                    .ok_or("--config needs a file such as examples/demo.yaml")?;
                parsed.config = Some(PathBuf::from(value));
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a number such as 8080")?;
                parsed.port = value
                    .parse()
                    .map_err(|_| format!("--port {value}: expected a port number"))?;
            }
            "-h" | "--help" => {
                return Err(USAGE.into());
            }
            other => {
                return Err(format!("unknown argument {other:?}; {USAGE}"));
            }
        }
    }
    Ok(parsed)
}

/// The tree to run: from the file given with `--config`, or the built-in one.
fn tree(config: Option<&PathBuf>) -> Result<SupervisorSpec, String> {
    match config {
        Some(path) => supervisor_spec::load_config_file(path)
            .map(|valid| valid.into_inner())
            .map_err(|e| {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                message
            }),
        None => demo_tree::spec().map_err(|e| format!("demo tree: {e}")),
    }
}

/// A token for this run's control buttons: not a secret worth guarding (the
/// server only listens on loopback), just not guessable by another page.
fn demo_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{:016x}", chance_u64(nanos ^ u64::from(std::process::id())))
}

fn chance_u64(seed: u64) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
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
    let Args {
        duration,
        config,
        port,
    } = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let spec = match tree(config.as_ref()) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("{e}");
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

    // Watch it: a journal for the dashboard's history, metrics for
    // /metrics, a summary for the end, and the HTTP server on loopback.
    let journal = Journal::new(DEFAULT_JOURNAL_CAPACITY);
    let summary = SummaryCollector::new();
    let supervisor = supervisor
        .observer(journal.clone())
        .observer(summary.clone())
        .observer(MetricsObserver::new());
    let token = demo_token();
    let mut http = HttpConfig::default()
        .bind(([127, 0, 0, 1], port).into())
        .token("demo", &token)
        .journal(journal);
    match install_prometheus_recorder() {
        Ok(metrics) => http = http.prometheus(metrics),
        Err(e) => eprintln!("metrics: {e}"),
    }
    let server = match HttpServer::bind(http).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot serve HTTP on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "-- dashboard: http://{}/  (token for the buttons: {token}) --",
        server.local_addr()
    );

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
            server.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    server.attach(tree.handle());
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
    server.shutdown().await;
    // Let the printer drain.
    tokio::time::sleep(Duration::from_millis(50)).await;
    printer.abort();
    println!("-- shutdown report ({:?}) --\n{}", end.end, end.report);
    println!("{}", summary.summary(Some(&end.report)));
    ExitCode::SUCCESS
}
