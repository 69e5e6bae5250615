//! Runs the same supervision scenarios against raw tokio, this project and
//! the peer libraries, and prints a markdown table of the medians with the
//! ratio to raw tokio.
//!
//! ```text
//! cargo run --release --manifest-path benches/peers/Cargo.toml -- --rounds 5
//! ```
//!
//! Options: `--rounds N` (default 5), `--heavy-rounds N` (rounds that also
//! run the 10,000-child scenarios; default: all), `--only a,b` (contender
//! keys, raw tokio is always kept), `--scenarios a,b` (of `start`,
//! `restart`, `siblings`, `shutdown`, `heap`; default: all). Progress and every single value go to
//! stderr, the table to stdout.
//!
//! Every scenario of every contender runs on a fresh 2-worker runtime. In
//! each round the contenders take turns per scenario, and the order is
//! rotated by one each round, so no contender always runs first (or right
//! after the heaviest one).

mod contenders;
mod scenarios;
mod support;
mod table;

use std::collections::BTreeMap;

use contenders::Contender;
use scenarios::{FEW, MANY, Row};
use support::{CountingAlloc, Outcome};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Repetitions per round of the cheap start scenario (their median is the
/// round's value).
const FEW_REPS: usize = 15;
/// Repetitions per round of the 10,000-child start.
const MANY_REPS: usize = 3;
/// Repetitions per round of the restart runs without siblings.
const RESTART_REPS: usize = 3;

struct Args {
    rounds: usize,
    heavy_rounds: usize,
    only: Option<Vec<String>>,
    scenarios: Option<Vec<String>>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        rounds: 5,
        heavy_rounds: usize::MAX,
        only: None,
        scenarios: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => out.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--heavy-rounds" => {
                out.heavy_rounds = value()?
                    .parse()
                    .map_err(|e| format!("--heavy-rounds: {e}"))?
            }
            "--only" => out.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--scenarios" => out.scenarios = Some(value()?.split(',').map(str::to_owned).collect()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if out.rounds == 0 {
        return Err("--rounds must be at least 1".to_owned());
    }
    out.heavy_rounds = out.heavy_rounds.min(out.rounds);
    Ok(out)
}

/// Every value of every round, by row and contender.
pub type Results = BTreeMap<(Row, &'static str), Vec<Outcome<f64>>>;

fn record(results: &mut Results, row: Row, c: &dyn Contender, v: Outcome<f64>) {
    match &v {
        Ok(x) => eprintln!(
            "    {:<24} {:<55} {}",
            c.key(),
            row.title(),
            table::format(row.unit(), *x)
        ),
        Err(e) => eprintln!("    {:<24} {:<55} {e}", c.key(), row.title()),
    }
    results.entry((row, c.key())).or_default().push(v);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__probe-heap") {
        support::COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
        let key = args.get(1).map(String::as_str).unwrap_or("");
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(MANY);
        let all: &'static [Box<dyn Contender>] = Box::leak(contenders::all().into_boxed_slice());
        match all.iter().find(|c| c.key() == key) {
            Some(c) => scenarios::heap_probe(c.as_ref(), n),
            None => {
                println!("unknown contender {key}");
                std::process::exit(2)
            }
        }
    }
    let args = match parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "{e}\nusage: peers [--rounds N] [--heavy-rounds N] [--only key,key] [--scenarios s,s]"
            );
            std::process::exit(2)
        }
    };
    support::silence_victim_panics();

    let mut all = contenders::all();
    if let Some(only) = &args.only {
        all.retain(|c| c.key() == "raw tokio" || only.iter().any(|o| o == c.key()));
    }
    let all: &'static [Box<dyn Contender>] = Box::leak(all.into_boxed_slice());
    let sequential: &'static dyn Contender = Box::leak(contenders::ours_sequential());
    let with_ours = all.iter().any(|c| c.key() == "ours");

    let wants = |s: &str| {
        args.scenarios
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == s))
    };
    let started = std::time::Instant::now();
    let mut results = Results::new();
    for round in 0..args.rounds {
        let heavy = round < args.heavy_rounds;
        eprintln!(
            "round {}/{}{} ({:.0} s so far)",
            round + 1,
            args.rounds,
            if heavy {
                ""
            } else {
                " (light: 10,000-child scenarios skipped)"
            },
            started.elapsed().as_secs_f64()
        );
        // This round's turn order: rotated by one per round.
        let order: Vec<&'static dyn Contender> = (0..all.len())
            .map(|i| all[(i + round) % all.len()].as_ref())
            .collect();

        if wants("start") {
            eprintln!("  start {FEW}");
            for &c in &order {
                record(
                    &mut results,
                    Row::Start100,
                    c,
                    scenarios::start(c, FEW, FEW_REPS),
                );
            }
        }
        if heavy && wants("start") {
            eprintln!("  start {MANY}");
            for &c in &order {
                record(
                    &mut results,
                    Row::Start10k,
                    c,
                    scenarios::start(c, MANY, MANY_REPS),
                );
            }
        }
        for (panic, rows) in [
            (
                false,
                [Row::RestartErr, Row::RestartErrP50, Row::RestartErrP99],
            ),
            (
                true,
                [
                    Row::RestartPanic,
                    Row::RestartPanicP50,
                    Row::RestartPanicP99,
                ],
            ),
        ] {
            if !wants("restart") {
                continue;
            }
            eprintln!("  restart ({})", if panic { "panic" } else { "Err" });
            for &c in &order {
                match scenarios::restarts(c, panic, 0, RESTART_REPS) {
                    Ok(s) => {
                        record(&mut results, rows[0], c, Ok(s.per_restart));
                        record(&mut results, rows[1], c, Ok(s.p50));
                        record(&mut results, rows[2], c, Ok(s.p99));
                    }
                    Err(e) => {
                        for row in rows {
                            record(&mut results, row, c, Err(e.clone()));
                        }
                    }
                }
            }
        }
        if heavy && wants("siblings") {
            eprintln!("  restart next to {MANY} idle siblings");
            for &c in &order {
                let v = scenarios::restarts(c, false, MANY, 1).map(|s| s.per_restart);
                record(&mut results, Row::RestartSiblings, c, v);
            }
        }
        if heavy && wants("shutdown") {
            eprintln!("  shutdown {MANY}, then 1 s of CPU");
            let mut shutdown_order = order.clone();
            if with_ours {
                shutdown_order.push(sequential);
            }
            for &c in &shutdown_order {
                let row = if c.key() == sequential.key() {
                    Row::Shutdown10kSequential
                } else {
                    Row::Shutdown10k
                };
                match scenarios::shutdown(c) {
                    Ok(s) => {
                        record(&mut results, row, c, Ok(s.took));
                        if row == Row::Shutdown10k {
                            record(&mut results, Row::CpuAfterShutdown, c, Ok(s.cpu_after));
                            record(&mut results, Row::AliveAfterShutdown, c, Ok(s.alive));
                        }
                    }
                    Err(e) => {
                        record(&mut results, row, c, Err(e.clone()));
                        if row == Row::Shutdown10k {
                            record(&mut results, Row::CpuAfterShutdown, c, Err(e.clone()));
                            record(&mut results, Row::AliveAfterShutdown, c, Err(e));
                        }
                    }
                }
            }
        }
        if heavy && wants("heap") {
            eprintln!("  heap per idle child ({MANY}, fresh process each)");
            for &c in &order {
                match scenarios::heap(c) {
                    Ok(s) => {
                        record(&mut results, Row::HeapPerChild, c, Ok(s.bytes));
                        record(&mut results, Row::BlocksPerChild, c, Ok(s.blocks));
                        record(&mut results, Row::RssPerChild, c, Ok(s.rss));
                    }
                    Err(e) => {
                        for row in [Row::HeapPerChild, Row::BlocksPerChild, Row::RssPerChild] {
                            record(&mut results, row, c, Err(e.clone()));
                        }
                    }
                }
            }
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());

    let columns: Vec<&'static dyn Contender> = all.iter().map(|c| c.as_ref()).collect();
    print!(
        "{}",
        table::render(
            &results,
            &columns,
            sequential,
            args.rounds,
            args.heavy_rounds
        )
    );
}
