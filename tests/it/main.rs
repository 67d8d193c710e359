//! The one integration-test binary: end-to-end tests across crates, with real Docker.
mod architecture;
mod batch;
mod build_limits;
mod build_network;
mod cli;
mod corpus;
mod fuzz_smoke;
mod inert;
mod registries;
mod reports;
mod sandbox;
mod similarity;
