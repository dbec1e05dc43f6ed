#!/usr/bin/env python3
"""Run bench_engine several times; print each benchmark's best and median bytes/s over the
runs with the triad each was quoted against, then per run and benchmark the triad of that
benchmark (on the CPU: the best triad pass run next to its own iterations) and the ratio
counted the STREAM way (stream_count_ratio) to it.

On a shared machine other work slows some runs down, and the bandwidth moves within a run;
the best run is the closest to what the hardware does, the median shows the spread, and the
per-run ratios show how much of it is the triad's. Usage: best_of.py BINARY RUNS [args...]
"""
import json
import statistics
import subprocess
import sys

binary, runs, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rates = {}   # name -> [bytes/s of each run]
triads = {}  # name -> [the triad bytes/s it was quoted against, each run]
paired = {}  # name -> [stream_count_ratio of each run]
skipped = {}
startup = []  # the CPU triad each run measured at start-up
for _ in range(runs):
    out = subprocess.run([binary, "--benchmark_format=json", *extra], check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    startup.append(float(doc["context"]["stream_triad_cpu_GBps"]))
    for b in doc["benchmarks"]:
        name = b["run_name"].split("/iterations:")[0]
        if b.get("error_occurred"):
            skipped[name] = b.get("error_message", "")
        else:
            rates.setdefault(name, []).append(b["bytes_per_second"])
            triads.setdefault(name, []).append(b["triad_bytes_per_second"])
            paired.setdefault(name, []).append(b["stream_count_ratio"])

print(f"STREAM triad (CPU) at start-up, {runs} runs: " + " ".join(f"{t:.1f}" for t in startup) + " GB/s")
print(f"{'benchmark':32s} {'best GB/s':>9s} {'its triad':>9s} {'ratio':>6s} {'median GB/s':>11s} "
      f"{'median triad':>12s} {'ratio':>6s}")
for name, r in rates.items():
    i = max(range(len(r)), key=r.__getitem__)
    best, med, med_t = r[i], statistics.median(r), statistics.median(triads[name])
    print(f"{name:32s} {best / 1e9:9.1f} {triads[name][i] / 1e9:9.1f} {best / triads[name][i]:6.2f} "
          f"{med / 1e9:11.1f} {med_t / 1e9:12.1f} {med / med_t:6.2f}")
for name, msg in skipped.items():
    print(f"{name:32s} skipped: {msg}")
print("per run: the triad GB/s each benchmark was quoted against, and its STREAM-count ratio to it")
for name, r in paired.items():
    print(f"{name:32s} triad " + " ".join(f"{t / 1e9:6.1f}" for t in triads[name]))
    print(f"{'':32s} ratio " + " ".join(f"{x:6.2f}" for x in r))
