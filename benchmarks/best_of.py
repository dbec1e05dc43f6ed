#!/usr/bin/env python3
"""Run bench_engine several times; print each benchmark's best bytes/s over the runs and its
ratio to the best STREAM triad over the same runs.

On a shared machine other work slows some runs down; the best run is the closest to what
the hardware does. Usage: best_of.py BINARY RUNS [bench_engine arguments...]
"""
import json
import subprocess
import sys

binary, runs, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
best = {}
triads = []
for _ in range(runs):
    out = subprocess.run([binary, "--benchmark_format=json", *extra], check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    triads.append(float(doc["context"]["stream_triad_cpu_GBps"]))
    for b in doc["benchmarks"]:
        if b.get("error_occurred"):
            best.setdefault(b["name"], {"skipped": b.get("error_message", "")})
            continue
        row = best.setdefault(b["name"], {})
        for key in ("bytes_per_second", "effective_bytes_per_second"):
            row[key] = max(row.get(key, 0.0), b[key])
        row["ns_per_site_step"] = min(row.get("ns_per_site_step", 1e30), b["ns_per_site_step"])
triad = max(triads) * 1e9
print(f"STREAM triad (CPU) over {runs} runs: best {max(triads):.2f} GB/s, worst {min(triads):.2f} GB/s")
print(f"{'benchmark':44s} {'GB/s':>7s} {'ratio':>6s} {'eff GB/s':>8s} {'eff ratio':>9s} {'ns/site/step':>12s}")
for name, r in best.items():
    if "skipped" in r:
        print(f"{name:44s} skipped: {r['skipped']}")
        continue
    print(f"{name:44s} {r['bytes_per_second'] / 1e9:7.2f} {r['bytes_per_second'] / triad:6.2f} "
          f"{r['effective_bytes_per_second'] / 1e9:8.2f} {r['effective_bytes_per_second'] / triad:9.2f} "
          f"{r['ns_per_site_step']:12.2f}")
