#!/usr/bin/env bash
# Copies a bundled submission folder into DEST and gives it a small, meaningful git history
# (our own trusted fixture: assay itself never runs git in a submission).
set -euo pipefail
# Usage: make-repo.sh SRC DEST [good|sloppy]   (sloppy: one "wip" commit of everything)
src="$1"; dest="$2"; style="${3:-good}"
mkdir -p "$dest"
cp -a "$src/." "$dest/"
cd "$dest"
export GIT_AUTHOR_NAME="Sam Candidate" GIT_AUTHOR_EMAIL="sam@example.test"
export GIT_COMMITTER_NAME="Sam Candidate" GIT_COMMITTER_EMAIL="sam@example.test"
export GIT_AUTHOR_DATE="2026-11-20T10:00:00Z" GIT_COMMITTER_DATE="2026-11-20T10:00:00Z"
git init -q -b main .
if [ "$style" = sloppy ]; then
  git add -A
  git -c core.hooksPath=/dev/null commit -q -m "wip"
  exit 0
fi
git -c core.hooksPath=/dev/null add -A -- ':!README.md' ':!tests' 2>/dev/null || git add -A
git -c core.hooksPath=/dev/null commit -q -m "Add the ledger service: schema, accounts, deposits and transfers" || true
git add -A
git -c core.hooksPath=/dev/null commit -q -m "Add unit tests and a README with design notes and trade-offs" || true
echo "" >> README.md
git add -A
GIT_AUTHOR_DATE="2026-11-20T12:00:00Z" GIT_COMMITTER_DATE="2026-11-20T12:00:00Z" \
  git -c core.hooksPath=/dev/null commit -q -m "Document how to run the service and its tests" || true
