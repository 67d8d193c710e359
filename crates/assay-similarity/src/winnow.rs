//! k-gram hashing and winnowing (Schleimer, Wilkerson and Aiken, "Winnowing: local
//! algorithms for document fingerprinting", SIGMOD 2003): of every window of `w` consecutive
//! k-gram hashes the smallest is kept, so any match of at least `w + k - 1` tokens shares at
//! least one fingerprint, and the fingerprints kept do not depend on what surrounds a match.

use crate::tokens::Token;

/// One selected k-gram: its hash and the lines it spans in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: u64,
    /// Index of the file in its document's file list.
    pub file: u32,
    pub first_line: u32,
    pub last_line: u32,
}

/// A finaliser (from SplitMix64) so that k-gram hashes are spread evenly and the window's
/// minimum is a fair choice.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of every k-gram of `tokens` (a rolling polynomial hash), in order.
pub fn kgram_hashes(tokens: &[Token], k: usize) -> Vec<u64> {
    if k == 0 || tokens.len() < k {
        return Vec::new();
    }
    const BASE: u64 = 0x0100_0000_01b3;
    let top = (1..k).fold(1u64, |acc, _| acc.wrapping_mul(BASE));
    let mut h = tokens[..k]
        .iter()
        .fold(0u64, |acc, t| acc.wrapping_mul(BASE).wrapping_add(t.symbol));
    let mut out = Vec::with_capacity(tokens.len() - k + 1);
    out.push(mix(h));
    for i in k..tokens.len() {
        h = h
            .wrapping_sub(tokens[i - k].symbol.wrapping_mul(top))
            .wrapping_mul(BASE)
            .wrapping_add(tokens[i].symbol);
        out.push(mix(h));
    }
    out
}

/// Robust winnowing: in each window of `w` hashes the minimum (the rightmost on ties) is
/// selected, each selection recorded once. Returns the selected k-gram positions.
pub fn winnow(hashes: &[u64], w: usize) -> Vec<usize> {
    let w = w.max(1);
    if hashes.is_empty() {
        return Vec::new();
    }
    if hashes.len() <= w {
        let min = (0..hashes.len())
            .rev()
            .min_by_key(|&i| hashes[i])
            .unwrap_or(0);
        return vec![min];
    }
    let mut selected: Vec<usize> = Vec::new();
    // A deque of candidate positions with increasing hashes (monotone queue).
    let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for i in 0..hashes.len() {
        while queue.back().is_some_and(|&j| hashes[j] >= hashes[i]) {
            queue.pop_back();
        }
        queue.push_back(i);
        while queue.front().is_some_and(|&j| j + w <= i) {
            queue.pop_front();
        }
        if i + 1 >= w
            && let Some(&min) = queue.front()
            && selected.last() != Some(&min)
        {
            selected.push(min);
        }
    }
    selected
}

/// The fingerprints of one file's tokens.
pub fn fingerprints(tokens: &[Token], file: u32, k: usize, w: usize) -> Vec<Fingerprint> {
    let hashes = kgram_hashes(tokens, k);
    winnow(&hashes, w)
        .into_iter()
        .map(|i| Fingerprint {
            hash: hashes[i],
            file,
            first_line: tokens[i].line,
            last_line: tokens[i + k - 1].line,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(symbols: &[u64]) -> Vec<Token> {
        symbols
            .iter()
            .enumerate()
            .map(|(i, &symbol)| Token {
                symbol,
                line: u32::try_from(i).unwrap_or(0) + 1,
            })
            .collect()
    }

    #[test]
    fn rolling_hash_equals_hashing_each_kgram() {
        let t = tokens(&[5, 9, 2, 7, 7, 1, 3, 8]);
        let rolled = kgram_hashes(&t, 3);
        assert_eq!(rolled.len(), 6);
        for (i, h) in rolled.iter().enumerate() {
            assert_eq!(*h, kgram_hashes(&t[i..i + 3], 3)[0], "k-gram {i}");
        }
        assert!(kgram_hashes(&t[..2], 3).is_empty());
    }

    #[test]
    fn winnowing_keeps_each_windows_minimum_once() {
        // The paper's example hashes, window 4.
        let h = [
            77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98,
        ];
        let picked: Vec<u64> = winnow(&h, 4).into_iter().map(|i| h[i]).collect();
        assert_eq!(picked, vec![17, 17, 8, 39, 17]);
        // Every window holds a selected position.
        let at = winnow(&h, 4);
        for start in 0..=h.len() - 4 {
            assert!(at.iter().any(|&p| p >= start && p < start + 4), "{start}");
        }
    }

    #[test]
    fn a_shared_run_shares_fingerprints_whatever_surrounds_it() {
        let shared: Vec<u64> = (100..140).collect();
        let mut a = vec![1, 2, 3, 4, 5, 6];
        a.extend(&shared);
        let mut b = shared.clone();
        b.extend([9, 8, 7, 6, 5, 4, 3]);
        let fa: std::collections::HashSet<u64> = fingerprints(&tokens(&a), 0, 5, 4)
            .iter()
            .map(|f| f.hash)
            .collect();
        let fb: std::collections::HashSet<u64> = fingerprints(&tokens(&b), 0, 5, 4)
            .iter()
            .map(|f| f.hash)
            .collect();
        assert!(fa.intersection(&fb).count() >= (shared.len() - 5) / 4);
    }
}
