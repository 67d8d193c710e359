//! The runner: submission intake, images, hardened Docker sandboxes, the run pipeline.
pub mod intake;
pub mod pipeline;
pub mod sandbox;
