//! Load: 100,000 idle workers under nested supervisors. Times the start,
//! a snapshot of the whole tree (`handle.tree()`) and the shutdown, and
//! reads resident memory around them.
//!
//! ```text
//! cargo run --release -p tests --example load -- --workers 100000 --fanout 10 --order both
//! ```
//!
//! The tree: the root supervises `fanout` supervisors, each supervising
//! `fanout` more, each of which supervises `workers / fanout²` idle workers
//! (each one `ctx.cancelled().await`). With the defaults: 10 x 10
//! supervisors of 1,000 workers. Every supervisor stops its children with
//! the `--order` given: `parallel`, `sequential`, or `both` (the default:
//! each in a process of its own, parallel first). Memory is `VmRSS` from
//! `/proc/self/status`. With one order, `--repeat N` runs N trees one
//! after another in the process: memory a tree freed is reused by the next
//! one, so `VmRSS` stays where the first one left it unless something leaks.

use std::process::ExitCode;
use std::time::Instant;

use supervisor_runtime::{NodeSnapshot, StopOutcome, Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, ShutdownOrder, SupervisorSpec};

struct Args {
    workers: usize,
    fanout: usize,
    orders: Vec<ShutdownOrder>,
    /// Trees run one after another in the process (with one order).
    repeat: usize,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        workers: 100_000,
        fanout: 10,
        orders: vec![ShutdownOrder::Parallel, ShutdownOrder::Sequential],
        repeat: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .replace('_', "")
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--workers" => args.workers = number()?,
            "--fanout" => args.fanout = number()?.max(1),
            "--repeat" => args.repeat = number()?.max(1),
            "--order" => {
                args.orders = match value.as_str() {
                    "parallel" => vec![ShutdownOrder::Parallel],
                    "sequential" => vec![ShutdownOrder::Sequential],
                    "both" => vec![ShutdownOrder::Parallel, ShutdownOrder::Sequential],
                    _ => return Err(format!("--order {value}: parallel, sequential or both")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown flag {flag}; use --workers N, --fanout F, --order parallel|sequential|both, --repeat N"
                ));
            }
        }
    }
    Ok(args)
}

/// `VmRSS` in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
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

fn spec(args: &Args, order: ShutdownOrder) -> SupervisorSpec {
    let per_leaf = (args.workers / (args.fanout * args.fanout)).max(1);
    let supervisor = |id: String| {
        SupervisorSpec::new(id.as_str())
            .expect("a valid id")
            .with_shutdown_order(order)
    };
    let leaves = |zone: usize| {
        (0..per_leaf).map(move |w| {
            ChildSpec::worker(format!("w{zone}_{w}").as_str())
                .and_then(|c| c.with_task("idle"))
                .expect("a valid id")
        })
    };
    let regions = (0..args.fanout).map(|r| {
        let zones = (0..args.fanout).map(|z| {
            let zone = r * args.fanout + z;
            ChildSpec::supervisor(supervisor(format!("z{zone}")).with_children(leaves(zone)))
        });
        ChildSpec::supervisor(supervisor(format!("r{r}")).with_children(zones))
    });
    supervisor("root".to_owned()).with_children(regions)
}

fn count(node: &NodeSnapshot) -> (usize, usize) {
    node.children.iter().fold((0, 0), |(w, s), c| {
        if c.kind == "supervisor" {
            let (cw, cs) = count(c);
            (w + cw, s + cs + 1)
        } else {
            (w + 1, s)
        }
    })
}

async fn idle(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

async fn run(args: &Args, order: ShutdownOrder) -> Result<(), String> {
    let before = rss();
    let t = Instant::now();
    let spec = spec(args, order);
    let built = t.elapsed();
    let t = Instant::now();
    let tree = Supervisor::new(spec)
        .task("idle", idle)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let started = t.elapsed();
    let running = rss();
    let h = tree.handle();
    let t = Instant::now();
    let snapshot = h.tree().await.map_err(|e| e.to_string())?;
    let snapped = t.elapsed();
    let (workers, supervisors) = count(&snapshot);
    drop(snapshot);
    // A second snapshot, once the first one's memory is reused.
    let t = Instant::now();
    h.tree().await.map_err(|e| e.to_string())?;
    let snapped_again = t.elapsed();
    let t = Instant::now();
    let report = tree.shutdown().await;
    let stopped = t.elapsed();
    let nodes = report.nodes().len();
    let clean = report.count(StopOutcome::Stopped);
    drop(report);
    let after = rss();
    println!(
        "{order:?}: {workers} workers under {supervisors} supervisors (+ root)\n\
         \x20 build spec {built:>12.2?}   start {started:>12.2?}   tree() {snapped:>10.2?} (again {snapped_again:.2?})   shutdown {stopped:>12.2?}\n\
         \x20 VmRSS {} before, {} running (+{} = {:.0} B per worker), {} after shutdown\n\
         \x20 report: {nodes} nodes, {clean} stopped cleanly",
        mib(before),
        mib(running),
        mib(running.saturating_sub(before)),
        running.saturating_sub(before) as f64 / workers.max(1) as f64,
        mib(after),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let [order] = args.orders[..] {
        println!(
            "load: {threads} worker threads; VmRSS at start {}",
            mib(rss())
        );
        for _ in 0..args.repeat {
            if let Err(e) = runtime.block_on(run(&args, order)) {
                eprintln!("load: {order:?}: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    // One process per order: memory freed by one tree stays with the
    // process (the allocator keeps it), which would skew the next one.
    for order in ["parallel", "sequential"] {
        let mut child =
            std::process::Command::new(std::env::current_exe().unwrap_or_else(|_| "load".into()));
        child.args([
            "--workers",
            &args.workers.to_string(),
            "--fanout",
            &args.fanout.to_string(),
            "--order",
            order,
        ]);
        match child.status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("load: --order {order}: {status}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("load: cannot run --order {order}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
