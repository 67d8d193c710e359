//! The seeded choice of request kinds: request number `i` of a run gets a kind drawn from
//! `hash(seed, i)`, so the sequence of kinds depends on the seed alone, not on which worker
//! sends which request or when.

/// Cumulative weights of the mix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mix {
    /// `cumulative[k]` is the sum of the weights of kinds `0..=k`.
    cumulative: Vec<u64>,
    total: u64,
}

impl Mix {
    /// `None` when every weight is 0 (or there are none).
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Option<Self> {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        (total > 0).then_some(Self { cumulative, total })
    }

    /// The kind of request number `index` under `seed`. Kinds of weight 0 are never chosen.
    pub fn pick(&self, seed: u64, index: u64) -> usize {
        let r = splitmix64(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Lemire's multiply-shift: uniform in 0..total up to a negligible bias.
        let v = ((u128::from(r) * u128::from(self.total)) >> 64) as u64;
        self.cumulative.partition_point(|&c| c <= v)
    }
}

/// SplitMix64's output function: a fast, well-mixed 64-bit hash.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_weights_and_zero_weights_never_win() {
        let mix = Mix::new([6, 3, 0, 1]).expect("non-zero weights");
        let mut counts = [0u64; 4];
        let n = 200_000u64;
        for i in 0..n {
            counts[mix.pick(42, i)] += 1;
        }
        assert_eq!(counts[2], 0);
        for (k, w) in [(0, 0.6), (1, 0.3), (3, 0.1)] {
            let share = counts[k] as f64 / n as f64;
            assert!((share - w).abs() < 0.01, "kind {k}: {share} vs {w}");
        }
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let mix = Mix::new([1, 1, 1]).expect("non-zero weights");
        let a: Vec<usize> = (0..1000).map(|i| mix.pick(7, i)).collect();
        let b: Vec<usize> = (0..1000).map(|i| mix.pick(7, i)).collect();
        let c: Vec<usize> = (0..1000).map(|i| mix.pick(8, i)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn all_zero_or_empty_is_refused() {
        assert!(Mix::new([0, 0]).is_none());
        assert!(Mix::new([]).is_none());
        assert_eq!(Mix::new([0, 5]).map(|m| m.pick(1, 2)), Some(1));
    }
}
