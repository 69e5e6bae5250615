//! [`PosSet`]: an ordered set of start positions, for the children waiting to
//! start and those queued to stop.

/// A set of start positions (`0..n`), kept in two levels of bits: one bit
/// per position, and one summary bit per word of positions that has any
/// set. Inserting, removing, and finding the first member from a position
/// or the last one before it take a few word operations, however many
/// children the supervisor has; a `BTreeSet` took about 600 instructions
/// per insert or remove, paid twice per child at every start and shutdown.
#[derive(Debug, Clone, Default)]
pub(crate) struct PosSet {
    /// Bit `p % 64` of word `p / 64` is set when position `p` is a member.
    words: Vec<u64>,
    /// Bit `w % 64` of summary word `w / 64` is set when `words[w] != 0`.
    summary: Vec<u64>,
    len: usize,
}

const BITS: usize = 64;

impl PosSet {
    /// The set of every position in `0..n`.
    pub(crate) fn full(n: usize) -> Self {
        let mut set = Self::default();
        if n == 0 {
            return set;
        }
        let words = n.div_ceil(BITS);
        set.words = vec![u64::MAX; words];
        if !n.is_multiple_of(BITS) {
            set.words[words - 1] = (1u64 << (n % BITS)) - 1;
        }
        set.summary = vec![u64::MAX; words.div_ceil(BITS)];
        if !words.is_multiple_of(BITS) {
            set.summary[words / BITS] = (1u64 << (words % BITS)) - 1;
        }
        set.len = n;
        set
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn clear(&mut self) {
        self.words.clear();
        self.summary.clear();
        self.len = 0;
    }

    /// Adds `pos`; whether it was not a member yet.
    pub(crate) fn insert(&mut self, pos: u32) -> bool {
        let (w, bit) = split(pos as usize);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
            self.summary.resize(w / BITS + 1, 0);
        }
        if self.words[w] & bit != 0 {
            return false;
        }
        self.words[w] |= bit;
        let (s, sbit) = split(w);
        self.summary[s] |= sbit;
        self.len += 1;
        true
    }

    /// Removes `pos`; whether it was a member.
    pub(crate) fn remove(&mut self, pos: u32) -> bool {
        let (w, bit) = split(pos as usize);
        match self.words.get_mut(w) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                if *word == 0 {
                    let (s, sbit) = split(w);
                    self.summary[s] &= !sbit;
                }
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn contains(&self, pos: u32) -> bool {
        let (w, bit) = split(pos as usize);
        self.words.get(w).is_some_and(|word| word & bit != 0)
    }

    /// The smallest member at or after `from`.
    pub(crate) fn first_from(&self, from: usize) -> Option<u32> {
        let (w, _) = split(from);
        let word = *self.words.get(w)?;
        let here = word & (u64::MAX << (from % BITS));
        if here != 0 {
            return Some(pos(w, here.trailing_zeros()));
        }
        let w = next_set(&self.summary, w + 1)?;
        Some(pos(w, self.words[w].trailing_zeros()))
    }

    /// The largest member before `before` (exclusive).
    pub(crate) fn last_before(&self, before: usize) -> Option<u32> {
        if before == 0 || self.words.is_empty() {
            return None;
        }
        let last = (before - 1).min(self.words.len() * BITS - 1);
        let (w, _) = split(last);
        let here = self.words[w] & (u64::MAX >> (BITS - 1 - last % BITS));
        if here != 0 {
            return Some(pos(w, 63 - here.leading_zeros()));
        }
        let w = prev_set(&self.summary, w)?;
        Some(pos(w, 63 - self.words[w].leading_zeros()))
    }

    /// The members in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut next = 0usize;
        std::iter::from_fn(move || {
            let p = self.first_from(next)?;
            next = p as usize + 1;
            Some(p)
        })
    }

    /// The members in descending order.
    pub(crate) fn iter_rev(&self) -> impl Iterator<Item = u32> + '_ {
        let mut before = self.words.len() * BITS;
        std::iter::from_fn(move || {
            let p = self.last_before(before)?;
            before = p as usize;
            Some(p)
        })
    }
}

impl FromIterator<u32> for PosSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut set = Self::default();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// The word index of `i` and its bit in that word.
fn split(i: usize) -> (usize, u64) {
    (i / BITS, 1u64 << (i % BITS))
}

fn pos(word: usize, bit: u32) -> u32 {
    (word * BITS) as u32 + bit
}

/// The first index at or after `from` whose bit is set in `bits`.
fn next_set(bits: &[u64], from: usize) -> Option<usize> {
    let (mut s, _) = split(from);
    let mut word = *bits.get(s)? & (u64::MAX << (from % BITS));
    loop {
        if word != 0 {
            return Some(s * BITS + word.trailing_zeros() as usize);
        }
        s += 1;
        word = *bits.get(s)?;
    }
}

/// The last index before `before` (exclusive) whose bit is set in `bits`.
fn prev_set(bits: &[u64], before: usize) -> Option<usize> {
    if before == 0 {
        return None;
    }
    let last = before - 1;
    let (mut s, _) = split(last);
    let mut word = bits[s] & (u64::MAX >> (BITS - 1 - last % BITS));
    loop {
        if word != 0 {
            return Some(s * BITS + 63 - word.leading_zeros() as usize);
        }
        if s == 0 {
            return None;
        }
        s -= 1;
        word = bits[s];
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::PosSet;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32),
        Remove(u32),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Positions cluster in a few words but reach past one summary word.
        let pos = prop_oneof![0u32..130, 4000u32..4200, 0u32..9000];
        prop_oneof![
            10 => pos.clone().prop_map(Op::Insert),
            6 => pos.prop_map(Op::Remove),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// Every operation and query agrees with a `BTreeSet`.
        #[test]
        fn behaves_like_an_ordered_set(
            full in 0usize..300,
            ops in proptest::collection::vec(op(), 0..200),
            probes in proptest::collection::vec(0usize..9100, 0..20),
        ) {
            let mut set = PosSet::full(full);
            let mut model: BTreeSet<u32> = (0..full as u32).collect();
            for op in ops {
                match op {
                    Op::Insert(p) => prop_assert_eq!(set.insert(p), model.insert(p)),
                    Op::Remove(p) => prop_assert_eq!(set.remove(p), model.remove(&p)),
                    Op::Clear => {
                        set.clear();
                        model.clear();
                    }
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert_eq!(set.is_empty(), model.is_empty());
            }
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(
                set.iter_rev().collect::<Vec<_>>(),
                model.iter().rev().copied().collect::<Vec<_>>()
            );
            for p in probes {
                prop_assert_eq!(set.first_from(p), model.range(p as u32..).next().copied());
                prop_assert_eq!(set.last_before(p), model.range(..p as u32).next_back().copied());
                prop_assert_eq!(set.contains(p as u32), model.contains(&(p as u32)));
            }
        }
    }

    #[test]
    fn full_sets_have_exactly_their_positions() {
        for n in [0, 1, 63, 64, 65, 4095, 4096, 4097, 10_000] {
            let set = PosSet::full(n);
            assert_eq!(set.len(), n);
            assert_eq!(set.iter().count(), n, "n = {n}");
            assert_eq!(set.iter().last(), n.checked_sub(1).map(|l| l as u32));
            assert_eq!(set.iter_rev().next(), n.checked_sub(1).map(|l| l as u32));
            assert!(!set.contains(n as u32));
        }
    }
}
