//! What observing a tree costs per restart.
//!
//! One supervisor, one child that returns `Err` at once, `Backoff::none()`,
//! an intensity that never trips; each iteration is 1,000 restarts in a row,
//! as `restart_err` in `supervisor-runtime/benches/runtime/main.rs`. Every
//! variant runs on a fresh multi-thread runtime with 2 workers, its driver a
//! task on that runtime; timings use `iter_custom`, so building, starting
//! and shutting the tree down are not measured.
//!
//! - `none`: no observer and no subscriber: events are not even built.
//! - `subscriber`: one `subscribe()` receiver drained by a task.
//! - `journal`: a [`Journal`] of the default capacity.
//! - `metrics`: a [`MetricsObserver`] recording into the Prometheus
//!   recorder that `http::install_prometheus_recorder` installs.
//! - `journal+metrics`: both.
//! - `tracing`: a [`TracingObserver`] under a subscriber that formats the
//!   fields of the observer's events (target `supervisor`) into a buffer and
//!   writes nothing. It runs last: the subscriber is the process's global
//!   one from then on.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use supervisor_observe::http::install_prometheus_recorder;
use supervisor_observe::{DEFAULT_JOURNAL_CAPACITY, Journal, MetricsObserver, TracingObserver};
use supervisor_runtime::{Supervisor, Task, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, ShutdownOrder, SupervisorSpec, limits};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;

/// Restarts measured per iteration.
const RESTARTS: u64 = 1_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `fut` as a task on `rt` and waits for its output.
fn run<T: Send + 'static>(rt: &Runtime, fut: impl Future<Output = T> + Send + 'static) -> T {
    rt.block_on(rt.spawn(fut))
        .expect("the benchmark driver panicked")
}

/// The child that fails. Every incarnation returns `Err` at once except the
/// one numbered `target`, which ends a batch: it signals `done` and waits
/// for `go` (or its stop) before failing in turn.
#[derive(Default)]
struct Victim {
    starts: AtomicU64,
    target: AtomicU64,
    done: Notify,
    go: Notify,
}

impl Victim {
    /// Waits for the first incarnation, which ends the empty first batch.
    async fn first(&self) {
        self.done.notified().await;
    }

    /// Runs `n` restarts in a row; returns how long they took.
    async fn batch(&self, n: u64) -> Duration {
        let next = self.starts.load(Ordering::Acquire);
        self.target.store(next + n - 1, Ordering::Release);
        let t0 = Instant::now();
        self.go.notify_one();
        self.done.notified().await;
        t0.elapsed()
    }

    fn task(self: &Arc<Self>) -> impl Task {
        let v = self.clone();
        move |ctx: TaskContext| {
            let v = v.clone();
            async move {
                let n = v.starts.fetch_add(1, Ordering::AcqRel);
                if n >= v.target.load(Ordering::Acquire) {
                    v.done.notify_one();
                    tokio::select! {
                        () = ctx.cancelled() => return Ok(()),
                        () = v.go.notified() => {}
                    }
                }
                Err(std::io::Error::other("boom"))
            }
        }
    }
}

/// Who watches the tree in one variant.
#[derive(Clone, Copy)]
struct Watchers {
    subscriber: bool,
    journal: bool,
    metrics: bool,
    tracing: bool,
}

const NOBODY: Watchers = Watchers {
    subscriber: false,
    journal: false,
    metrics: false,
    tracing: false,
};

/// Starts the tree with `w` watching, runs `iters` batches of [`RESTARTS`]
/// restarts, shuts it down; returns the time the batches took.
async fn restarts(w: Watchers, iters: u64) -> Duration {
    let v = Arc::new(Victim::default());
    let spec = SupervisorSpec::new("bench")
        .expect("valid id")
        .with_intensity(limits::MAX_RESTARTS, Duration::from_millis(1))
        .with_shutdown_order(ShutdownOrder::Parallel)
        .with_child(
            ChildSpec::worker("victim")
                .expect("valid id")
                .with_backoff(Backoff::none()),
        );
    let mut tree = Supervisor::new(spec).task("victim", v.task());
    if w.journal {
        tree = tree.observer(Journal::new(DEFAULT_JOURNAL_CAPACITY));
    }
    if w.metrics {
        tree = tree.observer(MetricsObserver::new());
    }
    if w.tracing {
        tree = tree.observer(TracingObserver);
    }
    let tree = tree.start().await.expect("the tree starts");
    let drain = w.subscriber.then(|| {
        let mut rx = tree.subscribe();
        tokio::spawn(async move {
            let mut seen = 0u64;
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        std::hint::black_box(&event);
                        seen += 1;
                    }
                    Err(RecvError::Lagged(n)) => seen += n,
                    Err(RecvError::Closed) => return seen,
                }
            }
        })
    });
    v.first().await;
    let mut took = Duration::ZERO;
    for _ in 0..iters {
        took += v.batch(RESTARTS).await;
    }
    tree.shutdown().await;
    if let Some(drain) = drain {
        let seen = drain.await.expect("the drain ends");
        assert!(seen >= iters * RESTARTS, "the subscriber saw {seen} events");
    }
    took
}

fn observers(c: &mut Criterion) {
    let prometheus = install_prometheus_recorder().expect("no other metrics recorder");
    let variants = [
        ("none", NOBODY),
        (
            "subscriber",
            Watchers {
                subscriber: true,
                ..NOBODY
            },
        ),
        (
            "journal",
            Watchers {
                journal: true,
                ..NOBODY
            },
        ),
        (
            "metrics",
            Watchers {
                metrics: true,
                ..NOBODY
            },
        ),
        (
            "journal+metrics",
            Watchers {
                journal: true,
                metrics: true,
                ..NOBODY
            },
        ),
        (
            "tracing",
            Watchers {
                tracing: true,
                ..NOBODY
            },
        ),
    ];
    let mut group = c.benchmark_group("observers");
    group.sample_size(20);
    group.throughput(Throughput::Elements(RESTARTS));
    for (name, w) in variants {
        if w.tracing {
            tracing::subscriber::set_global_default(Discard)
                .expect("no other global tracing subscriber");
        }
        let rt = runtime();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let took = run(&rt, restarts(w, iters));
                // Folds recorded histogram samples into their buckets, as
                // rendering `/metrics` would, outside the measured time.
                prometheus.run_upkeep();
                took
            });
        });
    }
    group.finish();
}

/// A tracing subscriber for [`TracingObserver`]'s events (target
/// `supervisor`) that does a formatter's work without the output: it
/// formats every field into a buffer and drops it. Everything else is
/// disabled at the callsite, so the runtime's own `tracing` calls stay
/// off as in the other variants.
struct Discard;

impl Discard {
    fn wanted(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "supervisor" && metadata.is_event()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Discard {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if Self::wanted(metadata) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        Self::wanted(metadata)
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::with_capacity(256));
        let _ = write!(
            fields.0,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut fields);
        std::hint::black_box(fields.0);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

criterion_group!(benches, observers);
criterion_main!(benches);
