//! [`Policies`]: the policies children take from their specs, stored once per
//! distinct set and shared by index.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use supervisor_spec::{Backoff, Budget, ChildSpec, Readiness};

use crate::hash::{FxBuildHasher, FxHasher};

/// The parts of a child's spec the engine consults on restarts and starts,
/// read-only for the child's life. Children declared alike (the common case:
/// thousands of workers with the default backoff) share one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) backoff: Backoff,
    pub(crate) readiness: Readiness,
    pub(crate) budget: Option<Budget>,
}

impl Policy {
    fn of(spec: &ChildSpec) -> Self {
        Self {
            backoff: spec.backoff,
            readiness: spec.readiness,
            budget: spec.budget,
        }
    }

    /// Whether `self` and `other` can be shared: equal as the spec compares
    /// them (so a field added to a spec type later is compared too) and
    /// bit for bit on the floats (so `-0.0` and `0.0` stay apart).
    fn same(&self, other: &Self) -> bool {
        self.backoff == other.backoff
            && self.backoff.multiplier.to_bits() == other.backoff.multiplier.to_bits()
            && self.backoff.jitter.to_bits() == other.backoff.jitter.to_bits()
            && self.readiness == other.readiness
            && self.budget == other.budget
    }

    /// A hash over fields that are equal whenever [`same`](Self::same) is.
    fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        let b = &self.backoff;
        b.initial.hash(&mut h);
        b.max.hash(&mut h);
        b.reset_after.hash(&mut h);
        h.write_u64(b.multiplier.to_bits());
        h.write_u64(b.jitter.to_bits());
        std::mem::discriminant(&self.readiness).hash(&mut h);
        if let Readiness::Explicit { timeout } = self.readiness {
            timeout.hash(&mut h);
        }
        self.budget.map(|b| (b.max_restarts, b.window)).hash(&mut h);
        h.finish()
    }
}

/// An engine's distinct policies, referred to by index from each child.
///
/// # Invariants
///
/// `by_hash` maps a hash to the index of a policy in `table` with that hash
/// (the first one interned; another with the same hash but not the same is
/// found by scanning `table`, which a 64-bit hash makes vanishingly rare).
/// Entries are never removed: a deleted child's policy stays for the next.
#[derive(Debug, Default)]
pub(crate) struct Policies {
    table: Vec<Policy>,
    by_hash: HashMap<u64, u32, FxBuildHasher>,
}

impl Policies {
    /// The index of `spec`'s policy, added if new.
    pub(crate) fn intern(&mut self, spec: &ChildSpec) -> u32 {
        let policy = Policy::of(spec);
        // Children declared together are usually alike: check the last first.
        if let Some(last) = self.table.last()
            && last.same(&policy)
        {
            return (self.table.len() - 1) as u32;
        }
        let hash = policy.hash();
        match self.by_hash.get(&hash) {
            Some(&i) if self.table[i as usize].same(&policy) => return i,
            Some(_) => {
                if let Some(i) = self.table.iter().position(|p| p.same(&policy)) {
                    return i as u32;
                }
            }
            None => {}
        }
        let i = self.table.len() as u32;
        self.table.push(policy);
        self.by_hash.entry(hash).or_insert(i);
        i
    }

    /// The policy at `index` (from [`intern`](Self::intern)).
    pub(crate) fn get(&self, index: u32) -> &Policy {
        &self.table[index as usize]
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use supervisor_spec::{Backoff, Budget, ChildSpec};

    use super::*;

    #[test]
    fn alike_children_share_a_policy_and_different_ones_do_not() {
        let plain = ChildSpec::worker("a").unwrap();
        let slow = ChildSpec::worker("b")
            .unwrap()
            .with_backoff(Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(9),
            ));
        let budgeted = ChildSpec::worker("c")
            .unwrap()
            .with_budget(Budget::new(3, Duration::from_secs(60)));
        let mut policies = Policies::default();
        let ids: Vec<u32> = [&plain, &slow, &plain, &budgeted, &slow, &plain]
            .into_iter()
            .map(|s| policies.intern(s))
            .collect();
        assert_eq!(ids, [0, 1, 0, 2, 1, 0]);
        assert_eq!(policies.get(1).backoff, slow.backoff);
        assert_eq!(policies.get(2).budget, budgeted.budget);
    }
}
