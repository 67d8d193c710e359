#!/usr/bin/env python3
"""Prints CORPUS.md's table from the scorecards tools/grade_corpus.sh wrote.

Usage: python3 tools/corpus_table.py [OUT]   (default /tmp/conduit-corpus)
"""
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/conduit-corpus")
ORDER = ["languages", "databases", "api-design", "devops", "security", "version-control",
         "problem-solving", "performance", "frameworks", "communication"]
SHORT = ["lang", "db", "api", "ops", "sec", "vcs", "ps", "perf", "fw", "comm"]


def field(text, name):
    match = re.search(rf"^{name}: (.*)$", text, re.M)
    return match.group(1).strip() if match else ""


def scores(card):
    return {s["id"]: s["score"] for s in card["skills"]}


ref = json.loads((OUT / "reference" / "scorecard.json").read_text())
R = scores(ref)
print("| submission | aimed skill | overall | " + " | ".join(SHORT) + " | its drop | others' max move | aimed checks failed | other checks failed |")
print("| --- " * (len(SHORT) + 7) + "|")
print(f"| reference | – | {ref['overall']:.1f} | " + " | ".join(f"{R[s]:.1f}" for s in ORDER) + " | – | – | – | – |")
for meta_path in sorted((HERE / "variants").glob("*/variant.yaml")):
    name = meta_path.parent.name
    card_path = OUT / name / "scorecard.json"
    if not card_path.exists():
        continue
    meta = meta_path.read_text()
    if field(meta, "kind") == "good":
        continue  # no defect and no aimed skill: its figures are in CORPUS.md's own section
    aim = field(meta, "skill")
    aimed = [c.strip() for c in field(meta, "expect_fail").strip("[]").split(",") if c.strip()]
    card = json.loads(card_path.read_text())
    S = scores(card)
    failed = [c["id"] for c in card["checks"] if c["status"] != "pass"]
    others = max(abs(R[s] - S[s]) for s in ORDER if s != aim)
    hit = sum(1 for c in aimed if c in failed)
    extra = [c for c in failed if c not in aimed]
    print(f"| {name} | {aim} | {card['overall']:.1f} | " + " | ".join(f"{S[s]:.1f}" for s in ORDER)
          + f" | {R[aim] - S[aim]:.1f} | {others:.1f} | {hit}/{len(aimed)} | {', '.join(extra) or '–'} |")
