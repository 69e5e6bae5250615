//! The tree-wide count of nodes, so that children added at run time are held
//! to [`MAX_NODES`] as a spec is when it is validated.

use std::sync::atomic::{AtomicUsize, Ordering};

use supervisor_spec::limits::MAX_NODES;

/// How many nodes a running tree has declared below its root: its spec's,
/// and those added at run time and not deleted. Shared by every node of the
/// tree (it lives in the tree's `Bus`).
///
/// It counts what a tree may have, not what runs: a nested supervisor that
/// is down still counts its subtree, as it comes back with it when it
/// restarts. The children a nested supervisor added are given back when its
/// loop ends, since a restarted supervisor starts from its spec again. A
/// child of a nested supervisor's spec that is deleted keeps its count, for
/// the same reason: its supervisor's next incarnation has it again. The
/// root has no next incarnation, so its deleted children give theirs back.
#[derive(Debug, Default)]
pub(crate) struct TreeSize(AtomicUsize);

impl TreeSize {
    pub(crate) fn new(nodes: usize) -> Self {
        Self(AtomicUsize::new(nodes))
    }

    /// Counts `nodes` more if the tree then has at most [`MAX_NODES`];
    /// otherwise changes nothing and returns the count as it is.
    pub(crate) fn reserve(&self, nodes: usize) -> Result<(), usize> {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                now.checked_add(nodes).filter(|&total| total <= MAX_NODES)
            })
            .map(drop)
    }

    /// Counts `nodes` fewer.
    pub(crate) fn release(&self, nodes: usize) {
        // Saturating: a count never goes below zero, even if a caller's
        // bookkeeping were wrong.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_sub(nodes))
            });
    }

    #[cfg(test)]
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_past_the_limit_changes_nothing() {
        let size = TreeSize::new(MAX_NODES - 2);
        assert_eq!(size.reserve(3), Err(MAX_NODES - 2));
        assert_eq!(size.get(), MAX_NODES - 2);
        assert_eq!(size.reserve(2), Ok(()));
        assert_eq!(size.get(), MAX_NODES);
        assert_eq!(size.reserve(usize::MAX), Err(MAX_NODES));
        size.release(MAX_NODES + 5);
        assert_eq!(size.get(), 0);
    }
}
