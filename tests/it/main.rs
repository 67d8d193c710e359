//! The one integration-test binary: end-to-end tests across the library crates, with real
//! Docker where a test needs it (`assay_testkit::require_docker!`: skipped without an engine,
//! failed under `ASSAY_REQUIRE_DOCKER=1`). The `assay` binary's own tests are in
//! `crates/assay-cli/tests/cli/`.
mod architecture;
mod batch;
mod build_limits;
mod build_network;
mod corpus;
mod fuzz_smoke;
mod registries;
mod reports;
mod sandbox;
mod similarity;
