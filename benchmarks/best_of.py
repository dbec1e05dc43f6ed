#!/usr/bin/env python3
"""Run bench_engine several times; print each benchmark's best and median bytes/s over the
runs and their ratios to the best and median STREAM triad over the same runs, then each
run's triad and, per benchmark, the ratio counted the STREAM way (stream_count_ratio) to the
triad of that same run.

On a shared machine other work slows some runs down; the best run is the closest to what
the hardware does, the median shows the spread, and the per-run ratios show how much of it
is the triad's. Usage: best_of.py BINARY RUNS [args...]
"""
import json
import statistics
import subprocess
import sys

binary, runs, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rates = {}   # name -> [bytes/s of each run]
paired = {}  # name -> [stream_count_ratio of each run]
skipped = {}
triads = []
for _ in range(runs):
    out = subprocess.run([binary, "--benchmark_format=json", *extra], check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    triads.append(float(doc["context"]["stream_triad_cpu_GBps"]) * 1e9)
    for b in doc["benchmarks"]:
        if b.get("error_occurred"):
            skipped[b["run_name"]] = b.get("error_message", "")
        else:
            rates.setdefault(b["run_name"], []).append(b["bytes_per_second"])
            paired.setdefault(b["run_name"], []).append(b["stream_count_ratio"])

best_t, med_t = max(triads), statistics.median(triads)
print(f"STREAM triad (CPU), {runs} runs: best {best_t / 1e9:.1f} GB/s, median {med_t / 1e9:.1f} GB/s")
print(f"{'benchmark':40s} {'best GB/s':>9s} {'/best triad':>11s} {'median GB/s':>11s} {'/median triad':>13s}")
for name, r in rates.items():
    best, med = max(r), statistics.median(r)
    name = name.replace("/iterations:5/manual_time", "")
    print(f"{name:40s} {best / 1e9:9.1f} {best / best_t:11.2f} {med / 1e9:11.1f} {med / med_t:13.2f}")
for name, msg in skipped.items():
    print(f"{name.replace('/iterations:5/manual_time', ''):40s} skipped: {msg}")
print("per run: triad GB/s, then each benchmark's STREAM-count ratio to that run's triad")
print(f"{'triad':40s} " + " ".join(f"{t / 1e9:6.1f}" for t in triads))
for name, r in paired.items():
    print(f"{name.replace('/iterations:5/manual_time', ''):40s} " + " ".join(f"{x:6.2f}" for x in r))
