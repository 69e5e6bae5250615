//! The cost of one restart decision, by strategy and number of children.
//!
//! Every benchmark drives a started engine whose children are all ready, in a
//! steady-state loop, so each iteration leaves the engine as it found it:
//!
//! - `one_for_one`: one child (in the middle of the order) fails, the engine
//!   restarts it at once (no backoff), and the new incarnation reports ready.
//!   One iteration is two decisions: the exit and the ready.
//! - `one_for_all`, `rest_for_one`: one child fails and the whole cycle is
//!   measured: the exit, a stopped exit reported for every stop the engine
//!   asks for, then a ready for every child it starts again. `rest_for_one`
//!   fails the middle child, so half the children go down with it.
//!
//! Intensity is at its limit (10,000 restarts) within a 1 ms period, and time
//! advances 1 ms per iteration, so it never trips; children have
//! `Backoff::none()` so restarts start at once.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use supervisor_policy::{Action, Decision, Engine, ExitKind, Generation, Input, Time};
use supervisor_spec::{Backoff, ChildSpec, ShutdownOrder, Strategy, SupervisorSpec, limits};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

/// A started engine with every child ready, and the generation of each.
struct Fixture {
    engine: Engine,
    now: Time,
    /// Current generation of each child, indexed by `ChildKey::index`.
    generations: Vec<Generation>,
    /// The child that fails on every iteration.
    victim: usize,
    pending: VecDeque<Action>,
}

impl Fixture {
    fn new(children: usize, strategy: Strategy, order: ShutdownOrder) -> Self {
        let spec = SupervisorSpec::new("bench")
            .expect("valid id")
            .with_strategy(strategy)
            .with_shutdown_order(order)
            .with_intensity(limits::MAX_RESTARTS, Duration::from_millis(1))
            .with_children((0..children).map(|i| {
                ChildSpec::worker(format!("w{i}").as_str())
                    .expect("valid id")
                    .with_backoff(Backoff::none())
            }))
            .validate()
            .expect("valid spec");
        let mut fixture = Self {
            engine: Engine::new(&spec, 7),
            now: Time::ZERO,
            generations: vec![Generation(0); children],
            victim: children / 2,
            pending: VecDeque::new(),
        };
        let d = fixture.engine.start(fixture.now);
        fixture.drive(d);
        assert_eq!(fixture.engine.alive(), children, "every child runs");
        assert!(fixture.engine.is_ready(), "every child is ready");
        fixture
    }

    /// Carries out `d` and everything that follows from it: stops complete
    /// with a stopped exit, starts report ready at once.
    fn drive(&mut self, d: Decision) {
        self.pending.extend(d.actions);
        while let Some(action) = self.pending.pop_front() {
            let input = match action {
                Action::Start {
                    child, generation, ..
                } => {
                    self.generations[child.index()] = generation;
                    Input::Ready { child, generation }
                }
                Action::Stop {
                    child, generation, ..
                } => Input::Exited {
                    child,
                    generation,
                    exit: ExitKind::Stopped,
                },
                _ => continue,
            };
            let next = self.engine.handle(self.now, input);
            self.pending.extend(next.actions);
        }
    }

    /// One failure of the victim, carried through to steady state again.
    fn cycle(&mut self) {
        self.now = self.now + Duration::from_millis(1);
        let child = self.engine.keys()[self.victim];
        let generation = self.generations[child.index()];
        let d = self.engine.handle(
            self.now,
            Input::Exited {
                child,
                generation,
                exit: ExitKind::Failed,
            },
        );
        self.drive(black_box(d));
    }
}

fn decide(c: &mut Criterion) {
    let cases = [
        (
            "one_for_one",
            Strategy::OneForOne,
            ShutdownOrder::Sequential,
        ),
        (
            "one_for_all",
            Strategy::OneForAll,
            ShutdownOrder::Sequential,
        ),
        (
            "one_for_all_parallel",
            Strategy::OneForAll,
            ShutdownOrder::Parallel,
        ),
        (
            "rest_for_one",
            Strategy::RestForOne,
            ShutdownOrder::Sequential,
        ),
        (
            "rest_for_one_parallel",
            Strategy::RestForOne,
            ShutdownOrder::Parallel,
        ),
    ];
    for (name, strategy, order) in cases {
        let mut group = c.benchmark_group(name);
        if strategy != Strategy::OneForOne {
            // A whole cycle over 10,000 children is slow; keep the run short.
            group.sample_size(10);
        }
        for children in SIZES {
            let mut fixture = Fixture::new(children, strategy, order);
            group.bench_function(BenchmarkId::from_parameter(children), |b| {
                b.iter(|| fixture.cycle());
            });
            // The loop measured was steady: everything is back up and ready.
            assert_eq!(fixture.engine.alive(), children);
            assert!(fixture.engine.is_ready());
        }
        group.finish();
    }
}

criterion_group!(benches, decide);
criterion_main!(benches);
