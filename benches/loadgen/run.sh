#!/usr/bin/env bash
# Reproduces BENCHMARKS.md, section "Load generator": assay's load engine against wrk (and
# oha, when installed) on a fixed-response hyper server, all on 127.0.0.1.
#
# Builds benches/loadgen in release, starts the server pinned to one core and every client
# pinned to the other (the same core and one thread for each client), runs each measurement
# RUNS times and prints Markdown tables (median and min–max) on standard output; the raw
# results go to OUT/results.jsonl and the headline figures to OUT/summary.json. Needs wrk,
# jq, python3, taskset and GNU time; oha is optional (`cargo install oha
# --no-default-features --features native-tls`; benches/run.sh installs it). About 6 minutes
# on 2 cores with the defaults.
#
# Scenarios: (1) closed model at 16 and 64 connections: throughput, latency, and the
# client's CPU time per request; (2) assay's open model at 0.25–1.25 × wrk's maximum; (3) one
# fixed sub-saturation rate from every tool (assay open model, wrk paced by its delay hook,
# oha -q); (4) coordinated omission: the server stalls 500 ms every 2 s.
#
# Environment: RUNS (3), CEIL_S (4), SWEEP_S (3), CO_S (6), PORT (18080), STALL_PORT (18081),
# SERVER_CPU (1), CLIENT_CPU (0), OUT (a new temporary folder), CARGO_TARGET_DIR (the
# workspace's target/).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH="$ROOT/target/tools/bin:$PATH"
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
[ -x /usr/bin/time ] || { echo "run.sh: GNU time is required (apt-get install time)" >&2; exit 1; }
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
# The same, paced: wrk cannot schedule requests, but its `delay` hook (called after each
# response, in whole milliseconds) can hold a connection until the next free slot of a
# schedule at WRK_RATE requests/s (LuaJIT's ffi reads the monotonic clock). Latency is still
# counted from the actual send (plus wrk's post-hoc correction).
WRK_PACED_LUA="$OUT/paced.lua"
{
  cat "$WRK_LUA"
  cat <<'LUA'
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } wrk_timespec; int clock_gettime(int, wrk_timespec *); ]]
local ts = ffi.new("wrk_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local per_ms = tonumber(os.getenv("WRK_RATE")) / 1000
local start, slot = nil, 0
delay = function()
  local t = now_ms()
  if not start then start = t end
  slot = slot + 1
  local wait = start + slot / per_ms - t
  if wait < 0 then return 0 end
  return math.floor(wait + 0.5)
end
LUA
} >"$WRK_PACED_LUA"

# tag SCENARIO TOOL RUN [CPU_FILE]: adds the labels (and the client's CPU seconds) to a JSON
# line read from stdin, appends it.
tag() {
  local cpu='{}'
  if [ -n "${4:-}" ] && [ -s "$4" ]; then
    cpu=$(awk '{printf "{\"cpu_user_s\":%s,\"cpu_sys_s\":%s}", $1, $2}' "$4")
  fi
  jq -c --arg s "$1" --arg t "$2" --argjson r "$3" --argjson cpu "$cpu" \
    '. + $cpu + {scenario: $s, tool: $t, run: $r}' >>"$RES"
}

run_wrk() { # SCENARIO RUN PORT CONNECTIONS SECONDS [LUA]
  local lua=${6:-$WRK_LUA}
  /usr/bin/time -f '%U %S' -o "$OUT/cpu" taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$4" -d"$5"s -s "$lua" "http://127.0.0.1:$3/" >"$OUT/wrk.out"
  sed -n 's/^JSON //p' "$OUT/wrk.out" | tag "$1" wrk "$2" "$OUT/cpu"
}

run_assay() { # SCENARIO RUN PORT [loadgen run args...]
  local scenario=$1 run=$2 port=$3; shift 3
  /usr/bin/time -f '%U %S' -o "$OUT/cpu" taskset -c "$CLIENT_CPU" \
    "$BIN" run --url "http://127.0.0.1:$port/" --threads 1 "$@" >"$OUT/assay.out"
  jq -c '{requests, rps: .throughput_rps, unsent, errors: (.errors | add),
          all_requests: (.requests + .warmup.requests),
          warmup_unsent: .warmup.unsent, mean: .latency.mean_ms, p50: .latency.p50_ms, p90: .latency.p90_ms, p99: .latency.p99_ms,
          p999: .latency.p999_ms, max: .latency.max_ms,
          u_p50: .uncorrected.p50_ms, u_p90: .uncorrected.p90_ms,
          u_p99: .uncorrected.p99_ms, u_p999: .uncorrected.p999_ms}' "$OUT/assay.out" |
    tag "$scenario" assay "$run" "$OUT/cpu"
}

run_oha() { # SCENARIO TOOL RUN PORT CONNECTIONS SECONDS [oha args...]
  local scenario=$1 tool=$2 run=$3 port=$4 conns=$5 secs=$6; shift 6
  /usr/bin/time -f '%U %S' -o "$OUT/cpu" taskset -c "$CLIENT_CPU" \
    oha -z "${secs}s" -c "$conns" --no-tui --output-format json "$@" \
    "http://127.0.0.1:$port/" >"$OUT/oha.out"
  jq -c '{requests: ([.statusCodeDistribution[]] | add), rps: .summary.requestsPerSec,
          mean: (.summary.average * 1000), p50: (.latencyPercentiles.p50 * 1000), p90: (.latencyPercentiles.p90 * 1000),
          p99: (.latencyPercentiles.p99 * 1000), p999: (.latencyPercentiles["p99.9"] * 1000),
          max: (.summary.slowest * 1000)}' "$OUT/oha.out" |
    tag "$scenario" "$tool" "$run" "$OUT/cpu"
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
echo "== 2/4 open-model sweep (64 connections) around wrk's ceiling, ${WRK_MAX} req/s" >&2
for frac in 0.25 0.5 0.75 1.0 1.25; do
  rate=$(python3 -c "print(round($WRK_MAX * $frac / 1000) * 1000)")
  for run in $(seq "$RUNS"); do
    run_assay "open-x$frac-r$rate" "$run" "$PORT" --rate "$rate" --connections 64 \
      --duration-s "$SWEEP_S" --warmup-s 1
  done
done

# About a quarter of wrk's maximum, in thousands.
FIXED_RATE=$(python3 -c "print(max(1000, round($WRK_MAX * 0.25 / 1000) * 1000))")
export WRK_RATE=$FIXED_RATE
echo "== 3/4 fixed rate $FIXED_RATE req/s, 64 connections: assay open, wrk paced, oha -q" >&2
for run in $(seq "$RUNS"); do
  run_assay "fixed" "$run" "$PORT" --rate "$FIXED_RATE" --connections 64 --duration-s "$SWEEP_S" --warmup-s 1
  run_wrk "fixed" "$run" "$PORT" 64 "$SWEEP_S" "$WRK_PACED_LUA"
  if [ "$HAVE_OHA" = 1 ]; then
    run_oha "fixed" oha-corrected "$run" "$PORT" 64 "$SWEEP_S" -q "$FIXED_RATE" --latency-correction
  fi
done

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
python3 "$HERE/tables.py" "$RES" "$OUT/summary.json" "$FIXED_RATE" "$CO_RATE" \
  "$LOAD_START" "$LOAD_END" "$CEIL_S" "$SWEEP_S" "$CO_S"
