//! Comparing documents through an inverted index fingerprint → documents (the MOSS way):
//! only documents that share a fingerprint are ever paired, fingerprints found in many
//! documents (shared boilerplate) or in what the assessment hands out are discounted, and
//! the pairs above the threshold get their matched regions.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::document::{Document, Origin};
use crate::winnow::Fingerprint;
use crate::{Closest, DocumentSummary, Options, Pair, Region, Report};

/// Compares every submission of `cohort` with every other and with every `known` solution.
/// Fingerprints of `handed_out` (the assessment's kit and starter code, a framework's
/// skeleton) are dropped everywhere first.
pub fn compare(
    cohort: &[Document],
    known: &[Document],
    handed_out: &[Document],
    options: &Options,
) -> Report {
    let docs: Vec<&Document> = cohort.iter().chain(known).collect();
    let excluded: HashSet<u64> = handed_out
        .iter()
        .flat_map(|d| d.fingerprints.iter().map(|f| f.hash))
        .collect();

    // Each document's distinct fingerprints, less the handed-out ones.
    let distinct: Vec<Vec<u64>> = docs
        .par_iter()
        .map(|d| {
            let mut h: Vec<u64> = d
                .fingerprints
                .iter()
                .map(|f| f.hash)
                .filter(|h| !excluded.contains(h))
                .collect();
            h.sort_unstable();
            h.dedup();
            h
        })
        .collect();

    // The inverted index, as (hash, document) sorted by hash.
    let mut postings: Vec<(u64, u32)> = distinct
        .iter()
        .enumerate()
        .flat_map(|(d, hs)| {
            let d = u32::try_from(d).unwrap_or(u32::MAX);
            hs.iter().map(move |&h| (h, d))
        })
        .collect();
    postings.par_sort_unstable();

    let limit = options.common_limit(docs.len());
    let mut common: HashSet<u64> = HashSet::new();
    let mut counts = PairCounts::new(docs.len());
    let is_known = |d: u32| {
        docs.get(d as usize)
            .is_some_and(|d| d.origin == Origin::Known)
    };
    for group in postings.chunk_by(|x, y| x.0 == y.0) {
        if group.len() > limit {
            common.insert(group[0].0);
            continue;
        }
        for (i, &(_, a)) in group.iter().enumerate() {
            for &(_, b) in &group[i + 1..] {
                if !(is_known(a) && is_known(b)) {
                    counts.add(a, b);
                }
            }
        }
    }
    drop(postings);

    // What each document has of its own: neither handed out nor common.
    let own: Vec<usize> = distinct
        .iter()
        .map(|hs| hs.iter().filter(|h| !common.contains(h)).count())
        .collect();
    let score = |a: u32, b: u32, shared: u32| -> f64 {
        let smaller = own[a as usize]
            .min(own[b as usize])
            .max(options.min_fingerprints);
        (f64::from(shared) / smaller as f64).min(1.0)
    };

    let scored: Vec<(u32, u32, u32, f64)> = counts
        .into_pairs()
        .into_iter()
        .map(|(a, b, shared)| (a, b, shared, score(a, b, shared)))
        .collect();

    // Each submission's closest match, above the threshold or not.
    let cohort_len = cohort.len();
    let mut best: Vec<Option<(u32, u32, u32, f64)>> = vec![None; cohort_len];
    for &(a, b, shared, s) in &scored {
        for (me, _) in [(a, b), (b, a)] {
            if let Some(slot) = best.get_mut(me as usize)
                && slot.is_none_or(|(_, _, _, old)| s > old)
            {
                *slot = Some((a, b, shared, s));
            }
        }
    }
    let mut wanted: Vec<(u32, u32, u32, f64)> = scored
        .iter()
        .copied()
        .filter(|&(_, _, _, s)| s >= options.threshold)
        .collect();
    for &(a, b, shared, s) in best.iter().flatten() {
        if !wanted.iter().any(|w| w.0 == a && w.1 == b) {
            wanted.push((a, b, shared, s));
        }
    }

    let skip: HashSet<u64> = common.union(&excluded).copied().collect();
    let mut detailed: Vec<Pair> = wanted
        .par_iter()
        .map(|&(a, b, shared, s)| {
            let (da, db) = (docs[a as usize], docs[b as usize]);
            let (regions, shared_lines) = regions(da, db, &skip);
            Pair {
                a: a as usize,
                b: b as usize,
                score: s,
                shared_fingerprints: shared as usize,
                shared_lines,
                regions,
                flagged: s >= options.threshold,
            }
        })
        .collect();
    detailed.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| docs[x.a].name.cmp(&docs[y.a].name))
            .then_with(|| docs[x.b].name.cmp(&docs[y.b].name))
    });

    let closest: Vec<Option<Closest>> = best
        .iter()
        .enumerate()
        .map(|(me, found)| {
            let (a, b, _, s) = (*found)?;
            let other = if a as usize == me { b } else { a } as usize;
            let pair = detailed
                .iter()
                .position(|p| p.a == a as usize && p.b == b as usize)?;
            Some(Closest {
                other,
                score: s,
                shared_lines: detailed[pair].shared_lines,
                pair,
            })
        })
        .collect();

    Report {
        documents: docs
            .iter()
            .zip(&own)
            .map(|(d, &own)| DocumentSummary {
                name: d.name.clone(),
                origin: d.origin,
                files: d.files.len(),
                lines: d.lines(),
                fingerprints: own,
                skipped_files: d.skipped.len(),
            })
            .collect(),
        roots: docs.iter().map(|d| d.root.clone()).collect(),
        pairs: detailed,
        closest,
        common_fingerprints: common.len(),
        handed_out_fingerprints: excluded.len(),
        common_limit: limit,
        threshold: options.threshold,
    }
}

/// Counts of shared fingerprints per pair of documents: a dense triangle for cohorts of a
/// few thousand, a map beyond.
#[derive(Debug)]
enum PairCounts {
    Dense { n: usize, counts: Vec<u32> },
    Sparse(HashMap<(u32, u32), u32>),
}

impl PairCounts {
    const DENSE_UP_TO: usize = 4_096;

    fn new(n: usize) -> PairCounts {
        if n <= Self::DENSE_UP_TO {
            PairCounts::Dense {
                n,
                counts: vec![0; n * n.saturating_sub(1) / 2],
            }
        } else {
            PairCounts::Sparse(HashMap::new())
        }
    }

    /// `a < b` (postings are sorted by document).
    fn add(&mut self, a: u32, b: u32) {
        match self {
            PairCounts::Dense { n, counts } => {
                let (a, b) = (a as usize, b as usize);
                let at = a * (2 * *n - a - 1) / 2 + (b - a - 1);
                if let Some(c) = counts.get_mut(at) {
                    *c += 1;
                }
            }
            PairCounts::Sparse(map) => *map.entry((a, b)).or_default() += 1,
        }
    }

    fn into_pairs(self) -> Vec<(u32, u32, u32)> {
        match self {
            PairCounts::Dense { n, counts } => {
                let mut out = Vec::new();
                let mut at = 0;
                for a in 0..n {
                    for b in a + 1..n {
                        if counts[at] > 0 {
                            out.push((
                                u32::try_from(a).unwrap_or(u32::MAX),
                                u32::try_from(b).unwrap_or(u32::MAX),
                                counts[at],
                            ));
                        }
                        at += 1;
                    }
                }
                out
            }
            PairCounts::Sparse(map) => map.into_iter().map(|((a, b), c)| (a, b, c)).collect(),
        }
    }
}

/// How many occurrences of one fingerprint in `b` a match in `a` is paired with (repeated
/// idioms would otherwise multiply).
const OCCURRENCES: usize = 4;
/// Matches at most this many lines apart (on both sides) belong to one region.
const GAP: u32 = 3;

/// The matched regions of `a` and `b`, largest first, and the lines they share (the fewer of
/// the two sides' covered lines).
fn regions(a: &Document, b: &Document, skip: &HashSet<u64>) -> (Vec<Region>, usize) {
    let mut in_b: HashMap<u64, Vec<&Fingerprint>> = HashMap::new();
    for f in &b.fingerprints {
        if !skip.contains(&f.hash) {
            let slot = in_b.entry(f.hash).or_default();
            if slot.len() < OCCURRENCES {
                slot.push(f);
            }
        }
    }
    let mut matches: Vec<(&Fingerprint, &Fingerprint)> = Vec::new();
    for fa in &a.fingerprints {
        if let Some(list) = in_b.get(&fa.hash) {
            matches.extend(list.iter().map(|fb| (fa, *fb)));
        }
    }
    let covered = |side: &mut dyn Iterator<Item = &Fingerprint>| -> usize {
        let mut lines: HashSet<(u32, u32)> = HashSet::new();
        for f in side {
            lines.extend((f.first_line..=f.last_line).map(|l| (f.file, l)));
        }
        lines.len()
    };
    let shared_lines =
        covered(&mut matches.iter().map(|m| m.0)).min(covered(&mut matches.iter().map(|m| m.1)));

    matches.sort_by_key(|(fa, fb)| (fa.file, fa.first_line, fb.file, fb.first_line));
    let mut open: Vec<Region> = Vec::new();
    let mut done: Vec<Region> = Vec::new();
    for (fa, fb) in matches {
        let (a_file, b_file) = (a.file_path(fa.file), b.file_path(fb.file));
        let joins = |r: &Region| {
            r.a_file == a_file
                && r.b_file == b_file
                && fa.first_line <= r.a_last + GAP
                && fb.first_line <= r.b_last + GAP
                && fb.last_line + GAP >= r.b_first
        };
        if let Some(r) = open.iter_mut().find(|r| joins(r)) {
            r.a_last = r.a_last.max(fa.last_line);
            r.b_first = r.b_first.min(fb.first_line);
            r.b_last = r.b_last.max(fb.last_line);
            r.fingerprints += 1;
            continue;
        }
        // Regions this match can no longer reach in `a` are closed.
        let (still, closed): (Vec<Region>, Vec<Region>) = open
            .into_iter()
            .partition(|r| r.a_file == a_file && fa.first_line <= r.a_last + GAP);
        done.extend(closed);
        open = still;
        open.push(Region {
            a_file: a_file.to_owned(),
            a_first: fa.first_line,
            a_last: fa.last_line,
            b_file: b_file.to_owned(),
            b_first: fb.first_line,
            b_last: fb.last_line,
            fingerprints: 1,
        });
    }
    done.extend(open);
    done.sort_by(|x, y| {
        y.fingerprints
            .cmp(&x.fingerprints)
            .then_with(|| (&x.a_file, x.a_first).cmp(&(&y.a_file, y.a_first)))
    });
    (done, shared_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, origin: Origin, hashes: &[u64]) -> Document {
        Document {
            name: name.to_owned(),
            origin,
            root: std::path::PathBuf::new(),
            files: vec![crate::SourceFile {
                path: format!("{name}.py"),
                language: crate::Language::Python,
                lines: u32::try_from(hashes.len()).unwrap_or(0),
            }],
            fingerprints: hashes
                .iter()
                .zip(1..)
                .map(|(&hash, line)| Fingerprint {
                    hash,
                    file: 0,
                    first_line: line,
                    last_line: line + 1,
                })
                .collect(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn dense_and_sparse_counts_agree() {
        let n = 7;
        let mut dense = PairCounts::new(n);
        let mut sparse = PairCounts::Sparse(HashMap::new());
        for (a, b) in [(0, 1), (0, 6), (5, 6), (0, 1), (2, 3), (3, 6)] {
            dense.add(a, b);
            sparse.add(a, b);
        }
        let mut d = dense.into_pairs();
        let mut s = sparse.into_pairs();
        d.sort_unstable();
        s.sort_unstable();
        assert_eq!(d, s);
        assert_eq!(d[0], (0, 1, 2));
    }

    #[test]
    fn common_and_handed_out_fingerprints_do_not_count() {
        let shared: Vec<u64> = (1000..1040).collect();
        let everywhere: Vec<u64> = (5000..5040).collect();
        let own = |seed: u64| -> Vec<u64> { (seed..seed + 40).collect() };
        let with = |parts: &[&[u64]]| -> Vec<u64> { parts.concat() };
        let cohort = vec![
            doc(
                "a",
                Origin::Submission,
                &with(&[&shared, &everywhere, &own(100)]),
            ),
            doc(
                "b",
                Origin::Submission,
                &with(&[&shared, &everywhere, &own(200)]),
            ),
            doc("c", Origin::Submission, &with(&[&everywhere, &own(300)])),
            doc("d", Origin::Submission, &with(&[&everywhere, &own(400)])),
        ];
        let options = Options {
            min_fingerprints: 1,
            ..Options::default()
        };
        let report = compare(&cohort, &[], &[], &options);
        // `everywhere` is in all four (> 3): discounted; a and b share `shared`, half of each.
        assert_eq!(report.common_fingerprints, everywhere.len());
        let flagged: Vec<(&str, &str, f64)> = report
            .flagged()
            .map(|p| (report.name(p.a), report.name(p.b), p.score))
            .collect();
        assert_eq!(flagged, vec![("a", "b", 0.5)]);
        assert_eq!(report.closest[2], None, "c shares nothing of its own");
        // Handed out, `shared` is no evidence either.
        let kit = vec![doc("kit", Origin::Submission, &shared)];
        let report = compare(&cohort, &[], &kit, &options);
        assert_eq!(report.flagged().count(), 0);
        assert_eq!(report.handed_out_fingerprints, shared.len());
    }

    #[test]
    fn known_solutions_are_never_paired_with_each_other() {
        let code: Vec<u64> = (1..60).collect();
        let report = compare(
            &[doc("sub", Origin::Submission, &code)],
            &[
                doc("k1", Origin::Known, &code),
                doc("k2", Origin::Known, &code),
            ],
            &[],
            &Options::default(),
        );
        let pairs: Vec<(&str, &str)> = report
            .pairs
            .iter()
            .map(|p| (report.name(p.a), report.name(p.b)))
            .collect();
        assert!(pairs.iter().all(|(a, _)| *a == "sub"), "{pairs:?}");
        assert!(report.closest[0].is_some_and(|c| c.score == 1.0));
    }
}
