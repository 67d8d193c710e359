# The commands the README names. `make demo` grades the flagship assessment's reference
# solution end to end; `make test` runs every test, Docker tests included.

CARGO ?= cargo
ASSAY := target/release/assay
DEMO_OUT ?= out/demo

.PHONY: demo test images build lint bench bench-similarity clean-runs fuzz

build:
	$(CARGO) build --release --bin assay

# Base and sidecar images, made offline (debian:bookworm-slim via mmdebstrap when no registry answers).
images: build
	$(ASSAY) images build

demo: images
	./scripts/demo.sh $(DEMO_OUT)

# Every test, Docker tests included (nextest: one process per test, so per-test memory
# figures are honest). ASSAY_REQUIRE_DOCKER makes a missing engine (or Chromium) a failure,
# never a skip; plain `cargo test` is the fast tier, where they skip (README, Testing).
# The images are made with the debug binary the tests build anyway (no second, release compile).
test:
	$(CARGO) build --bin assay
	target/debug/assay images build
	ASSAY_REQUIRE_DOCKER=1 ASSAY_TEST_MODE=1 $(CARGO) nextest run --workspace --no-fail-fast

# libFuzzer through cargo-fuzz: each target of fuzz/ for FUZZ_SECONDS (bounded), starting from
# the committed seeds (fuzz/corpus/<target>); new inputs go to fuzz/corpus-new/<target>, crashes
# to fuzz/artifacts/. cargo-fuzz needs nightly features: the nightly toolchain where one is
# installed, else the pinned stable one with RUSTC_BOOTSTRAP=1. `make test` runs the same
# targets on stable without libFuzzer (tests/it/fuzz_smoke.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= archive dockerignore assessment_yaml evidence
FUZZ_CARGO ?= $(shell rustup run nightly rustc --version >/dev/null 2>&1 && echo "cargo +nightly" || echo "env RUSTC_BOOTSTRAP=1 cargo")
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus-new/$$t && \
	  $(FUZZ_CARGO) fuzz run $$t corpus-new/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: build
	./benches/run.sh

# Only the similarity figure (500 submissions x 5,000 lines; no Docker): part of `make bench`.
bench-similarity:
	$(CARGO) bench -p assay-similarity --bench cohort

# Remove whatever killed runs left behind.
clean-runs: build
	$(ASSAY) gc
