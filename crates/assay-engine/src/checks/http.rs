//! `http` checks: steps in order; the first that does not hold fails the check.

use assay_format::{Located, Step};

use crate::context::{CheckCx, Verdict};

pub async fn run(cx: &mut CheckCx<'_, '_>, steps: &[Located<Step>]) -> Verdict {
    for (i, step) in steps.iter().enumerate() {
        if let Err(f) = cx.repeated(&step.value).await {
            return Verdict::fail(format!(
                "step {} of {}: {}",
                i + 1,
                steps.len(),
                f.message()
            ));
        }
    }
    Verdict::pass(format!(
        "all {} step{} held",
        steps.len(),
        if steps.len() == 1 { "" } else { "s" }
    ))
}
