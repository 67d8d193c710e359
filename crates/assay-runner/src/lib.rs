//! The runner: submission intake, images, hardened Docker sandboxes, the run pipeline.
