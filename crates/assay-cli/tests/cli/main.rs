//! The `assay` binary end to end, as a user runs it (`CARGO_BIN_EXE_assay`): commands that
//! need no Docker engine (settings, refusals, `--help`, `report`, `regrade`, `similarity`,
//! with snapshots of what they print) always run; the graded ones need Docker and skip
//! without it (`assay_testkit::require_docker!`), unless `ASSAY_REQUIRE_DOCKER=1`.

mod batch;
mod inert;
mod invoke;
mod settings;
mod similarity;
mod snapshots;
mod stacks;
