//! Waiting for a stop: the first waiter's waker slot, the `Notify` for the
//! others, and no lost wake-up between them and a concurrent stop.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use supervisor_spec::ChildId;
use tokio::time::Instant;

use super::*;

fn shared() -> Arc<Shared> {
    let id = ChildId::new("worker").expect("a valid id");
    Shared::root(id, Instant::now(), tokio::sync::watch::channel(0).0)
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

fn holds(shared: &Shared, flag: u16) -> bool {
    shared.flags.load(Ordering::Acquire) & flag != 0
}

#[test]
fn the_first_waiter_takes_the_waker_slot_and_gives_it_back() {
    let shared = shared();
    {
        let mut first = pin!(shared.wait(false));
        assert!(poll_once(first.as_mut()).is_pending());
        assert!(holds(&shared, WAITER));
        assert!(!holds(&shared, HAS_NOTIFY), "one waiter needs no Notify");
    }
    // Dropped before the stop: the slot is free for the next waiter.
    assert!(!holds(&shared, WAITER));
    let mut next = pin!(shared.wait(false));
    assert!(poll_once(next.as_mut()).is_pending());
    assert!(holds(&shared, WAITER));
    assert!(!holds(&shared, HAS_NOTIFY));
    shared.cancel(StopReason::Shutdown, None);
    assert!(poll_once(next.as_mut()).is_ready());
    assert!(
        !holds(&shared, WAITER),
        "a waiter that is done gives it back"
    );
}

#[test]
fn a_waiter_after_the_stop_is_done_at_once() {
    let shared = shared();
    shared.cancel(StopReason::Shutdown, None);
    assert!(poll_once(pin!(shared.wait(false))).is_ready());
    assert!(!holds(&shared, WAITER));
}

#[tokio::test]
async fn every_waiter_is_woken_by_the_stop() {
    let shared = shared();
    let waiters = spawn_waiters(&shared, 3);
    // Let each wait.
    while !holds(&shared, HAS_NOTIFY) {
        tokio::task::yield_now().await;
    }
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert!(holds(&shared, WAITER));
    shared.cancel(StopReason::Shutdown, None);
    assert!(all_end(waiters).await, "woken by the stop");
}

/// `n` tasks that each wait for the stop.
fn spawn_waiters(shared: &Arc<Shared>, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let shared = shared.clone();
            tokio::spawn(async move { shared.wait(false).await })
        })
        .collect()
}

/// Whether the waiters all end within a few seconds (none panics).
async fn all_end(waiters: Vec<tokio::task::JoinHandle<()>>) -> bool {
    for waiter in waiters {
        match tokio::time::timeout(Duration::from_secs(5), waiter).await {
            Ok(ended) => ended.expect("the waiter does not panic"),
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn an_abort_after_the_stop_wakes_the_abort_waiters() {
    let shared = shared();
    // As a nested supervisor's loop: a waiter for each.
    let mut cancelled = pin!(shared.wait(false));
    let mut aborted = pin!(shared.wait(true));
    assert!(poll_once(cancelled.as_mut()).is_pending());
    assert!(poll_once(aborted.as_mut()).is_pending());
    shared.cancel(StopReason::Shutdown, None);
    assert!(poll_once(cancelled.as_mut()).is_ready());
    assert!(poll_once(aborted.as_mut()).is_pending());
    shared.abort();
    assert!(poll_once(aborted.as_mut()).is_ready());
}

/// A waiter polled after the flag is set is done, on either path, even
/// before the stop's wake-up came: a stop from another thread sets the
/// flag first, and a supervisor's loop that sees it then polls its
/// waiters once, and not again for that wake-up (see `Node::run`). A
/// waiter on the `Notify` that looked only after a notification kept
/// the loop from ever seeing its stop.
#[test]
fn a_waiter_polled_after_the_flag_is_done_before_the_wake_up() {
    let shared = shared();
    let mut aborted = pin!(shared.wait(true));
    let mut cancelled = pin!(shared.wait(false));
    assert!(poll_once(aborted.as_mut()).is_pending());
    assert!(poll_once(cancelled.as_mut()).is_pending());
    assert!(holds(&shared, WAITER) && holds(&shared, HAS_NOTIFY));
    // As `cancel` does, up to its wake-up.
    shared.flags.fetch_or(CANCELLED, Ordering::AcqRel);
    assert!(poll_once(cancelled.as_mut()).is_ready());
    shared.flags.fetch_or(ABORTED, Ordering::AcqRel);
    assert!(poll_once(aborted.as_mut()).is_ready());
}

/// A waiter on each path against a stop from another thread, many times
/// over: a wake-up lost between the flag and a waiter's registration
/// shows as a waiter that never ends.
#[test]
fn no_waiter_misses_a_concurrent_stop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        for round in 0..2_000 {
            let shared = shared();
            let waiters = spawn_waiters(&shared, 2);
            let stopper = shared.clone();
            std::thread::spawn(move || stopper.cancel(StopReason::Shutdown, None));
            assert!(
                all_end(waiters).await,
                "round {round}: a waiter missed the stop"
            );
        }
    });
}

/// Counts its wake-ups.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// As in a nested supervisor's loop, where the abort waiter holds the
/// waker slot: the stop's wake-up uses up its waker, and the poll after
/// it registers again, so the abort wakes it too.
#[test]
fn the_waker_slot_wakes_again_after_a_re_poll() {
    let shared = shared();
    let count = Arc::new(Counting::default());
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    let mut aborted = pin!(shared.wait(true));
    assert!(aborted.as_mut().poll(&mut cx).is_pending());
    assert!(holds(&shared, WAITER));
    shared.cancel(StopReason::Shutdown, None);
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "the stop wakes it");
    assert!(aborted.as_mut().poll(&mut cx).is_pending());
    shared.abort();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        2,
        "the abort wakes it again"
    );
    assert!(aborted.as_mut().poll(&mut cx).is_ready());
}
