//! libFuzzer target: `assay_fuzz::evidence` on every input (see src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assay_fuzz::evidence(data));
