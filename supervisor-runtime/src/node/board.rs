//! [`ReadyBoard`]: how workers tell their supervisor they are ready, or
//! ended cleanly, without a message each.
//!
//! Starting many children used to send one message per child through the
//! supervisor's channel (about 700 instructions for the send, the receive
//! and the wake-up), and so did stopping them. A worker's first readiness
//! is a one-way, one-time fact about its current incarnation, already kept
//! in its `Shared` flags; so is an end with `Ok(())` and no sub-tasks left
//! (`CLEAN_EXIT`). The supervisor only needs to learn *which* children to
//! look at. So each worker sets a bit for its slot, and the supervisor,
//! woken once per batch, takes the set bits and reads each child's flags:
//! readiness first, then the exit.
//!
//! # Ordering
//!
//! A bit names a slot, not an incarnation: the supervisor checks the live
//! incarnation's flags, so a bit left by an earlier incarnation is
//! ignored. A child's readiness must reach the engine before its exit does
//! (the backoff reset depends on it): the supervisor checks the ready flag
//! before it handles an exit, however the exit came.
//!
//! Readiness that can be withdrawn (a nested supervisor's roll-up) and
//! exits that carry data (an error, a panic, sub-tasks, a nested report)
//! still go through messages; those wake the supervisor through the board
//! as well (see `Inbox`), so the board's waker is all its loop waits on
//! besides its timers and its own stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use atomic_waker::AtomicWaker;

/// Bits by child slot, with a summary bit per word of them, and the
/// supervisor's waker.
#[derive(Debug, Default)]
pub(crate) struct ReadyBoard {
    /// Bit `i % 64` of word `i / 64`: slot `i` may have become ready.
    words: Box<[AtomicU64]>,
    /// Bit `w % 64` of summary word `w / 64`: word `w` may be non-zero.
    summary: Box<[AtomicU64]>,
    /// Set by the first mark, or message (see `Inbox`), since the
    /// supervisor last took the board; the one that sets it wakes the
    /// supervisor.
    pending: AtomicBool,
    waker: AtomicWaker,
}

const BITS: usize = 64;

impl ReadyBoard {
    /// A board for slots `0..slots`.
    pub(crate) fn new(slots: usize) -> Self {
        let words = slots.div_ceil(BITS);
        Self {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            summary: (0..words.div_ceil(BITS))
                .map(|_| AtomicU64::new(0))
                .collect(),
            pending: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// Whether the board has `slot` (children added after the supervisor
    /// started have none).
    pub(crate) fn has_slot(&self, slot: usize) -> bool {
        slot / BITS < self.words.len()
    }

    /// Marks `slot`; `false` if the board has no such slot (a child added
    /// after the supervisor started), which must then tell it another way.
    pub(crate) fn mark(&self, slot: usize) -> bool {
        if !self.mark_quietly(slot) {
            return false;
        }
        self.wake();
        true
    }

    /// Marks `slot` without waking the supervisor: whatever wakes it next
    /// (a mark, a message, `wake`) has it take this mark too. `false` if
    /// the board has no such slot.
    pub(crate) fn mark_quietly(&self, slot: usize) -> bool {
        let Some(word) = self.words.get(slot / BITS) else {
            return false;
        };
        // Every word that goes from zero to non-zero gets its summary bit
        // set after, and the supervisor clears a summary bit before the
        // word: so no set bit is ever left without its summary bit.
        if word.fetch_or(1 << (slot % BITS), Ordering::AcqRel) == 0 {
            let w = slot / BITS;
            self.summary[w / BITS].fetch_or(1 << (w % BITS), Ordering::AcqRel);
        }
        true
    }

    /// Wakes the supervisor, unless a wake-up is pending already (an
    /// `Inbox` does this after it sent a message).
    pub(crate) fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Has the supervisor's next `take` look at the marks, without waking
    /// it (it is awake: marks made quietly are to be taken).
    pub(crate) fn flag_pending(&self) {
        self.pending.store(true, Ordering::Release);
    }

    /// Registers the supervisor's waker; whether marks or messages are
    /// waiting.
    pub(crate) fn poll_pending(&self, waker: &std::task::Waker) -> bool {
        self.waker.register(waker);
        self.pending.load(Ordering::Acquire)
    }

    /// Takes every marked slot, calling `f` with each, in slot order.
    pub(crate) fn take(&self, mut f: impl FnMut(usize)) {
        // Cleared first: a mark after this wakes the supervisor again, and
        // every mark before it is seen below. The same holds for messages,
        // which the supervisor reads only after this (`Inbox`). Read
        // first: most turns find nothing, and a read is cheaper than a
        // swap.
        if !self.pending.load(Ordering::Acquire) || !self.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        for (s, summary) in self.summary.iter().enumerate() {
            let mut words = summary.swap(0, Ordering::AcqRel);
            while words != 0 {
                let w = s * BITS + words.trailing_zeros() as usize;
                words &= words - 1;
                let mut bits = self.words[w].swap(0, Ordering::AcqRel);
                while bits != 0 {
                    f(w * BITS + bits.trailing_zeros() as usize);
                    bits &= bits - 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(board: &ReadyBoard) -> Vec<usize> {
        let mut out = Vec::new();
        board.take(|i| out.push(i));
        out
    }

    #[test]
    fn marks_are_taken_once_in_slot_order() {
        let board = ReadyBoard::new(10_000);
        for slot in [9_999, 0, 64, 63, 4_096, 64] {
            assert!(board.mark(slot));
        }
        assert_eq!(taken(&board), vec![0, 63, 64, 4_096, 9_999]);
        assert!(taken(&board).is_empty());
        assert!(board.mark(5));
        assert_eq!(taken(&board), vec![5]);
    }

    #[test]
    fn slots_beyond_the_board_are_refused() {
        let board = ReadyBoard::new(3);
        // Rounded up to a word: slot 63 still fits, slot 64 does not.
        assert!(board.mark(63));
        assert!(!board.mark(64));
        assert!(!ReadyBoard::new(0).mark(0));
        assert_eq!(taken(&board), vec![63]);
    }

    #[test]
    fn the_first_mark_of_a_batch_wakes_the_waiter() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        use std::task::{Wake, Waker};

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let board = ReadyBoard::new(128);
        assert!(!board.poll_pending(&waker));
        board.mark(1);
        board.mark(2);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(board.poll_pending(&waker));
        assert_eq!(taken(&board), vec![1, 2]);
        assert!(!board.poll_pending(&waker));
        board.mark(3);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn marks_from_many_threads_are_all_taken() {
        use std::collections::BTreeSet;
        use std::sync::Arc;

        let board = Arc::new(ReadyBoard::new(8 * 1_000));
        let mut seen = BTreeSet::new();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let board = board.clone();
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        assert!(board.mark(i * 8 + t));
                    }
                })
            })
            .collect();
        // Take while they mark: nothing may be lost or seen twice.
        while threads.iter().any(|t| !t.is_finished()) {
            board.take(|i| assert!(seen.insert(i), "slot {i} taken twice"));
        }
        for t in threads {
            t.join().unwrap();
        }
        board.take(|i| assert!(seen.insert(i), "slot {i} taken twice"));
        assert_eq!(seen.len(), 8_000);
    }
}
