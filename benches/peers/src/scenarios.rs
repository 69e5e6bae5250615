//! The scenarios, each run for one contender on a fresh runtime, and the
//! rows of the table they fill.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::contenders::{Contender, Tree};
use crate::support::{self, Countdown, Outcome, Victim, run, runtime};

/// Idle children in the large scenarios.
pub const MANY: usize = 10_000;
/// Idle children in the small start scenario.
pub const FEW: usize = 100;
/// Unmeasured restarts before the measured ones.
const WARM_RESTARTS: u64 = 100;
/// Measured restarts per run.
pub const RESTARTS: u64 = 1_000;
/// A restart run gives up when no incarnation starts for this long.
const STALL: Duration = Duration::from_secs(2);
/// The longest a start or a shutdown may take before the cell says so.
const LIMIT: Duration = Duration::from_secs(60);

/// What a cell measures, and so how it is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds.
    Time,
    /// Bytes.
    Bytes,
    /// A plain count.
    Count,
}

/// A row of the table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Row {
    Start100,
    Start10k,
    RestartErr,
    RestartErrP50,
    RestartErrP99,
    RestartPanic,
    RestartPanicP50,
    RestartPanicP99,
    RestartSiblings,
    Shutdown10k,
    Shutdown10kSequential,
    CpuAfterShutdown,
    AliveAfterShutdown,
    HeapPerChild,
    BlocksPerChild,
    RssPerChild,
}

impl Row {
    pub const ALL: [Row; 16] = [
        Row::Start100,
        Row::Start10k,
        Row::RestartErr,
        Row::RestartErrP50,
        Row::RestartErrP99,
        Row::RestartPanic,
        Row::RestartPanicP50,
        Row::RestartPanicP99,
        Row::RestartSiblings,
        Row::Shutdown10k,
        Row::Shutdown10kSequential,
        Row::CpuAfterShutdown,
        Row::AliveAfterShutdown,
        Row::HeapPerChild,
        Row::BlocksPerChild,
        Row::RssPerChild,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Row::Start100 => "start 100 idle children, until all run",
            Row::Start10k => "start 10,000 idle children, until all run",
            Row::RestartErr => "restart throughput, child returns `Err` (time per restart)",
            Row::RestartErrP50 => "fail → next start latency, `Err`, p50",
            Row::RestartErrP99 => "fail → next start latency, `Err`, p99",
            Row::RestartPanic => "restart throughput, child panics (time per restart)",
            Row::RestartPanicP50 => "fail → next start latency, panic, p50",
            Row::RestartPanicP99 => "fail → next start latency, panic, p99",
            Row::RestartSiblings => "restart (`Err`) with 10,000 idle siblings (time per restart)",
            Row::Shutdown10k => "shutdown of 10,000 cooperative children (ours: `Parallel`)",
            Row::Shutdown10kSequential => {
                "shutdown of 10,000, ours with the default `Sequential` order"
            }
            Row::CpuAfterShutdown => "CPU burned in the 1 s after shutdown returned",
            Row::AliveAfterShutdown => "tokio tasks still alive 1 s after shutdown",
            Row::HeapPerChild => "heap per idle child (10,000, fresh process)",
            Row::BlocksPerChild => "heap blocks per idle child",
            Row::RssPerChild => "RSS (`RssAnon`) per idle child",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Row::HeapPerChild | Row::RssPerChild => Unit::Bytes,
            Row::BlocksPerChild | Row::AliveAfterShutdown => Unit::Count,
            _ => Unit::Time,
        }
    }

    /// Whether a ratio to raw tokio means anything for this row.
    pub fn has_ratio(self) -> bool {
        !matches!(self, Row::CpuAfterShutdown | Row::AliveAfterShutdown)
    }
}

/// Drops the runtime without waiting forever for a task that will not end.
fn finish(rt: tokio::runtime::Runtime) {
    rt.shutdown_timeout(Duration::from_secs(5));
}

async fn stop(tree: Box<dyn Tree>) -> Outcome<()> {
    match tokio::time::timeout(LIMIT, tree.shutdown()).await {
        Ok(r) => r,
        Err(_) => Err(format!("shutdown not done after {} s", LIMIT.as_secs())),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Starting `n` idle children, from just before the tree is built until
/// every child has run its first line; the median of `reps` runs, each on
/// a fresh runtime.
pub fn start(c: &'static dyn Contender, n: usize, reps: usize) -> Outcome<f64> {
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let rt = runtime();
        let took = run(&rt, async move {
            let entered = Countdown::new(n);
            let t0 = Instant::now();
            let tree = tokio::time::timeout(LIMIT, c.start_idle(n, entered.clone()))
                .await
                .map_err(|_| "start call did not return".to_owned())??;
            entered.wait_for(LIMIT).await?;
            let took = t0.elapsed();
            stop(tree).await?;
            Ok::<_, String>(took)
        });
        finish(rt);
        samples.push(took?.as_nanos() as f64);
    }
    Ok(median(samples))
}

/// One restart run: per-restart time over [`RESTARTS`] restarts in a row,
/// and the p50 and p99 fail-to-next-start latencies of those restarts.
pub struct RestartSample {
    pub per_restart: f64,
    pub p50: f64,
    pub p99: f64,
}

/// The median of `reps` restart runs, metric by metric; the first run that
/// fails (the contender stopped restarting) ends it.
pub fn restarts(
    c: &'static dyn Contender,
    panic: bool,
    siblings: usize,
    reps: usize,
) -> Outcome<RestartSample> {
    let mut runs = Vec::with_capacity(reps);
    for _ in 0..reps {
        runs.push(restart(c, panic, siblings)?);
    }
    Ok(RestartSample {
        per_restart: median(runs.iter().map(|r| r.per_restart).collect()),
        p50: median(runs.iter().map(|r| r.p50).collect()),
        p99: median(runs.iter().map(|r| r.p99).collect()),
    })
}

fn restart(c: &'static dyn Contender, panic: bool, siblings: usize) -> Outcome<RestartSample> {
    let rt = runtime();
    let out = run(&rt, async move {
        let v = Victim::new(panic);
        let entered = Countdown::new(siblings);
        let tree = tokio::time::timeout(
            LIMIT,
            c.start_restarting(v.clone(), siblings, entered.clone()),
        )
        .await
        .map_err(|_| "start call did not return".to_owned())??;
        let measured = async {
            entered.wait_for(LIMIT).await?;
            v.first(Duration::from_secs(10)).await?;
            v.batch(WARM_RESTARTS, STALL).await?;
            v.set_recording(true);
            let took = v.batch(RESTARTS, STALL).await?;
            v.set_recording(false);
            Ok::<_, String>(took)
        }
        .await;
        v.quit.cancel();
        let stopped = stop(tree).await;
        let took = measured?;
        stopped?;
        let mut l = v.take_latencies();
        if l.is_empty() {
            return Err("no latency recorded".to_owned());
        }
        l.sort_unstable();
        let at = |q: f64| l[((l.len() - 1) as f64 * q) as usize] as f64;
        Ok(RestartSample {
            per_restart: took.as_nanos() as f64 / RESTARTS as f64,
            p50: at(0.5),
            p99: at(0.99),
        })
    });
    finish(rt);
    out
}

/// Shutdown of [`MANY`] idle children: how long the library's shutdown
/// call took, then the CPU the process burned in the next second (runtime
/// still up) and the tokio tasks still alive after it.
pub struct ShutdownSample {
    pub took: f64,
    pub cpu_after: f64,
    pub alive: f64,
}

pub fn shutdown(c: &'static dyn Contender) -> Outcome<ShutdownSample> {
    let rt = runtime();
    let took = run(&rt, async move {
        let entered = Countdown::new(MANY);
        let tree = tokio::time::timeout(LIMIT, c.start_idle(MANY, entered.clone()))
            .await
            .map_err(|_| "start call did not return".to_owned())??;
        entered.wait_for(LIMIT).await?;
        let t0 = Instant::now();
        stop(tree).await?;
        Ok::<_, String>(t0.elapsed())
    });
    let took = match took {
        Ok(t) => t,
        Err(e) => {
            finish(rt);
            return Err(e);
        }
    };
    let cpu0 = support::cpu_nanos();
    std::thread::sleep(Duration::from_secs(1));
    let cpu1 = support::cpu_nanos();
    let alive = rt.metrics().num_alive_tasks();
    finish(rt);
    Ok(ShutdownSample {
        took: took.as_nanos() as f64,
        cpu_after: cpu1.saturating_sub(cpu0) as f64,
        alive: alive as f64,
    })
}

/// Heap (bytes, blocks) and `RssAnon` growth per idle child, counted in a
/// fresh process: this binary re-run with the hidden `__probe-heap`
/// subcommand, so nothing allocated before counting began is freed while
/// it counts.
pub struct HeapSample {
    pub bytes: f64,
    pub blocks: f64,
    pub rss: f64,
}

pub fn heap(c: &dyn Contender) -> Outcome<HeapSample> {
    let exe = std::env::current_exe().map_err(|e| format!("no exe: {e}"))?;
    let out = Command::new(exe)
        .args(["__probe-heap", c.key(), &MANY.to_string()])
        .output()
        .map_err(|e| format!("probe did not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim().to_owned();
        return Err(format!(
            "probe failed: {}{last}",
            text.lines().last().unwrap_or("")
        ));
    }
    let value = |point: &str, field: &str| -> Outcome<u64> {
        text.lines()
            .find(|l| l.starts_with(point))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(field)?.strip_prefix('='))
            })
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("probe output without {point} {field}"))
    };
    // The counters may have wrapped below zero if something allocated
    // before counting began was freed; differences are still exact.
    let per = |field: &str| -> Outcome<f64> {
        Ok(
            value("after", field)?.wrapping_sub(value("before", field)?) as i64 as f64
                / MANY as f64,
        )
    };
    Ok(HeapSample {
        bytes: per("bytes")?,
        blocks: per("blocks")?,
        rss: per("rss")?,
    })
}

/// The probe itself, in the child process: counts from `main`'s first line,
/// reads before anything is built and once every child runs, prints both
/// readings, and exits with the tree still running.
pub fn heap_probe(c: &'static dyn Contender, n: usize) -> ! {
    let rt = runtime();
    // Both workers have run a task before the first reading.
    run(&rt, async {
        let a = tokio::spawn(async {});
        let b = tokio::spawn(async {});
        let _ = (a.await, b.await);
    });
    let reading = || {
        let (bytes, blocks) = support::heap();
        (bytes, blocks, support::rss_anon())
    };
    let before = reading();
    let held: Outcome<Box<dyn Tree>> = run(&rt, async move {
        let entered = Countdown::new(n);
        let tree = c.start_idle(n, entered.clone()).await?;
        entered.wait_for(LIMIT).await?;
        Ok(tree)
    });
    let after = reading();
    match held {
        Ok(tree) => {
            for (name, r) in [("before", before), ("after", after)] {
                println!("{name} bytes={} blocks={} rss={}", r.0, r.1, r.2);
            }
            // Exit with everything still alive: nothing is freed before the end.
            std::mem::forget(tree);
            std::mem::forget(rt);
            std::process::exit(0)
        }
        Err(e) => {
            println!("{e}");
            std::process::exit(1)
        }
    }
}
