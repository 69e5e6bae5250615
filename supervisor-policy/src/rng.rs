//! The engine's own randomness: a small, seedable, per-child PRNG.

/// SplitMix64's increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: tiny, fast, and good enough for jitter. Each child gets its own
/// stream seeded from the engine's seed and the child's id, so two children
/// never share a sequence and a run replays exactly from its seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn for_child(seed: u64, id: &str) -> Self {
        Self(seed ^ fnv1a(id.as_bytes()))
    }

    /// The stream after `draws` more draws: SplitMix64's state only counts
    /// up by a constant, so the engine keeps a count instead of a state.
    pub(crate) fn skip(self, draws: u64) -> Self {
        Self(self.0.wrapping_add(draws.wrapping_mul(GAMMA)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// FNV-1a: a stable hash (unlike `std`'s hasher, it is the same in every
/// Rust release), so seeds derived from ids replay across builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_per_child_and_replay_per_seed() {
        let a: Vec<f64> = (0..4)
            .map({
                let mut r = Rng::for_child(7, "a");
                move |_| r.next_unit()
            })
            .collect();
        let a2: Vec<f64> = (0..4)
            .map({
                let mut r = Rng::for_child(7, "a");
                move |_| r.next_unit()
            })
            .collect();
        let b: Vec<f64> = (0..4)
            .map({
                let mut r = Rng::for_child(7, "b");
                move |_| r.next_unit()
            })
            .collect();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert!(a.iter().all(|u| (0.0..1.0).contains(u)));
    }

    #[test]
    fn skipping_draws_lands_where_drawing_does() {
        let mut drawn = Rng::for_child(7, "a");
        for n in 0..5 {
            let mut skipped = Rng::for_child(7, "a").skip(n);
            assert_eq!(skipped.next_unit(), drawn.next_unit());
        }
    }
}
