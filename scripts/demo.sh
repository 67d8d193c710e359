#!/usr/bin/env bash
# Grades the bundled ledger-api reference solution end to end and says where the report is.
set -euo pipefail
out="${1:-out/demo}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The reference ships as a folder; give it a small git history like a candidate's repository.
./scripts/make-repo.sh assessments/ledger-api/reference "$work/reference"
set +e
target/release/assay run assessments/ledger-api "$work/reference" --out "$out" --profile backend-senior --seed 20261128 ${ASSAY_DEMO_FLAGS:-}
code=$?
set -e
case "$out" in
  /*) shown="$out" ;;
  *) shown="$root/$out" ;;
esac
echo
echo "HTML report: $shown/report.html"
echo "Scorecard:   $shown/scorecard.json"
exit $code
