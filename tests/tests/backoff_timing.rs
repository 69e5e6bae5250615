//! Backoff delays are honoured on the clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{Backoff, ChildSpec};
use support::root;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn restarts_wait_for_the_exponential_delay() {
    let starts = Arc::new(Mutex::new(Vec::new()));
    let s = starts.clone();
    let t0 = Instant::now();
    let failing = move |_ctx: TaskContext| {
        s.lock().push(t0.elapsed());
        async { Err::<(), _>(std::io::Error::other("no")) }
    };
    let spec = root([ChildSpec::worker("a").unwrap().with_backoff(
        Backoff::exponential(Duration::from_millis(100), Duration::from_millis(400))
            .with_jitter(0.0),
    )])
    .with_intensity(100, Duration::from_secs(60));
    let tree = Supervisor::new(spec)
        .task("a", failing)
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    tree.shutdown().await;
    let ms: Vec<u128> = starts.lock().iter().map(|d| d.as_millis()).collect();
    // 0, +100, +200, +400, +400, +400 ...
    assert_eq!(&ms[..6], [0, 100, 300, 700, 1_100, 1_500]);
}

#[tokio::test(start_paused = true)]
async fn zero_backoff_restarts_without_waiting_for_a_timer_tick() {
    let starts = Arc::new(Mutex::new(0u32));
    let s = starts.clone();
    let failing = move |ctx: TaskContext| {
        *s.lock() += 1;
        async move {
            if ctx.generation().0 < 50 {
                Err(std::io::Error::other("no"))
            } else {
                ctx.cancelled().await;
                Ok(())
            }
        }
    };
    let t0 = Instant::now();
    let spec = root([ChildSpec::worker("a")
        .unwrap()
        .with_backoff(Backoff::none())])
    .with_intensity(1_000, Duration::from_secs(60));
    let tree = Supervisor::new(spec)
        .task("a", failing)
        .start()
        .await
        .unwrap();
    support::settle().await;
    assert_eq!(*starts.lock(), 50);
    // Not one millisecond of (paused) time passed for 49 restarts.
    assert_eq!(t0.elapsed(), Duration::ZERO);
    tree.shutdown().await;
}
