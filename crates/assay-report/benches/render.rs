//! Criterion benchmark: `assay_report::render` in every format for a scorecard graded from
//! a large synthetic run (2,000 checks, six pieces of evidence each). `make bench` runs it;
//! it is never a timed test.

use std::hint::black_box;

use assay_report::{Format, render};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../../assay-grader/benches/support/synthetic.rs"]
mod synthetic;

fn render_formats(c: &mut Criterion) {
    let n = 2_000;
    let card = match assay_grader::grade(&synthetic::results(n), &synthetic::plan(n), None) {
        Ok(card) => card,
        Err(e) => panic!("the synthetic run does not grade: {e}"),
    };
    let mut group = c.benchmark_group(format!("render {n} checks"));
    for format in Format::ALL {
        group.bench_function(format.name(), |b| {
            b.iter(|| render(black_box(&card), format))
        });
    }
    group.finish();
}

criterion_group!(benches, render_formats);
criterion_main!(benches);
