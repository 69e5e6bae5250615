//! [`FxBuildHasher`]: a small, fast, non-cryptographic hasher for the
//! engine's maps.
//!
//! The keys it hashes are child ids from validated specs, group numbers and
//! policies: trusted input, so the flooding resistance of `std`'s SipHash buys
//! nothing here and costs most of the time of building a large engine. This is
//! the multiply-rotate hash of rustc's `FxHasher` (from Firefox).

use std::hash::{BuildHasher, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Hashes a byte string in one go (the hash of [`FxHasher::write`]).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

/// rustc's `FxHasher`: one rotate, xor and multiply per word.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            self.add(u64::from_le_bytes(*word));
        }
        // The tail in one word without a copy, as rustc-hash does: two
        // overlapping reads cover 4 to 7 bytes, three 1 to 3. With the
        // length mixed in, different tails give different words.
        let n = rest.len();
        let tail = if let (Some(lo), Some(hi)) = (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
            u64::from(u32::from_le_bytes(*lo)) | u64::from(u32::from_le_bytes(*hi)) << 32
        } else if let (Some(&a), Some(&b), Some(&c)) = (rest.first(), rest.get(n / 2), rest.last())
        {
            u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16
        } else {
            return;
        };
        self.add(tail ^ ((n as u64) << 59));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weakest, and tables index by them:
        // fold the high half in.
        self.hash ^ (self.hash >> 32)
    }
}

/// Builds [`FxHasher`]s, for `HashMap<K, V, FxBuildHasher>`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxBuildHasher;

impl BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;

    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_ids_hash_apart() {
        let hashes: std::collections::HashSet<u64> = (0..10_000)
            .map(|i| hash_bytes(format!("w{i}").as_bytes()))
            .chain([hash_bytes(b"a"), hash_bytes(b"a\0")])
            .collect();
        assert_eq!(hashes.len(), 10_002);
    }
}
