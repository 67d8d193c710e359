#!/usr/bin/env bash
# Grades the Conduit reference and variants (all, or the names given) one after another, as
# tests/it/corpus.rs does but through the CLI, so the reports stay for reading:
#   assessments/conduit/tools/grade_corpus.sh [reference] [VARIANT ...]
# Each submission is the reference with the variant's patch applied, made into a git
# repository by scripts/make-repo.sh; reports go to $OUT/NAME (default /tmp/conduit-corpus).
# Then `python3 assessments/conduit/tools/corpus_table.py` prints CORPUS.md's table.
set -u
cd "$(dirname "$0")/../../.."
A=assessments/conduit
OUT=${OUT:-/tmp/conduit-corpus}
SEED=${SEED:-7}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then names=(reference $(ls $A/variants)); fi
mkdir -p "$OUT"
for n in "${names[@]}"; do
  w=$(mktemp -d); mkdir -p "$w/src"
  cp -a $A/reference "$w/src/reference"
  if [ "$n" != reference ]; then
    (cd "$w/src" && patch -s -p0 < "$OLDPWD/$A/variants/$n/changes.patch") || { echo "$n: the patch does not apply"; continue; }
  fi
  scripts/make-repo.sh "$w/src/reference" "$w/repo" good >/dev/null
  start=$(date +%s)
  ./target/debug/assay run $A "$w/repo" --out "$OUT/$n" --seed "$SEED" --test-mode --profile backend-senior -q > "$OUT/$n.log" 2>&1
  echo "$n: exit $? in $(( $(date +%s) - start )) s"
  rm -rf "$w"
done
