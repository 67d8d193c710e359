#!/usr/bin/env python3
"""Turns benches/loadgen/run.sh's raw results into BENCHMARKS.md's load-generator tables.

Usage: tables.py RESULTS.jsonl SUMMARY.json FIXED_RATE CO_RATE LOAD_START LOAD_END
CEIL_S SWEEP_S CO_S. Prints Markdown (medians with min–max) on standard output and writes every
median and spread, plus the headline ratios, to SUMMARY.json.
"""
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict

(res, summary_path, fixed_rate, co_rate, load_start, load_end, ceil_s, sweep_s,
 co_s) = sys.argv[1:10]
fixed_rate, co_rate = int(fixed_rate), int(co_rate)
rows = [json.loads(line) for line in open(res) if line.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["scenario"], r["tool"])].append(r)


def values(scenario, tool, key):
    out = []
    for r in groups.get((scenario, tool), []):
        if key == "cpu_us":  # client CPU time per request, warm-up requests included
            n = r.get("all_requests") or r.get("requests")
            if n and r.get("cpu_user_s") is not None:
                out.append((r["cpu_user_s"] + r["cpu_sys_s"]) / n * 1e6)
        elif key == "cpu_user_us":
            n = r.get("all_requests") or r.get("requests")
            if n and r.get("cpu_user_s") is not None:
                out.append(r["cpu_user_s"] / n * 1e6)
        elif r.get(key) is not None:
            out.append(r[key])
    return sorted(out)


def stat(scenario, tool, key):
    vals = values(scenario, tool, key)
    if not vals:
        return None
    n = len(vals)
    med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return med, vals[0], vals[-1]


def fmt(s, digits=0):
    if s is None:
        return "–"
    med, lo, hi = s
    f = f"{{:,.{digits}f}}"
    return f"{f.format(med)} ({f.format(lo)}–{f.format(hi)})"


def ms(s):
    if s is None:
        return "–"
    d = 3 if s[2] < 1 else (2 if s[2] < 10 else 1)
    return fmt(s, d)


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "not installed"


summary = {"stats": {}, "ratios": {}, "fixed_rate": fixed_rate, "co_rate": co_rate}
for (scenario, tool) in groups:
    keys = {k for r in groups[(scenario, tool)] for k in r if k not in ("scenario", "tool", "run")}
    keys |= {"cpu_us", "cpu_user_us"}
    summary["stats"].setdefault(scenario, {})[tool] = {
        k: stat(scenario, tool, k) for k in sorted(keys) if stat(scenario, tool, k) is not None
    }

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}; "
      f"{time.strftime('%Y-%m-%d')}; {version(['wrk', '-v'])}; {version(['oha', '--version'])}.")
print(f"Load average (1/5/15 min) at start {load_start}, at end {load_end}.")
runs = max(len(v) for v in groups.values())
print(f"Runs per figure: {runs}; each cell is median (min–max). Closed-model runs {ceil_s} s "
      f"(assay: plus 1 s of warm-up, not counted), open-model and fixed-rate runs {sweep_s} s "
      f"(assay: plus 1 s), coordinated-omission runs {co_s} s (assay: plus 1 s).\n")

print("### Ceiling: closed model (throughput in req/s, latency in ms, client CPU in µs a request)\n")
print("| connections | tool | throughput | ÷ wrk | mean | connections / throughput | p50 | p90 | p99 | client CPU (user) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in (16, 64):
    sc = f"closed-c{c}"
    wrk = stat(sc, "wrk", "rps")
    for tool in ("wrk", "assay", "oha"):
        t = stat(sc, tool, "rps")
        if t is None:
            continue
        ratio = ""
        if wrk and tool != "wrk":
            ratio = f"{t[0] / wrk[0]:.2f}"
            summary["ratios"][f"{tool}/wrk closed c{c}"] = round(t[0] / wrk[0], 3)
        little = f"{c / t[0] * 1000:.3f}"
        cpu_total, cpu_user = stat(sc, tool, "cpu_us"), stat(sc, tool, "cpu_user_us")
        cpu_cell = f"{cpu_total[0]:.2f} ({cpu_user[0]:.2f})" if cpu_total and cpu_user else "–"
        print(f"| {c} | {tool} | {fmt(t)} | {ratio} | {ms(stat(sc, tool, 'mean'))} | {little} | "
              f"{ms(stat(sc, tool, 'p50'))} | {ms(stat(sc, tool, 'p90'))} | {ms(stat(sc, tool, 'p99'))} | {cpu_cell} |")

print("\n### assay, open model, 64 connections: rate sweep (latency in ms)\n")
print("Rates are 0.25, 0.5, 0.75, 1.0 and 1.25 × wrk's closed maximum at 64 connections. Latency is")
print("corrected (from each request's intended send time); \"unsent\" counts scheduled requests still")
print("queued for a connection when the window closed.\n")
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
    summary["ratios"]["assay open max/wrk closed c64"] = round(best[0] / wrk64[0], 3)
    summary["open_max_rps"] = best
    print(f"\nOpen-model maximum (median achieved): {best[0]:,.0f} req/s = {best[0] / wrk64[0]:.2f} × wrk's closed maximum.")

print(f"\n### Fixed rate, 64 connections: {fixed_rate:,} req/s (latency in ms)\n")
print(f"assay's open model and `oha -q {fixed_rate} --latency-correction` schedule requests and count "
      f"latency from each request's intended time (assay: only when the request had to wait for a "
      f"connection); wrk cannot schedule, so its `delay` hook holds each connection after a response "
      f"until the next slot of the same schedule (whole milliseconds), and latency counts from the "
      f"actual send (plus wrk's post-hoc correction). \"÷ wrk\" compares p50 and p99.\n")
print("| tool | achieved req/s | p50 | p90 | p99 | p50 ÷ wrk | p99 ÷ wrk |")
print("|---|---|---|---|---|---|---|")
wrk_fixed = (stat("fixed", "wrk", "p50"), stat("fixed", "wrk", "p99"))
for label, tool in (("wrk, paced by its delay hook", "wrk"), ("assay open", "assay"),
                    ("oha -q --latency-correction", "oha-corrected")):
    if stat("fixed", tool, "rps") is None:
        continue
    p50, p99 = stat("fixed", tool, "p50"), stat("fixed", tool, "p99")
    r50 = f"{p50[0] / wrk_fixed[0][0]:.2f}" if tool != "wrk" and wrk_fixed[0] else ""
    r99 = f"{p99[0] / wrk_fixed[1][0]:.2f}" if tool != "wrk" and wrk_fixed[1] else ""
    if r50:
        summary["ratios"][f"{tool}/wrk fixed p50"] = float(r50)
        summary["ratios"][f"{tool}/wrk fixed p99"] = float(r99)
    print(f"| {label} | {fmt(stat('fixed', tool, 'rps'))} | {ms(p50)} | {ms(stat('fixed', tool, 'p90'))} | "
          f"{ms(p99)} | {r50} | {r99} |")

print(f"\n### Coordinated omission: server stalls 500 ms every 2 s; {co_rate:,} req/s, 16 connections (ms)\n")
print("The whole server freezes (its only thread sleeps) for 500 ms every 2 s.\n")
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

summary["load_average"] = {"start": load_start, "end": load_end}
summary["runs"] = runs
with open(summary_path, "w") as f:
    json.dump(summary, f, indent=2)
