//! The fuzz targets on the stable toolchain: every target of `fuzz/` (archive intake,
//! `.dockerignore`, the YAML loader, evidence rendering) runs over its committed seed corpus
//! (`fuzz/corpus/<target>/`) and seeded random mutations of it, so `make test` catches a
//! crash without cargo-fuzz. `make fuzz` runs the same functions under libFuzzer.
//! `ASSAY_FUZZ_SMOKE_RUNS` sets the mutations per target (default 1,500),
//! `ASSAY_FUZZ_SMOKE_SEED` the seed; a crashing input is written under the temp dir.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use assay_testkit::paths::workspace_root as root;

#[path = "../../fuzz/src/lib.rs"]
mod targets;

/// Fragments that matter to the targets, spliced into mutations.
const DICTIONARY: [&[u8]; 18] = [
    b"\x1b]52;c;",
    b"\x07",
    b"\x1b[",
    b"::error::",
    b"##[",
    b"\n",
    b"\r",
    b"../",
    b"\xef\xbf\xbe",
    b"\xe2\x80\xae",
    b"@team http://",
    b"**/",
    b"!",
    b"[^",
    b"\\",
    b"ustar\x00",
    b"PK\x03\x04",
    b"&a [*a, *a]",
];

/// xorshift64*: reproducible mutations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to four random edits of `base`: flips, interesting bytes, insertions and deletions,
/// repeated chunks, dictionary fragments, a splice of `other`.
fn mutate(base: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = [0, 0xff, 0x1b, b'\n', b':', b'#', 0x7f, 0x9b][rng.below(8)];
            }
            2 => {
                let word = DICTIONARY[rng.below(DICTIONARY.len())];
                data.splice(at..at, word.iter().copied());
            }
            3 if !data.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let start = at.min(end);
                data.drain(start..end);
            }
            4 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(32)).min(data.len());
                let chunk = data[start..end].to_vec();
                for _ in 0..=rng.below(16) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
        }
    }
    data
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect()
}

/// Runs `target` on `input`; on a panic, keeps the input and fails naming it.
fn survive(name: &str, what: &str, target: fn(&[u8]), input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        let kept = std::env::temp_dir().join(format!("assay-fuzz-crash-{name}"));
        let _ = std::fs::write(&kept, input);
        panic!(
            "fuzz target {name} crashed on {what}; input kept at {} (replay: cargo fuzz run {name} {})",
            kept.display(),
            kept.display()
        );
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_targets_survive_their_corpus_and_mutations() {
    let runs = setting("ASSAY_FUZZ_SMOKE_RUNS", 1_500);
    let seed = setting("ASSAY_FUZZ_SMOKE_SEED", 0x5eed_a55a_7f00_d1e5);
    let mut rng = Rng(seed.max(1));
    for (name, target) in targets::TARGETS {
        let corpus = seeds(name);
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} holds no seed");
        let started = Instant::now();
        for (path, bytes) in &corpus {
            survive(name, path, target, bytes);
        }
        for i in 0..runs {
            let base = &corpus[rng.below(corpus.len())].1;
            let other = &corpus[rng.below(corpus.len())].1;
            let input = mutate(base, other, &mut rng);
            survive(name, &format!("mutation {i} (seed {seed})"), target, &input);
        }
        // Figures for the record (`--no-capture` shows them); no timing is asserted.
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "fuzz_smoke {name}: {} inputs ({} seeds + {runs} mutations), 0 crashes, {:.1} s",
                corpus.len() as u64 + runs,
                corpus.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}
