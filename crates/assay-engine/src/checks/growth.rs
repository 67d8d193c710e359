//! `growth` checks: how a request's latency grows with the data behind it. The data is
//! grown unit by unit through the API (`grow`, with `{{ n }}`), the request is timed at two
//! sizes (sequential samples after a warm-up, median), and the ratio of the medians is
//! judged against a band; an N+1 query pattern makes it grow with the data.

use assay_format::{Band, GrowthCheck};
use assay_model::Evidence;
use serde_json::Value;

use crate::checks::lifecycle::band_credit;
use crate::context::{CheckCx, Verdict};

pub async fn run(cx: &mut CheckCx<'_, '_>, spec: &GrowthCheck) -> Verdict {
    let [small, large] = spec.sizes.as_slice() else {
        return Verdict::error("`sizes` must name two sizes");
    };
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before growing did not hold: {}",
            f.message()
        ));
    }
    let mut grown = 0u32;
    let mut medians = Vec::with_capacity(2);
    for &size in [small, large] {
        while grown < size {
            grown += 1;
            cx.vars.set("n", Value::from(grown));
            if let Err(f) = cx.steps(&spec.grow).await {
                return Verdict::fail(format!(
                    "growing the data to {grown} did not work: {}",
                    f.message()
                ));
            }
        }
        let mut times = Vec::with_capacity(spec.samples as usize);
        for i in 0..(spec.warmup + spec.samples) {
            match cx.step(&spec.measure).await {
                Ok(ex) => {
                    if i >= spec.warmup
                        && let Some(r) = ex.response()
                    {
                        times.push(r.elapsed.as_secs_f64() * 1000.0);
                    }
                }
                Err(f) => {
                    return Verdict::fail(format!(
                        "the measured request did not hold at size {size}: {}",
                        f.message()
                    ));
                }
            }
        }
        let Some(m) = median(&mut times) else {
            return Verdict::error("no sample was measured");
        };
        cx.evidence.push(Evidence::Measurement {
            name: format!("median latency at size {size} ({} samples)", times.len()),
            value: m,
            unit: "ms".into(),
            target: None,
            floor: None,
        });
        medians.push(m);
    }
    let (at_small, at_large) = (medians[0], medians[1]);
    judge(
        cx,
        *small,
        *large,
        at_small,
        at_large,
        spec.ratio,
        spec.allowance.0.as_secs_f64() * 1000.0,
    )
}

/// The verdict on two medians (ms): the ratio against `band`, unless the difference is
/// within `allowance_ms`.
fn judge(
    cx: &CheckCx<'_, '_>,
    small: u32,
    large: u32,
    at_small: f64,
    at_large: f64,
    band: Band,
    allowance_ms: f64,
) -> Verdict {
    let ratio = at_large / at_small.max(0.001);
    cx.evidence.push(Evidence::Measurement {
        name: format!("latency ratio, size {large} over size {small}"),
        value: ratio,
        unit: "x".into(),
        target: Some(band.target),
        floor: Some(band.floor),
    });
    let figures = format!(
        "median {at_small:.1} ms at size {small}, {at_large:.1} ms at size {large} (×{ratio:.2})"
    );
    if at_large - at_small <= allowance_ms {
        return Verdict::pass(format!(
            "latency does not grow with the data: {figures}, within the {allowance_ms:.0} ms allowance"
        ));
    }
    let credit = band_credit(ratio, band, false);
    let v = Verdict::graded(
        credit,
        format!(
            "{figures}; full credit up to ×{}, none from ×{}",
            band.target, band.floor
        ),
    );
    if v.status != assay_model::Status::Pass {
        cx.evidence.note(format!(
            "latency grows with the data (×{ratio:.2} from size {small} to {large}): the pattern of one query per item (N+1)"
        ));
    }
    v
}

/// The median of `v` (sorted in place); `None` when empty.
fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
