//! One scenario, once, for `valgrind --tool=callgrind`: instruction counts
//! move far less than times with the load of a shared machine (they still
//! move some; see `count.sh`).
//!
//! `SUPERVISOR_BENCH_PROBE=count:SCENARIO:SIDE` runs the scenario's
//! measured section once after a warm-up (a first run of start and
//! shutdown, a first batch of restarts) on the same runtime, then exits.
//! The section is the one criterion times, between [`counted_begin`] and
//! [`counted_end`], so `--dump-before='*counted_begin'
//! --dump-before='*counted_end'` makes callgrind write what every thread
//! ran in between to a dump of its own. `benches/count.sh` does that for
//! every scenario and prints a table.
//!
//! Scenarios: `start`, `shutdown-parallel`, `shutdown-sequential` (10,000
//! idle children), `restart-err`, `restart-panic` (1,000 restarts of a
//! lone child), `restart-siblings` (1,000 `Err` restarts next to 10,000
//! idle siblings). Sides: `ours`, `raw_tokio`.

use std::hint::black_box;

use super::{
    CHILDREN, Plan, RESTARTS, SilentPanics, Victim, ours_restarts, ours_shutdown, ours_start,
    raw_restarts, raw_shutdown, raw_start, run, runtime,
};
use supervisor_spec::ShutdownOrder;

/// Where the counted section begins: callgrind dumps before this call.
#[inline(never)]
pub(crate) fn counted_begin() {
    // Different bodies, so the linker never folds the two into one symbol.
    black_box(0x5EED_u32);
}

/// Where the counted section ends: callgrind dumps before this call.
#[inline(never)]
pub(crate) fn counted_end() {
    black_box(0xE4D_u64);
}

/// Runs scenario `what` (`SCENARIO:SIDE`) warmed up once, the second time
/// counted, prints how many units (children or restarts) one counted
/// section handles, and exits.
pub(crate) fn probe(what: &str) -> ! {
    let Some((scenario, side)) = what.split_once(':') else {
        fail(what)
    };
    let ours = match side {
        "ours" => true,
        "raw_tokio" => false,
        _ => fail(what),
    };
    let _silent = (scenario == "restart-panic").then(SilentPanics::new);
    let rt = runtime();
    let units = match scenario {
        "start" => {
            for _ in 0..2 {
                run(&rt, async move {
                    if ours {
                        ours_start().await
                    } else {
                        raw_start().await
                    }
                });
            }
            CHILDREN
        }
        "shutdown-parallel" | "shutdown-sequential" => {
            let sequential = scenario == "shutdown-sequential";
            let order = if sequential {
                ShutdownOrder::Sequential
            } else {
                ShutdownOrder::Parallel
            };
            for _ in 0..2 {
                run(&rt, async move {
                    if ours {
                        ours_shutdown(order).await
                    } else {
                        raw_shutdown(sequential).await
                    }
                });
            }
            CHILDREN
        }
        "restart-err" | "restart-panic" | "restart-siblings" => {
            let panic = scenario == "restart-panic";
            let siblings = if scenario == "restart-siblings" {
                CHILDREN
            } else {
                0
            };
            // One warm batch, then the counted one, latencies not recorded
            // (as in criterion's runs).
            let v = Victim::new(panic);
            run(&rt, async move {
                if ours {
                    ours_restarts(v, siblings, Plan::once(false)).await
                } else {
                    raw_restarts(v, siblings, Plan::once(false)).await
                }
            });
            usize::try_from(RESTARTS).unwrap_or(usize::MAX)
        }
        _ => fail(what),
    };
    println!("{units}");
    std::process::exit(0)
}

fn fail(what: &str) -> ! {
    eprintln!(
        "unknown count probe `{what}`: SCENARIO:SIDE, SCENARIO one of start, \
         shutdown-parallel, shutdown-sequential, restart-err, restart-panic, \
         restart-siblings, SIDE ours or raw_tokio"
    );
    std::process::exit(2)
}
