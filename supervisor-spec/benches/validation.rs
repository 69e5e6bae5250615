//! The cost of building and validating a spec of 10,000 children, as
//! `Supervisor::start` does on every start.
//!
//! The spec is the one the peer benchmark (`benches/peers`) starts: 10,000
//! workers `w0`..`w9999` bound to the task `idle`, under `ShutdownOrder::Sequential`
//! (the default) and `Parallel` (which adds the critical-path computation).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use supervisor_spec::{ChildId, ChildSpec, ShutdownOrder, SupervisorSpec, TaskName};

const CHILDREN: usize = 10_000;

fn spec(order: ShutdownOrder) -> SupervisorSpec {
    SupervisorSpec::new("bench")
        .expect("valid id")
        .with_shutdown_order(order)
        .with_children((0..CHILDREN).map(|i| {
            ChildSpec::worker(format!("w{i}").as_str())
                .and_then(|c| c.with_task("idle"))
                .expect("valid ids")
        }))
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("spec_10k");
    // Building includes the benchmark's own `format!` per child and dropping
    // the spec, as a start-and-shutdown does.
    g.bench_function("build", |b| {
        b.iter(|| spec(black_box(ShutdownOrder::Sequential)))
    });
    for (name, order) in [
        ("sequential", ShutdownOrder::Sequential),
        ("parallel", ShutdownOrder::Parallel),
    ] {
        let s = spec(order);
        g.bench_function(format!("check/{name}"), |b| {
            b.iter(|| black_box(&s).check())
        });
        g.bench_function(format!("validate/{name}"), |b| {
            b.iter_batched(
                || s.clone(),
                |s| s.validate().expect("valid"),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("names");
    g.bench_function("child_id", |b| {
        b.iter(|| ChildId::try_from(black_box("w1234")))
    });
    g.bench_function("task_name", |b| {
        b.iter(|| TaskName::try_from(black_box("jobs::ingest")))
    });
    let worker = ChildSpec::worker("w1234").expect("valid id");
    g.bench_function("with_task", |b| {
        b.iter_batched(
            || worker.clone(),
            |w| w.with_task(black_box("idle")),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(validation, benches);
criterion_main!(validation);
