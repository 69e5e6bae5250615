//! Soak: a tree whose children restart continuously, to show that memory
//! stays flat however many restarts it goes through.
//!
//! ```text
//! cargo run --release -p tests --example soak -- --restarts 1000000 --max-seconds 600
//! ```
//!
//! The tree (every restart immediate, `Backoff::none()`; intensities that
//! never trip, `limits::MAX_RESTARTS` within 1 ms):
//!
//! - `err` returns an error, `panic` panics, `ok` returns `Ok` (it is
//!   permanent, so restarted too), `sub` spawns two sub-tasks through
//!   `ctx.spawn` and returns an error;
//! - `group`, a nested `one_for_all` supervisor: `flaky` fails at once and
//!   takes its three idle siblings down with it each time; they stop at
//!   once, within a graceful timeout of `--stop-timeout` seconds (default
//!   5, the OTP default).
//!
//! A `Journal` (the default 4,096 events) and a counting observer watch
//! every event; a slow subscriber reads the broadcast stream and counts what
//! it missed. Resident memory (`VmRSS` in `/proc/self/status`) is sampled
//! at every tenth of the restarts or of `--max-seconds`, whichever comes
//! first. Memory climbs while the journal and the event buffer fill up,
//! and is flat after that. The run ends after `--restarts` restarts or
//! `--max-seconds`, whichever comes first, with a graceful shutdown.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use supervisor_observe::Journal;
use supervisor_runtime::{Event, EventKind, Supervisor, TaskContext};
use supervisor_spec::limits::MAX_RESTARTS;
use supervisor_spec::{Backoff, ChildSpec, Shutdown, Strategy, SupervisorSpec};
use tokio::sync::broadcast::error::RecvError;

const PANIC_MESSAGE: &str = "soak: planned panic";

struct Args {
    restarts: u64,
    max_seconds: u64,
    /// The graceful timeout of `group`'s idle children, in seconds.
    stop_timeout: u64,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        restarts: 1_000_000,
        max_seconds: 600,
        stop_timeout: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: u64 = value
            .replace('_', "")
            .parse()
            .map_err(|e| format!("{flag} {value}: {e}"))?;
        match flag.as_str() {
            "--restarts" => args.restarts = n,
            "--max-seconds" => args.max_seconds = n,
            "--stop-timeout" => args.stop_timeout = n,
            _ => {
                return Err(format!(
                    "unknown flag {flag}; use --restarts N, --max-seconds S, --stop-timeout S"
                ));
            }
        }
    }
    Ok(args)
}

/// A `/proc/self/status` field in kB, as bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn spec(args: &Args) -> SupervisorSpec {
    let fast = |id: &str| {
        ChildSpec::worker(id)
            .expect("a valid id")
            .with_backoff(Backoff::none())
    };
    let group = SupervisorSpec::new("group")
        .expect("a valid id")
        .with_strategy(Strategy::OneForAll)
        .with_intensity(MAX_RESTARTS, Duration::from_millis(1))
        .with_child(fast("flaky"))
        .with_children(["idle1", "idle2", "idle3"].map(|id| {
            fast(id)
                .with_task("idle")
                .expect("a valid task name")
                .with_shutdown(Shutdown::graceful(Duration::from_secs(args.stop_timeout)))
        }));
    SupervisorSpec::new("root")
        .expect("a valid id")
        .with_intensity(MAX_RESTARTS, Duration::from_millis(1))
        .with_children([fast("err"), fast("panic"), fast("ok"), fast("sub")])
        .with_child(ChildSpec::supervisor(group).with_backoff(Backoff::none()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&PANIC_MESSAGE) {
            previous(info);
        }
    }));

    let restarts = Arc::new(AtomicU64::new(0));
    let events = Arc::new(AtomicU64::new(0));
    let counter = {
        let (restarts, events) = (restarts.clone(), events.clone());
        move |e: &Event| {
            events.fetch_add(1, Ordering::Relaxed);
            if let EventKind::Started { restart: true, .. } = e.kind {
                restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let journal = Journal::new(supervisor_observe::DEFAULT_JOURNAL_CAPACITY);
    // The first incarnations wait for `go`: `start` returns once the whole
    // tree was ready at least once, which a tree that only flaps never is.
    let (go_tx, go) = tokio::sync::watch::channel(false);
    let after_go = move || {
        let mut go = go.clone();
        async move {
            let _ = go.wait_for(|go| *go).await;
        }
    };
    let (g1, g2, g3, g4, g5) = (
        after_go.clone(),
        after_go.clone(),
        after_go.clone(),
        after_go.clone(),
        after_go,
    );
    let tree = Supervisor::new(spec(&args))
        .task("err", move |_ctx: TaskContext| {
            let go = g1();
            async move {
                go.await;
                Err::<(), _>(std::io::Error::other("soak: planned error"))
            }
        })
        .task("panic", move |_ctx: TaskContext| {
            let go = g2();
            async move {
                go.await;
                std::panic::panic_any(PANIC_MESSAGE);
                #[allow(unreachable_code)]
                Ok::<(), std::io::Error>(())
            }
        })
        .task("ok", move |_ctx: TaskContext| {
            let go = g3();
            async move {
                go.await;
                Ok::<(), std::io::Error>(())
            }
        })
        .task("sub", move |ctx: TaskContext| {
            let go = g4();
            async move {
                go.await;
                for _ in 0..2 {
                    ctx.spawn(std::future::pending());
                }
                tokio::task::yield_now().await;
                Err::<(), _>(std::io::Error::other("soak: planned error after spawning"))
            }
        })
        .task("flaky", move |_ctx: TaskContext| {
            let go = g5();
            async move {
                go.await;
                Err::<(), _>(std::io::Error::other("soak: flaky"))
            }
        })
        .task("idle", |ctx: TaskContext| async move {
            ctx.cancelled().await;
            Ok::<(), std::io::Error>(())
        })
        .observer(journal.clone())
        .observer(counter)
        .start()
        .await;
    let tree = match tree {
        Ok(tree) => tree,
        Err(e) => {
            eprintln!("soak: the tree did not start: {e}");
            return ExitCode::FAILURE;
        }
    };

    let _ = go_tx.send(true);

    // A subscriber that reads, but slowly: it naps every 1,000 events.
    let mut stream = tree.subscribe();
    let reader = tokio::spawn(async move {
        let (mut received, mut missed) = (0u64, 0u64);
        loop {
            match stream.recv().await {
                Ok(_) => {
                    received += 1;
                    if received.is_multiple_of(1_000) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                Err(RecvError::Lagged(n)) => missed += n,
                Err(RecvError::Closed) => return (received, missed),
            }
        }
    });

    let began = Instant::now();
    let deadline = began + Duration::from_secs(args.max_seconds);
    let step = (args.restarts / 10).max(1);
    println!(
        "soak: until {} restarts or {} s; VmRSS at start {}",
        args.restarts,
        args.max_seconds,
        mib(status_bytes("VmRSS:"))
    );
    println!(
        "{:>10} {:>9} {:>10} {:>11} {:>12}",
        "restarts", "elapsed", "per second", "VmRSS", "events"
    );
    let mut samples = Vec::new();
    // A sample every tenth of the restarts or of the time, whichever comes first.
    let tick = Duration::from_secs(args.max_seconds) / 10;
    let (mut next, mut next_at) = (step, began + tick);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = restarts.load(Ordering::Relaxed);
        let now = Instant::now();
        let out_of_time = now >= deadline;
        if done >= next || now >= next_at || done >= args.restarts || out_of_time {
            let elapsed = began.elapsed();
            let rss = status_bytes("VmRSS:");
            println!(
                "{done:>10} {:>8.1}s {:>10.0} {:>11} {:>12}",
                elapsed.as_secs_f64(),
                done as f64 / elapsed.as_secs_f64(),
                mib(rss),
                events.load(Ordering::Relaxed)
            );
            samples.push(rss);
            next = (done / step + 1) * step;
            next_at = now + tick;
        }
        if done >= args.restarts || out_of_time {
            break;
        }
    }
    let elapsed = began.elapsed();
    let done = restarts.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let report = tree.shutdown().await;
    let shutdown = t0.elapsed();
    let (received, missed) = reader.await.unwrap_or_default();
    let first = samples.first().copied().unwrap_or_default();
    let last = samples.last().copied().unwrap_or_default();
    let max = samples.iter().copied().max().unwrap_or_default();
    println!();
    println!(
        "restarts: {done} in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    println!(
        "VmRSS after the first tenth: {}, at the end: {} ({:+.1} MiB), highest sample: {}; VmHWM: {}",
        mib(first),
        mib(last),
        (last as f64 - first as f64) / (1024.0 * 1024.0),
        mib(max),
        mib(status_bytes("VmHWM:"))
    );
    println!(
        "events: {} emitted; journal holds {} of {} seen (capacity {}); slow subscriber received {received}, missed {missed}",
        events.load(Ordering::Relaxed),
        journal.len(),
        journal.seen(),
        journal.capacity()
    );
    let mut outcomes = std::collections::BTreeMap::new();
    for node in report.nodes() {
        *outcomes.entry(node.outcome.as_str()).or_insert(0) += 1;
    }
    println!("shutdown: {shutdown:?}; nodes by outcome: {outcomes:?}");
    ExitCode::SUCCESS
}
