//! [`Journal`]: a bounded ring buffer of a tree's recent events.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use supervisor_runtime::{Event, Observer};
use supervisor_spec::ChildPath;

/// The default number of events a journal keeps.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 4096;

/// Keeps the most recent events of a tree, up to a fixed capacity: memory
/// stays flat however long the tree runs. Register it as an observer
/// (`Supervisor::observer(journal.clone())`); clones share one buffer.
///
/// # Examples
///
/// ```
/// use supervisor_observe::{Journal, JournalQuery};
///
/// let journal = Journal::new(1000);
/// // Supervisor::new(spec).observer(journal.clone())...
/// let recent = journal.query(&JournalQuery::default().under("root/jobs").limit(50));
/// assert!(recent.is_empty());
/// ```
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    events: Mutex<VecDeque<Event>>,
    seen: AtomicU64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("capacity", &self.inner.capacity)
            .field("len", &self.len())
            .field("seen", &self.seen())
            .finish()
    }
}

/// Which events a [`Journal::query`] returns.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct JournalQuery {
    /// Only events about this node or nodes below it.
    pub under: Option<ChildPath>,
    /// Only events at or after this time since the tree started.
    pub since: Option<Duration>,
    /// Only events before this time since the tree started.
    pub until: Option<Duration>,
    /// At most this many, the most recent ones.
    pub limit: Option<usize>,
}

impl JournalQuery {
    /// Only events about `path` or below it. An unparsable path matches
    /// nothing.
    pub fn under(mut self, path: &str) -> Self {
        self.under = path.parse().ok().or_else(|| {
            // Keep the filter, impossible to match, rather than dropping it.
            "unmatched-path-filter".parse().ok()
        });
        self
    }

    /// Only events at or after `t` since the tree started.
    pub fn since(mut self, t: Duration) -> Self {
        self.since = Some(t);
        self
    }

    /// Only events before `t` since the tree started.
    pub fn until(mut self, t: Duration) -> Self {
        self.until = Some(t);
        self
    }

    /// At most `n` events, the most recent.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    fn matches(&self, e: &Event) -> bool {
        self.under.as_ref().is_none_or(|p| p.is_prefix_of(&e.path))
            && self.since.is_none_or(|t| e.elapsed >= t)
            && self.until.is_none_or(|t| e.elapsed < t)
    }
}

impl Journal {
    /// A journal keeping the last `capacity` events (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Arc::new(Inner {
                capacity,
                events: Mutex::new(VecDeque::with_capacity(capacity.min(65_536))),
                seen: AtomicU64::new(0),
            }),
        }
    }

    /// How many events it keeps at most.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// How many events it holds now.
    pub fn len(&self) -> usize {
        self.inner.events.lock().len()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events it has seen in all (kept or since evicted).
    pub fn seen(&self) -> u64 {
        self.inner.seen.load(Ordering::Relaxed)
    }

    /// The events matching `query`, oldest first.
    pub fn query(&self, query: &JournalQuery) -> Vec<Event> {
        let events = self.inner.events.lock();
        let mut out: Vec<Event> = events
            .iter()
            .filter(|e| query.matches(e))
            .cloned()
            .collect();
        if let Some(n) = query.limit
            && out.len() > n
        {
            out.drain(..out.len() - n);
        }
        out
    }

    /// The last `n` events, oldest first.
    pub fn recent(&self, n: usize) -> Vec<Event> {
        self.query(&JournalQuery::default().limit(n))
    }

    pub(crate) fn push(&self, event: &Event) {
        self.inner.seen.fetch_add(1, Ordering::Relaxed);
        let mut events = self.inner.events.lock();
        if events.len() == self.inner.capacity {
            events.pop_front();
        }
        events.push_back(event.clone());
    }
}

impl Observer for Journal {
    fn on_event(&self, event: &Event) {
        self.push(event);
    }
}
