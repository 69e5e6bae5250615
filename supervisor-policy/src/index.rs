//! [`IdIndex`]: finds a child's key by its id.

use crate::ChildKey;
use crate::hash::hash_bytes;

/// A hash table from child ids to keys that stores no ids: each slot holds a
/// key and its id's hash (8 bytes), and a match is confirmed against the id
/// the child's own record holds, read through the `id_of` function every
/// method takes. A `HashMap<ChildId, ChildKey>` would keep a second reference
/// to every id, 24 bytes a slot, and hash it with SipHash.
///
/// # Invariants
///
/// - `slots.len()` is zero or a power of two, and at most three quarters of
///   the slots are full, so every probe sequence ends at an empty slot.
/// - Linear probing: an entry sits at its home slot (`hash & mask`) or after
///   it, with no empty slot in between. Removal shifts later entries back
///   instead of leaving tombstones, so this holds after any removal.
/// - `id_of(key)` is the id an entry was inserted with, for as long as the
///   entry is in the table (the engine removes an entry before the child).
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    slots: Vec<Slot>,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    /// The key's number; [`EMPTY`] for a free slot. Keys count children ever
    /// added, so `u32::MAX` is never one (that many records would not fit in
    /// memory).
    key: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Slot = Slot {
    hash: 0,
    key: EMPTY,
};

fn hash(id: &str) -> u32 {
    // `hash_bytes` folds its high half into the low one.
    hash_bytes(id.as_bytes()) as u32
}

impl IdIndex {
    /// An index with room for `n` ids before it grows.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut index = Self::default();
        if n > 0 {
            index.resize(Self::slots_for(n));
        }
        index
    }

    fn slots_for(n: usize) -> usize {
        (n.saturating_mul(4) / 3 + 1).next_power_of_two().max(8)
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot holding `id`, if any.
    fn find<'a>(&self, id: &str, id_of: impl Fn(u32) -> Option<&'a str>) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let hash = hash(id);
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.key == EMPTY {
                return None;
            }
            if slot.hash == hash && id_of(slot.key) == Some(id) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The key of the child with `id`.
    pub(crate) fn get<'a>(
        &self,
        id: &str,
        id_of: impl Fn(u32) -> Option<&'a str>,
    ) -> Option<ChildKey> {
        self.find(id, id_of).map(|i| ChildKey(self.slots[i].key))
    }

    /// Maps `id` to `key`, replacing the key it had, if any.
    pub(crate) fn insert<'a>(
        &mut self,
        id: &str,
        key: ChildKey,
        id_of: impl Fn(u32) -> Option<&'a str>,
    ) {
        // Room first (the slots move), then one probe: the id's slot or
        // the first free one.
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize(Self::slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        let hash = hash(id);
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.key == EMPTY {
                *slot = Slot { hash, key: key.0 };
                self.len += 1;
                return;
            }
            if slot.hash == hash && id_of(slot.key) == Some(id) {
                slot.key = key.0;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Forgets `id`.
    pub(crate) fn remove<'a>(&mut self, id: &str, id_of: impl Fn(u32) -> Option<&'a str>) {
        let Some(mut hole) = self.find(id, id_of) else {
            return;
        };
        // Backward shift: move each later entry of the run into the hole if
        // the hole lies between its home and where it sits.
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let slot = self.slots[j];
            if slot.key == EMPTY {
                break;
            }
            let home = slot.hash as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = slot;
                hole = j;
            }
        }
        self.slots[hole] = FREE;
        self.len -= 1;
    }

    /// Puts an entry whose id is not in the table in the first free slot
    /// from its home.
    fn place(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut i = slot.hash as usize & mask;
        while self.slots[i].key != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![FREE; slots]);
        for slot in old.into_iter().filter(|s| s.key != EMPTY) {
            self.place(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids by key; `None` once removed.
    fn ids(n: usize) -> Vec<Option<String>> {
        (0..n).map(|i| Some(format!("w{i}"))).collect()
    }

    fn lookup<'a>(ids: &'a [Option<String>]) -> impl Fn(u32) -> Option<&'a str> {
        |k| ids.get(k as usize).and_then(|s| s.as_deref())
    }

    #[test]
    fn finds_every_id_after_growing_and_removing() {
        let mut ids = ids(1_000);
        let mut index = IdIndex::default();
        for (k, id) in ids.iter().enumerate() {
            let id = id.as_deref().unwrap();
            index.insert(id, ChildKey(k as u32), lookup(&ids));
        }
        // Remove every third id, in an order that breaks probe runs apart.
        for k in (0..1_000).step_by(3).rev() {
            let id = ids[k].clone().unwrap();
            index.remove(&id, lookup(&ids));
            ids[k] = None;
        }
        for k in 0..1_000 {
            let id = format!("w{k}");
            let expected = ids[k].is_some().then_some(ChildKey(k as u32));
            assert_eq!(index.get(&id, lookup(&ids)), expected, "{id}");
        }
        assert_eq!(index.get("nope", lookup(&ids)), None);
        assert_eq!(index.len, 666);
    }

    #[test]
    fn insert_replaces_the_key_of_a_known_id() {
        let ids = vec![Some("a".to_owned()), Some("a".to_owned())];
        let mut index = IdIndex::with_capacity(2);
        index.insert("a", ChildKey(0), lookup(&ids));
        index.insert("a", ChildKey(1), lookup(&ids));
        assert_eq!(index.get("a", lookup(&ids)), Some(ChildKey(1)));
        assert_eq!(index.len, 1);
        index.remove("a", lookup(&ids));
        assert_eq!(index.get("a", lookup(&ids)), None);
    }

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = IdIndex::with_capacity(0);
        assert_eq!(index.get("a", |_| None), None);
    }
}
