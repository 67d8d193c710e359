#!/usr/bin/env bash
# Reproduces BENCHMARKS.md, section "Load generator": assay's load engine against wrk (and
# oha, when installed) on a fixed-response hyper server, all on 127.0.0.1.
#
# Builds benches/loadgen in release, starts the server pinned to one core and every client
# pinned to the other, runs each measurement RUNS times and prints Markdown tables (median
# and min–max). Needs wrk, jq, python3 and taskset; oha is optional (`cargo install oha
# --no-default-features --features native-tls`). About 4–5 minutes on 2 cores.
#
# Environment: RUNS (3), CEIL_S (4), SWEEP_S (3), CO_S (6), PORT (18080), STALL_PORT (18081),
# SERVER_CPU (1), CLIENT_CPU (0), OUT (a new temporary folder: raw results.jsonl).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-load}"
RUNS="${RUNS:-3}"
CEIL_S="${CEIL_S:-4}"
SWEEP_S="${SWEEP_S:-3}"
CO_S="${CO_S:-6}"
PORT="${PORT:-18080}"
STALL_PORT="${STALL_PORT:-18081}"
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
RES="$OUT/results.jsonl"
: >"$RES"

for tool in wrk jq python3 taskset; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
HAVE_OHA=0
command -v oha >/dev/null && HAVE_OHA=1

cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
BIN="$CARGO_TARGET_DIR/release/loadgen"

SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_server PORT [server args...]: the fixed-response server on 127.0.0.1:PORT.
start_server() {
  local port=$1; shift
  taskset -c "$SERVER_CPU" "$BIN" server --addr "127.0.0.1:$port" "$@" &
  SERVER_PIDS+=("$!")
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: the server on port $port did not start" >&2
  exit 1
}

# wrk's summary as one JSON line (wrk 4 applies its own post-hoc latency correction,
# stats_correct, before done() sees the histogram).
WRK_LUA="$OUT/json.lua"
cat >"$WRK_LUA" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"rps":%.1f,"errors":%d,"mean":%.4f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    e.connect + e.read + e.write + e.status + e.timeout, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
LUA

# tag SCENARIO TOOL RUN: adds the labels to a JSON line read from stdin, appends it.
tag() {
  jq -c --arg s "$1" --arg t "$2" --argjson r "$3" '. + {scenario: $s, tool: $t, run: $r}' >>"$RES"
}

run_wrk() { # SCENARIO RUN PORT CONNECTIONS SECONDS
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$4" -d"$5"s -s "$WRK_LUA" "http://127.0.0.1:$3/" |
    sed -n 's/^JSON //p' | tag "$1" wrk "$2"
}

run_assay() { # SCENARIO RUN PORT [loadgen run args...]
  local scenario=$1 run=$2 port=$3; shift 3
  taskset -c "$CLIENT_CPU" "$BIN" run --url "http://127.0.0.1:$port/" --threads 1 "$@" |
    jq -c '{requests, rps: .throughput_rps, unsent, errors: (.errors | add),
            warmup_unsent: .warmup.unsent, mean: .latency.mean_ms, p50: .latency.p50_ms, p90: .latency.p90_ms, p99: .latency.p99_ms,
            p999: .latency.p999_ms, max: .latency.max_ms,
            u_p50: .uncorrected.p50_ms, u_p90: .uncorrected.p90_ms,
            u_p99: .uncorrected.p99_ms, u_p999: .uncorrected.p999_ms}' |
    tag "$scenario" assay "$run"
}

run_oha() { # SCENARIO TOOL RUN PORT CONNECTIONS SECONDS [oha args...]
  local scenario=$1 tool=$2 run=$3 port=$4 conns=$5 secs=$6; shift 6
  taskset -c "$CLIENT_CPU" oha -z "${secs}s" -c "$conns" --no-tui --output-format json "$@" \
    "http://127.0.0.1:$port/" |
    jq -c '{requests: ([.statusCodeDistribution[]] | add), rps: .summary.requestsPerSec,
            mean: (.summary.average * 1000), p50: (.latencyPercentiles.p50 * 1000), p90: (.latencyPercentiles.p90 * 1000),
            p99: (.latencyPercentiles.p99 * 1000), p999: (.latencyPercentiles["p99.9"] * 1000),
            max: (.summary.slowest * 1000)}' |
    tag "$scenario" "$tool" "$run"
}

median_rps() { # SCENARIO TOOL
  jq -s --arg s "$1" --arg t "$2" \
    '[.[] | select(.scenario == $s and .tool == $t) | .rps] | sort | .[(length - 1) / 2 | floor]' "$RES"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start_server "$PORT"

echo "== 1/4 ceiling: closed model, 16 and 64 connections" >&2
for conns in 16 64; do
  for run in $(seq "$RUNS"); do
    run_wrk "closed-c$conns" "$run" "$PORT" "$conns" "$CEIL_S"
    run_assay "closed-c$conns" "$run" "$PORT" --concurrency "$conns" --duration-s "$CEIL_S" --warmup-s 1
    if [ "$HAVE_OHA" = 1 ]; then
      run_oha "closed-c$conns" oha "$run" "$PORT" "$conns" "$CEIL_S"
    fi
  done
done

WRK_MAX=$(median_rps closed-c64 wrk)
FIXED_RATE=$(python3 -c "print(max(1000, round($WRK_MAX * 0.25 / 1000) * 1000))")
echo "== 2/4 open-model sweep (64 connections) around wrk's ceiling, ${WRK_MAX} req/s" >&2
for frac in 0.25 0.5 0.75 1.0 1.25; do
  rate=$(python3 -c "print(round($WRK_MAX * $frac / 1000) * 1000)")
  for run in $(seq "$RUNS"); do
    run_assay "open-x$frac-r$rate" "$run" "$PORT" --rate "$rate" --connections 64 \
      --duration-s "$SWEEP_S" --warmup-s 1
  done
done

echo "== 3/4 fixed rate $FIXED_RATE req/s, 64 connections: assay open vs oha" >&2
if [ "$HAVE_OHA" = 1 ]; then
  for run in $(seq "$RUNS"); do
    run_oha "fixed-r$FIXED_RATE" oha-corrected "$run" "$PORT" 64 "$SWEEP_S" \
      -q "$FIXED_RATE" --latency-correction
  done
fi

CO_RATE=5000
echo "== 4/4 coordinated omission: 500 ms stall every 2 s, $CO_RATE req/s, 16 connections" >&2
start_server "$STALL_PORT" --stall-every-ms 2000 --stall-ms 500
for run in $(seq "$RUNS"); do
  run_assay co "$run" "$STALL_PORT" --rate "$CO_RATE" --connections 16 --duration-s "$CO_S" --warmup-s 1
  run_wrk co "$run" "$STALL_PORT" 16 "$CO_S"
  if [ "$HAVE_OHA" = 1 ]; then
    run_oha co oha-corrected "$run" "$STALL_PORT" 16 "$CO_S" -q "$CO_RATE" --latency-correction
    run_oha co oha "$run" "$STALL_PORT" 16 "$CO_S" -q "$CO_RATE"
  fi
done

echo "raw results: $RES" >&2
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RES" "$FIXED_RATE" "$CO_RATE" "$LOAD_START" "$LOAD_END" <<'PY'
import json, os, platform, subprocess, sys, time
from collections import defaultdict

res, fixed_rate, co_rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load_start, load_end = sys.argv[4], sys.argv[5]
rows = [json.loads(l) for l in open(res) if l.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["scenario"], r["tool"])].append(r)

def stat(scenario, tool, key):
    vals = sorted(r[key] for r in groups.get((scenario, tool), []) if r.get(key) is not None)
    if not vals:
        return None
    n = len(vals)
    med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return med, vals[0], vals[-1]

def fmt(s, digits=0, unit=""):
    if s is None:
        return "–"
    med, lo, hi = s
    f = f"{{:,.{digits}f}}"
    return f"{f.format(med)}{unit} ({f.format(lo)}–{f.format(hi)})"

def ms(s):
    if s is None:
        return "–"
    d = 3 if s[2] < 1 else (2 if s[2] < 10 else 1)
    return fmt(s, d)

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "not installed"
print(f"Machine: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}; "
      f"{time.strftime('%Y-%m-%d')}; {version(['wrk', '-v'])}; {version(['oha', '--version'])}.")
print(f"Load average (1/5/15 min) at start {load_start}, at end {load_end}.")
print(f"Runs per figure: {max(len(v) for v in groups.values())}; each cell is median (min–max).\n")

print("### Ceiling: closed model (throughput in req/s, latency in ms)\n")
print("| connections | tool | throughput | assay / wrk | mean | connections / throughput | p50 | p90 | p99 |")
print("|---|---|---|---|---|---|---|---|---|")
for c in (16, 64):
    sc = f"closed-c{c}"
    wrk = stat(sc, "wrk", "rps")
    for tool in ("wrk", "assay", "oha"):
        t = stat(sc, tool, "rps")
        if t is None:
            continue
        ratio = f"{t[0] / wrk[0]:.2f}" if wrk and tool != "wrk" else ""
        little = f"{c / t[0] * 1000:.3f}"
        print(f"| {c} | {tool} | {fmt(t)} | {ratio} | {ms(stat(sc, tool, 'mean'))} | {little} | {ms(stat(sc, tool, 'p50'))} | "
              f"{ms(stat(sc, tool, 'p90'))} | {ms(stat(sc, tool, 'p99'))} |")

print("\n### assay, open model, 64 connections: rate sweep (latency in ms)\n")
print("| target rate | achieved | unsent | p50 | p90 | p99 | uncorrected p99 |")
print("|---|---|---|---|---|---|---|")
sweep = sorted({s for (s, t) in groups if s.startswith("open-")}, key=lambda s: int(s.split("-r")[1]))
best = None
for sc in sweep:
    rate = int(sc.split("-r")[1])
    a = stat(sc, "assay", "rps")
    if a and (best is None or a[0] > best[0]):
        best = a
    print(f"| {rate:,} | {fmt(a)} | {fmt(stat(sc, 'assay', 'unsent'))} | {ms(stat(sc, 'assay', 'p50'))} | "
          f"{ms(stat(sc, 'assay', 'p90'))} | {ms(stat(sc, 'assay', 'p99'))} | {ms(stat(sc, 'assay', 'u_p99'))} |")
wrk64 = stat("closed-c64", "wrk", "rps")
if best and wrk64:
    print(f"\nOpen-model maximum (median achieved): {best[0]:,.0f} req/s = {best[0] / wrk64[0]:.2f} × wrk's closed maximum.")

print(f"\n### Fixed rate {fixed_rate:,} req/s, 64 connections, both corrected for coordinated omission (ms)\n")
print("| tool | achieved | p50 | p90 | p99 |")
print("|---|---|---|---|---|")
fixed_sweep = next((s for s in sweep if s.endswith(f"-r{fixed_rate}")), None)
if fixed_sweep:
    print(f"| assay open | {fmt(stat(fixed_sweep, 'assay', 'rps'))} | {ms(stat(fixed_sweep, 'assay', 'p50'))} | "
          f"{ms(stat(fixed_sweep, 'assay', 'p90'))} | {ms(stat(fixed_sweep, 'assay', 'p99'))} |")
fs = f"fixed-r{fixed_rate}"
if stat(fs, "oha-corrected", "rps"):
    print(f"| oha -q --latency-correction | {fmt(stat(fs, 'oha-corrected', 'rps'))} | {ms(stat(fs, 'oha-corrected', 'p50'))} | "
          f"{ms(stat(fs, 'oha-corrected', 'p90'))} | {ms(stat(fs, 'oha-corrected', 'p99'))} |")

print(f"\n### Coordinated omission: server stalls 500 ms every 2 s; {co_rate:,} req/s, 16 connections (ms)\n")
print("| tool / view | achieved req/s | p50 | p90 | p99 | p99.9 |")
print("|---|---|---|---|---|---|")
lines = [("assay open, corrected", "assay", ""), ("assay open, uncorrected (service time)", "assay", "u_"),
         ("wrk (closed, unpaced; post-hoc stats_correct)", "wrk", ""),
         ("oha -q, --latency-correction", "oha-corrected", ""), ("oha -q, uncorrected", "oha", "")]
for label, tool, p in lines:
    if stat("co", tool, "rps") is None:
        continue
    print(f"| {label} | {fmt(stat('co', tool, 'rps'))} | {ms(stat('co', tool, p + 'p50'))} | "
          f"{ms(stat('co', tool, p + 'p90'))} | {ms(stat('co', tool, p + 'p99'))} | {ms(stat('co', tool, p + 'p999'))} |")
PY
