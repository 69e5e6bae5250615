//! [`Recorder`]: keeps every event of a tree and asserts on the sequence.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::{Event, EventKind, Observer};

/// Records every event of a tree (register it with
/// [`Supervisor::observer`](crate::Supervisor::observer)); clones share the
/// record. Lines are the events' [`Display`](std::fmt::Display) without the
/// time and generation: `root/ingest exited failed: task returned an error: x`.
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    events: Mutex<Vec<Event>>,
    changed: Notify,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("events", &self.inner.events.lock().len())
            .finish()
    }
}

/// [`Recorder::wait_for`] gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no event line containing {wanted:?} within {within:?}; lines so far:\n{lines}")]
pub struct WaitTimedOut {
    /// What was waited for.
    pub wanted: String,
    /// How long.
    pub within: Duration,
    /// Every line recorded, one per line.
    pub lines: String,
}

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.inner.events.lock().push(event.clone());
        self.inner.changed.notify_waiters();
    }
}

/// An event as a line without time or generation.
pub(crate) fn plain(e: &Event) -> String {
    let full = e.to_string();
    // "[   1.204s] root/a#3 exited ..." -> "root/a exited ..."
    let rest = full.split_once("] ").map_or(full.as_str(), |(_, r)| r);
    match rest.split_once(' ') {
        Some((node, what)) => {
            let node = node.split('#').next().unwrap_or(node);
            format!("{node} {what}")
        }
        None => rest.to_owned(),
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.inner.events.lock().clone()
    }

    /// Every event so far as a plain line.
    pub fn lines(&self) -> Vec<String> {
        self.inner.events.lock().iter().map(plain).collect()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.inner.events.lock().clear();
    }

    /// How many events of `kind` (e.g. `"exited"`, see
    /// [`EventKind::name`]) concern exactly `path`.
    pub fn count(&self, path: &str, kind: &str) -> usize {
        self.inner
            .events
            .lock()
            .iter()
            .filter(|e| e.kind.name() == kind && e.path.to_string() == path)
            .count()
    }

    /// The delays of every restart scheduled for `path`, in order.
    pub fn restart_delays(&self, path: &str) -> Vec<Duration> {
        self.inner
            .events
            .lock()
            .iter()
            .filter(|e| e.path.to_string() == path)
            .filter_map(|e| match e.kind {
                EventKind::RestartScheduled { delay, .. } => Some(delay),
                _ => None,
            })
            .collect()
    }

    /// Asserts that lines containing each of `expected` were recorded, in
    /// this order (other lines may come between).
    ///
    /// # Panics
    ///
    /// With the missing line and every recorded line, when they were not.
    #[track_caller]
    pub fn assert_in_order(&self, expected: &[&str]) {
        let lines = self.lines();
        let mut at = 0;
        for want in expected {
            match lines[at..].iter().position(|l| l.contains(want)) {
                Some(i) => at += i + 1,
                None => panic!(
                    "expected a line containing {want:?} after line {at}; recorded:\n{}",
                    lines.join("\n")
                ),
            }
        }
    }

    /// Waits until a line containing `wanted` is recorded, for at most
    /// `within` (on the paused clock this takes no real time).
    ///
    /// # Errors
    ///
    /// [`WaitTimedOut`] with every line recorded so far.
    pub async fn wait_for(&self, wanted: &str, within: Duration) -> Result<(), WaitTimedOut> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lines().iter().any(|l| l.contains(wanted)) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(WaitTimedOut {
                    wanted: wanted.to_owned(),
                    within,
                    lines: self.lines().join("\n"),
                });
            }
        }
    }
}
