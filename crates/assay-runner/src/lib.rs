//! The runner: one graded run end to end (intake → images → build → sandbox → suites →
//! results), handed a backend by its caller and never connecting to an engine itself.
pub mod pipeline;
