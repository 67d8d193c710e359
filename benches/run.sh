#!/usr/bin/env bash
# `make bench`: every figure of BENCHMARKS.md. Part 1 is the load generator against wrk/oha
# (benches/loadgen/run.sh); part 2 measures the runner itself on the ledger-api reference:
# a whole hidden run in full mode by suite, the runner's own overhead, an unchanged
# resubmission (cache) and time to the first check, batch throughput at --jobs 1 and 2 over
# 8 submissions, and assay's peak memory (max RSS). Results: benches/results/<date>.md.
#
# BENCH_QUICK=1 shortens everything (test mode, 4 submissions, one loadgen run) to check the
# harness; its figures are not the published ones. Needs: docker, git, jq, /usr/bin/time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
assay="$root/target/release/assay"
date_tag="$(date -u +%Y-%m-%d)"
results="$root/benches/results"
mkdir -p "$results"
report="$results/$date_tag.md"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
quick="${BENCH_QUICK:-}"
mode_flags=()
[ -n "$quick" ] && mode_flags=(--test-mode)
[ -x /usr/bin/time ] || { echo "bench: install GNU time (apt-get install time)" >&2; exit 1; }

{
  echo "# Benchmark run $date_tag"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), Docker $(docker version --format '{{.Server.Version}}')${quick:+ — QUICK MODE, not for publication}"
  echo
} >"$report"

echo "== 1. load generator (benches/loadgen/run.sh)"
if [ -n "$quick" ]; then RUNS=1 CEIL_S=2 SWEEP_S=2 CO_S=4 ./benches/loadgen/run.sh >>"$report"; else ./benches/loadgen/run.sh >>"$report"; fi

./scripts/make-repo.sh assessments/ledger-api/reference "$work/ref" >/dev/null
"$assay" images build >/dev/null

# One graded run with JSON events, timed per line; prints the per-suite table.
timed_run() { # name submission out
  local name="$1" sub="$2" out="$3"
  /usr/bin/time -f '%M' -o "$work/$name.rss" \
    "$assay" run assessments/ledger-api "$sub" --out "$out" --seed 7 --events json "${mode_flags[@]}" 2>/dev/null \
    | while IFS= read -r line; do printf '%s\t%s\n' "$(date +%s.%N)" "$line"; done >"$work/$name.events" || true
}

echo "== 2. a whole hidden run of the reference (images built)"
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep '^assay-sub:' | xargs -r docker rmi -f >/dev/null 2>&1 || true
timed_run cold "$work/ref" "$work/out-cold"
echo "== 3. the same submission again (cached image)"
timed_run warm "$work/ref" "$work/out-warm"

python3 - "$work" "${quick:+quick}" >>"$report" <<'PY'
import json, sys
work, quick = sys.argv[1], sys.argv[2] == "quick"
def load(name):
    ev = []
    for line in open(f"{work}/{name}.events"):
        t, _, js = line.partition("\t")
        try: ev.append((float(t), json.loads(js)))
        except ValueError: pass
    return ev
scale = 0.25 if quick else 1.0
# Seconds the load phases are told to last (warm-up + duration + the two scaling phases).
told = scale * ((3 + 20) + (3 + 20 + 20 / 2))
for name, title in (("cold", "Fresh image build"), ("warm", "Unchanged resubmission (cached image)")):
    ev = load(name)
    t0 = ev[0][0]; end = ev[-1][0]
    stages = {}
    for t, e in ev:
        if e.get("event") == "stage": stages.setdefault(e["stage"], []).append(t)
    build = stages["start"][0] - stages["build"][0] if "start" in stages else 0
    start = (min(t for t, e in ev if e.get("event") == "suite_started") - stages["start"][0]) if "start" in stages else 0
    first_check = min(t for t, e in ev if e.get("event") == "check_finished") - t0
    suites, last = [], None
    for t, e in ev:
        if e.get("event") == "suite_started":
            if last: suites.append((last[0], t - last[1]))
            last = (e["suite"], t)
        if e.get("event") == "stage" and e["stage"] == "teardown" and last:
            suites.append((last[0], t - last[1])); last = None
    total = end - t0
    rss = int(open(f"{work}/{name}.rss").read().split()[-1]) / 1024
    print(f"## {title}\n")
    print(f"| figure | value |\n| --- | --- |")
    print(f"| wall time, whole run | {total:.1f} s |")
    print(f"| image build | {build:.1f} s |")
    print(f"| sidecars + service start | {start:.1f} s |")
    print(f"| wall time without the build | {total - build:.1f} s |")
    print(f"| load phases (as told) | {told:.1f} s |")
    print(f"| runner overhead (total − build − start − load phases as told) | {total - build - start - told:.1f} s |")
    print(f"| from `assay run` to the first check | {first_check:.1f} s |")
    print(f"| assay's peak memory (max RSS) | {rss:.0f} MiB |")
    print()
    print("| suite | seconds |\n| --- | --- |")
    for s, d in suites: print(f"| {s} | {d:.1f} |")
    print()
PY

echo "== 4. batch throughput"
n=8; [ -n "$quick" ] && n=4
mkdir -p "$work/cohort"
for i in $(seq 1 "$n"); do
  cp -a "$work/ref" "$work/cohort/sub$i"
  echo "# submission $i" >>"$work/cohort/sub$i/ledger/__init__.py"
done
{
  echo "## Batch: $n submissions (test mode), each a distinct image"
  echo
  echo "| jobs | wall time | submissions per hour | assay peak memory |"
  echo "| --- | --- | --- | --- |"
} >>"$report"
for jobs in 1 2; do
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep '^assay-sub:' | xargs -r docker rmi -f >/dev/null 2>&1 || true
  s=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/batch$jobs.rss" "$assay" -q batch assessments/ledger-api "$work/cohort" \
    --out "$work/batch$jobs" --jobs "$jobs" --seed 7 --test-mode >/dev/null 2>&1 || true
  e=$(date +%s.%N)
  python3 -c "import sys; w=$e-$s; n=$n; rss=int(open('$work/batch$jobs.rss').read().split()[-1])/1024; print(f'| $jobs | {w:.0f} s | {n*3600/w:.0f} | {rss:.0f} MiB |')" >>"$report"
done
echo >>"$report"
echo "== written $report"
