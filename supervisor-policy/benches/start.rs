//! The cost of building and starting an engine, by number of children, and
//! the heap it holds per child.
//!
//! - `new`: [`Engine::new`] on a validated spec of n plain workers (no
//!   dependencies, no budget; default backoff and readiness).
//! - `new_start`: `new`, then [`Engine::start`] (every child started at once),
//!   then a ready input for each child: the engine a runtime holds once its
//!   tree is up.
//! - `key_lookup`: [`Engine::key`] for every child, by id.
//!
//! Before the timings it prints the heap the engine holds per child after
//! `new_start` (counted by a global allocator that tallies live bytes).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use supervisor_policy::{Action, Engine, Input, Time};
use supervisor_spec::{ChildSpec, SupervisorSpec, ValidatedSpec};

/// Tallies live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SIZES: [usize; 2] = [1_000, 10_000];

fn spec(children: usize) -> ValidatedSpec {
    SupervisorSpec::new("bench")
        .expect("valid id")
        .with_children(
            (0..children).map(|i| ChildSpec::worker(format!("w{i}").as_str()).expect("valid id")),
        )
        .validate()
        .expect("valid spec")
}

/// Builds and starts an engine and reports every started child ready.
fn new_start(spec: &ValidatedSpec) -> Engine {
    let mut engine = Engine::new(spec, 7);
    let d = engine.start(Time::ZERO);
    for action in d.actions {
        if let Action::Start {
            child, generation, ..
        } = action
        {
            engine.handle(Time::ZERO, Input::Ready { child, generation });
        }
    }
    engine
}

fn start(c: &mut Criterion) {
    for children in SIZES {
        let spec = spec(children);
        let before = LIVE.load(Ordering::Relaxed);
        let engine = new_start(&spec);
        let held = LIVE.load(Ordering::Relaxed) - before;
        assert!(engine.is_ready());
        println!(
            "engine heap with {children} children, all ready: {held} bytes, {} per child",
            held / children as isize
        );
        drop(engine);
    }

    let mut group = c.benchmark_group("new");
    for children in SIZES {
        let spec = spec(children);
        group.bench_function(BenchmarkId::from_parameter(children), |b| {
            b.iter(|| Engine::new(black_box(&spec), 7));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("new_start");
    for children in SIZES {
        let spec = spec(children);
        group.bench_function(BenchmarkId::from_parameter(children), |b| {
            b.iter(|| new_start(black_box(&spec)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("key_lookup");
    for children in SIZES {
        let spec = spec(children);
        let engine = Engine::new(&spec, 7);
        let ids: Vec<String> = (0..children).map(|i| format!("w{i}")).collect();
        group.bench_function(BenchmarkId::from_parameter(children), |b| {
            b.iter(|| {
                for id in &ids {
                    black_box(engine.key(id));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, start);
criterion_main!(benches);
