//! [`IdHash`]: the fast hasher behind validation's index of sibling ids.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use crate::ChildId;

/// Sibling ids and their positions. A key is the child's own `ChildId`, by
/// reference (8 bytes, where a `&str` takes 16), so the table stays small.
pub(crate) type IdIndex<'a> = HashMap<&'a ChildId, usize, IdHash>;

/// Builds [`IdHasher`]s that share one random key per process.
///
/// std's SipHash of a short id cost more than all the other checks of a
/// worker. Ids are at most 63 bytes, so a folded multiply per 8 bytes (the
/// construction of foldhash and rustc-hash 2) hashes one in a few
/// nanoseconds, and the fold mixes every input bit into both the low bits
/// hashbrown picks a bucket with and the top bits it tags entries with (a
/// plain FxHash leaves the low bits of `w0`..`w9999` nearly equal). It is not
/// cryptographic: the random key only keeps a crafted config file from
/// carrying ids precomputed to share one bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHash {
    key: u64,
}

impl IdHash {
    pub(crate) fn new() -> Self {
        static KEY: OnceLock<u64> = OnceLock::new();
        Self {
            key: *KEY.get_or_init(|| RandomState::new().hash_one(0x5eed_u64)),
        }
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher { hash: self.key }
    }
}

/// See [`IdHash`].
#[derive(Debug)]
pub(crate) struct IdHasher {
    hash: u64,
}

/// An odd constant with well-spread bits (rustc-hash 2's multiplier).
const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

impl IdHasher {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.hash ^ word) * u128::from(MULTIPLIER);
        // Truncations on purpose: the fold is the low half XOR the high half.
        self.hash = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    // Whole words only, some of them overlapping, as foldhash reads: a copy
    // of a variable-length tail calls `memcpy` and stalls the load after it.
    fn write(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        // The overlapping reads below repeat bytes; the length tells apart
        // the strings that they would read the same.
        self.hash ^= len as u64;
        if len > 8 {
            let mut at = 0;
            while at + 8 < len {
                self.mix(word(bytes, at));
                at += 8;
            }
            self.mix(word(bytes, len - 8));
        } else if len >= 4 {
            self.mix(u64::from(half(bytes, 0)) | u64::from(half(bytes, len - 4)) << 32);
        } else if len > 0 {
            self.mix(
                u64::from(bytes[0])
                    | u64::from(bytes[len / 2]) << 8
                    | u64::from(bytes[len - 1]) << 16,
            );
        }
    }

    // `str`'s `Hash` ends every string with `write_u8(0xff)`.
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The 8 bytes at `at` (the caller keeps `at + 8 <= bytes.len()`).
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The 4 bytes at `at` (the caller keeps `at + 4 <= bytes.len()`).
fn half(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_similar_ids_over_buckets() {
        // The ids the peer benchmark starts: with 16,384 buckets (hashbrown's
        // table for 10,000 entries), nearly every id gets a bucket of its own.
        let hash = IdHash::new();
        let mut buckets = std::collections::BTreeSet::new();
        for i in 0..10_000 {
            buckets.insert(hash.hash_one(format!("w{i}").as_str()) & 0x3fff);
        }
        assert!(buckets.len() > 7_000, "{} buckets", buckets.len());
        let mut tags = std::collections::BTreeSet::new();
        for i in 0..10_000 {
            tags.insert(hash.hash_one(format!("w{i}").as_str()) >> 57);
        }
        assert_eq!(tags.len(), 128);
    }

    #[test]
    fn equal_ids_hash_equal_and_the_index_finds_them() {
        let long = "a-very-long-child-id-that-spans-several-words.of-8-bytes";
        let ids: Vec<ChildId> = [
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "abcdefgh",
            "abcdefghi",
            long,
        ]
        .into_iter()
        .map(|id| id.parse().unwrap())
        .collect();
        let mut index = IdIndex::with_capacity_and_hasher(8, IdHash::new());
        for (i, id) in ids.iter().enumerate() {
            index.insert(id, i);
        }
        for (i, id) in ids.iter().enumerate() {
            let copy: ChildId = id.as_str().parse().unwrap();
            assert_eq!(index.get(&copy), Some(&i), "{id}");
        }
        for absent in ["b", "abcdefghij"] {
            assert_eq!(index.get(&absent.parse::<ChildId>().unwrap()), None);
        }
    }
}
