#!/usr/bin/env bash
# `make bench`: every figure of BENCHMARKS.md, written to benches/results/<date>.md (paste-ready
# Markdown) and benches/results/<date>.json (every median and spread).
#
#   1. the load generator against wrk and oha (benches/loadgen/run.sh): ceiling, ratio,
#      latency at a fixed rate, coordinated omission;
#   2. in-process criterion benches: grading and rendering a 2,000-check scorecard;
#   3. similarity (crates/assay-similarity/benches/cohort.rs): a seeded synthetic cohort of 500
#      submissions × 5,000 lines read, fingerprinted, compared and reported;
#   4. the runner (benches/runner.py): a whole hidden run by suite of the ledger-api and the
#      Conduit reference, the runner's overhead and where it goes, an unchanged resubmission
#      and the time to the first check, batch throughput at --jobs 1 and 2 over 8 distinct
#      submissions, grade stability (the reference and two variants, 3 runs each, at --jobs 1
#      and 2), assay's peak memory.
#
# BENCH_QUICK=1 is a short pass that checks the harness (one run of each load-generator
# figure, short criterion samples, test mode throughout, batches of 2); its results are
# written as <date>-quick.* and are not the published figures. Full: about 70 minutes on 2
# cores, most of it Docker (19 image builds for the batches). Run it on a quiet machine.
#
# Needs docker, git, jq, python3 (with yaml), wrk, taskset, GNU time; hyperfine is optional;
# oha is installed with cargo into target/tools when missing (BENCH_INSTALL_OHA=0: skip it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/target/tools/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
assay="$target_dir/release/assay"
quick="${BENCH_QUICK:-}"
[ "$quick" = 0 ] && quick=""
date_tag="$(date -u +%Y-%m-%d)${quick:+-quick}"
results="$root/benches/results"
mkdir -p "$results"
report="$results/$date_tag.md"
json="$results/$date_tag.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in docker git jq python3 wrk taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: GNU time is required (apt-get install time)" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "bench: python3 yaml is required (apt-get install python3-yaml)" >&2; exit 1; }
[ -x "$assay" ] || { echo "bench: $assay is missing: run make bench (it builds first)" >&2; exit 1; }
if ! command -v oha >/dev/null && [ "${BENCH_INSTALL_OHA:-1}" != 0 ]; then
  echo "== installing oha into target/tools (BENCH_INSTALL_OHA=0 skips it)" >&2
  cargo install --locked --quiet oha --version 1.16.0 --no-default-features --features native-tls \
    --root "$root/target/tools" || echo "bench: oha could not be installed; going on without it" >&2
fi

# The machine, as the report states it.
python3 - "$work/machine.json" <<'PY'
import json, os, platform, re, subprocess, sys, time
def run(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout.strip() or out.stderr.strip()).splitlines()[0]
    except Exception:
        return ""
lscpu = dict(l.split(":", 1) for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if ":" in l)
lscpu = {k.strip(): v.strip() for k, v in lscpu.items()}
mem_kib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
head = run(["git", "rev-parse", "--short", "HEAD"])
dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]))
json.dump({
    "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "cpu_model": lscpu.get("Model name", "?"),
    "cpus": lscpu.get("CPU(s)", str(os.cpu_count())),
    "threads_per_core": lscpu.get("Thread(s) per core", "?"),
    "hypervisor": lscpu.get("Hypervisor vendor", ""),
    "memory_gib": round(mem_kib / 1024 / 1024, 1),
    "kernel": platform.release(),
    "docker": run(["docker", "version", "--format", "{{.Server.Version}}"]),
    "rustc": run(["rustc", "-V"]),
    "wrk": run(["wrk", "-v"]),
    "oha": run(["oha", "--version"]) or "not installed",
    "hyperfine": run(["hyperfine", "--version"]) or "not installed",
    "commit": head + (" (with uncommitted changes)" if dirty else ""),
    "load_average_start": open("/proc/loadavg").read().split()[:3],
}, open(sys.argv[1], "w"), indent=2)
PY

echo "== 1. load generator (benches/loadgen/run.sh)" >&2
if [ -n "$quick" ]; then
  RUNS=1 CEIL_S=2 SWEEP_S=2 CO_S=4 OUT="$work/loadgen" ./benches/loadgen/run.sh >"$work/loadgen.md"
else
  OUT="$work/loadgen" ./benches/loadgen/run.sh >"$work/loadgen.md"
fi

echo "== 2. criterion: grading and rendering a 2,000-check scorecard" >&2
criterion_args=()
[ -n "$quick" ] && criterion_args=(--warm-up-time 0.5 --measurement-time 1 --sample-size 10)
cargo bench --quiet -p assay-grader -p assay-report --bench grade --bench render -- \
  "${criterion_args[@]}" >"$work/criterion.log" 2>&1 || { tail -20 "$work/criterion.log" >&2; exit 1; }
python3 - "$target_dir/criterion" "$work/criterion.json" "$work/criterion.md" <<'PY'
import json, os, sys
base, out_json, out_md = sys.argv[1:4]
ids = [("grade", "93 checks"), ("grade", "2000 checks")] + [
    ("render 2000 checks", f) for f in ("json", "markdown", "junit", "html", "gradescope")]
rows, data = [], {}
for group, bench in ids:
    path = os.path.join(base, group, bench, "new", "estimates.json")
    try:
        e = json.load(open(path))
    except OSError:
        continue
    med = e["median"]["point_estimate"] / 1e6
    lo = e["median"]["confidence_interval"]["lower_bound"] / 1e6
    hi = e["median"]["confidence_interval"]["upper_bound"] / 1e6
    sd = e["std_dev"]["point_estimate"] / 1e6
    data[f"{group}/{bench}"] = {"median_ms": med, "ci95_ms": [lo, hi], "std_dev_ms": sd}
    rows.append(f"| `{'assay_grader::grade' if group == 'grade' else 'assay_report::render'}` | {bench} | {med:.2f} ({lo:.2f}–{hi:.2f}) | {sd:.2f} |")
json.dump(data, open(out_json, "w"), indent=2)
with open(out_md, "w") as f:
    f.write("## In-process: grading and rendering (criterion)\n\n")
    f.write("A synthetic run: 2,000 checks over 20 suites, every status, one to three skills each, some "
            "critical, six pieces of evidence each (an exchange with a 1 KiB body, a measurement, a note, "
            "a log, a file, a query) with text every format must escape; and one of ledger-api's size (93 checks). "
            "`cargo bench -p assay-grader -p assay-report` (crates/*/benches).\n\n")
    f.write("| function | input | median ms (95% CI) | std dev ms |\n| --- | --- | --- | --- |\n")
    f.write("\n".join(rows) + "\n")
PY

echo "== 3. similarity: 500 submissions x 5,000 lines (crates/assay-similarity/benches/cohort.rs)" >&2
sim_size=(SIMILARITY_SUBMISSIONS=500 SIMILARITY_LINES=5000)
[ -n "$quick" ] && sim_size=(SIMILARITY_SUBMISSIONS=50 SIMILARITY_LINES=1000)
env "${sim_size[@]}" SIMILARITY_OUT="$work/similarity.json" \
  cargo bench --quiet -p assay-similarity --bench cohort >"$work/similarity.log" 2>&1 \
  || { tail -20 "$work/similarity.log" >&2; exit 1; }

echo "== 4. the runner on the ledger-api and Conduit references (benches/runner.py)" >&2
"$assay" images build >/dev/null
python3 benches/runner.py "$assay" "$work/runner" "$work/runner.json" "$work/runner.md" ${quick:+--quick}

python3 - "$work" "$report" "$json" "${quick:+quick}" <<'PY'
import json, os, sys
work, report, out_json, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "quick"
m = json.load(open(os.path.join(work, "machine.json")))
m["load_average_end"] = open("/proc/loadavg").read().split()[:3]
read = lambda name: open(os.path.join(work, name)).read()
with open(report, "w") as f:
    f.write(f"# Benchmark run {m['date_utc']}{' — QUICK MODE, not for publication' if quick else ''}\n\n")
    f.write(f"- Machine: {m['cpus']} CPUs ({m['threads_per_core']} thread(s) per core), {m['cpu_model']}"
            f"{', ' + m['hypervisor'] + ' VM' if m['hypervisor'] else ''}; {m['memory_gib']} GiB; Linux {m['kernel']}; "
            f"Docker {m['docker']}; {m['rustc']}; {m['wrk']}; {m['oha']}; {m['hyperfine']}.\n")
    f.write(f"- assay at {m['commit']}, release build. Load average (1/5/15 min) at the start "
            f"{' '.join(m['load_average_start'])}, at the end {' '.join(m['load_average_end'])}.\n")
    f.write("- Reproduce: `make bench` (`BENCH_QUICK=1 make bench` for a short pass of the harness).\n\n")
    f.write("## Load generator\n\n" + read("loadgen.md") + "\n" + read("criterion.md") + "\n")
    f.write("## Similarity (synthetic cohort, release build, every core)\n\n" + read("similarity.json.md") + "\n")
    f.write(read("runner.md") + "\n")
json.dump({
    "quick": quick,
    "machine": m,
    "loadgen": json.load(open(os.path.join(work, "loadgen", "summary.json"))),
    "criterion": json.load(open(os.path.join(work, "criterion.json"))),
    "similarity": json.load(open(os.path.join(work, "similarity.json"))),
    "runner": json.load(open(os.path.join(work, "runner.json"))),
}, open(out_json, "w"), indent=2)
PY
# The headline figures, one number per key (issue 15), for dashboards and the lead's diff.
python3 - "$json" "$results/latest.json" <<'PY'
import json, statistics, sys
d = json.load(open(sys.argv[1]))
runner, loadgen = d.get("runner", {}), d.get("loadgen", {})
runs = runner.get("runs", {})
first = runs.get("first", {})
warm = runs.get("whole") or first  # the resubmission: image cached, as the issue measures
conduit_warm = (runner.get("conduit") or {}).get("whole") or {}
def med(xs):
    xs = [x for x in xs or [] if isinstance(x, (int, float))]
    return statistics.median(xs) if xs else None
def stat(scenario, tool, key):
    return med(loadgen.get("stats", {}).get(scenario, {}).get(tool, {}).get(key))
def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None
batches = runner.get("batch") or []
speedup = ratio(batches[0]["wall_s"], batches[1]["wall_s"]) if len(batches) == 2 else None
stab = runner.get("stability") or {}
ratios = loadgen.get("ratios", {})
rss = [first.get("max_rss_mib"), warm.get("max_rss_mib"), conduit_warm.get("max_rss_mib")] + [
    b.get("max_rss_mib") for b in batches + (runner.get("stability_batches") or [])]
rss = [r for r in rss if isinstance(r, (int, float))]
json.dump({
    "full_run_s": warm.get("without_build_s", warm.get("wall_s")),
    "overhead_s": warm.get("overhead_s"),
    "overhead_beyond_service_s": warm.get("overhead_beyond_service_s"),
    "conduit_full_run_s": conduit_warm.get("without_build_s", conduit_warm.get("wall_s")),
    "conduit_overhead_s": conduit_warm.get("overhead_s"),
    "stability_max_spread": stab.get("max_spread"),
    "batch_speedup_jobs2": speedup,
    "batch_perf_shift_jobs2": stab.get("batch_perf_shift_jobs2"),
    "loadgen_ratio_wrk": ratios.get("assay/wrk closed c16", ratio(stat("closed-c16", "assay", "rps"), stat("closed-c16", "wrk", "rps"))),
    "fixed_rate_p99_ratio_wrk": ratios.get("assay/wrk fixed p99", ratio(stat("fixed", "assay", "p99"), stat("fixed", "wrk", "p99"))),
    "peak_rss_mib": max(rss) if rss else None,
    "date": d.get("machine", {}).get("date_utc"),
    "quick": d.get("quick", False),
}, open(sys.argv[2], "w"), indent=2)
PY

echo "== written $report, $json and $results/latest.json" >&2
