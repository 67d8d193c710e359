//! libFuzzer target: `assay_fuzz::archive` on every input (see src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assay_fuzz::archive(data));
