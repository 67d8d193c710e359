//! Criterion benchmark: `assay_grader::grade` on a large synthetic run (2,000 checks with
//! evidence), and on a run the size of ledger-api's (93 checks). `make bench` runs it; it is
//! never a timed test.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/synthetic.rs"]
mod synthetic;

fn grade(c: &mut Criterion) {
    let mut group = c.benchmark_group("grade");
    for n in [93, 2_000] {
        let plan = synthetic::plan(n);
        let results = synthetic::results(n);
        group.bench_function(format!("{n} checks"), |b| {
            b.iter(|| assay_grader::grade(black_box(&results), black_box(&plan), None))
        });
    }
    group.finish();
}

criterion_group!(benches, grade);
criterion_main!(benches);
