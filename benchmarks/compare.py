#!/usr/bin/python3
"""Turns the rows `synfield bench --csv FILE` appends into a Markdown report.

    benchmarks/compare.py RESULTS.csv [-o REPORT.md] [--title TEXT]

One table row per benchmark (time per step of the field solver and of the gd reference, the
speed-up, the loss agreement, and each one's achieved GB/s and GFLOP/s with the fraction of
the measured STREAM-triad and DGEMM ceilings), then the width scaling: for each
(backend, coupling, precision) with two or more sizes, the least-squares exponent p of
time/step ∝ N^p (log–log fit over the sizes), for the field solver and for the reference.
p ≈ 1 is linear in the width (the local and factored paths), p ≈ 2 the dense J₂ path.
Standard library only.
"""

import argparse
import csv
import math
import sys


def num(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return math.nan
    return v


def fmt(v, spec="%.3g"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else spec % v


def pct(v):
    return "–" if math.isnan(v) else "%.0f %%" % (100 * v)


def fit_exponent(points):
    """Least-squares slope of log(t) against log(N); None with fewer than two distinct N."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n > 0 and t > 0 and not math.isnan(t)]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def report(rows, title):
    out = ["# " + title, ""]
    if rows:
        r0 = rows[0]
        out.append("Ceilings measured by `synfield bench` at start: STREAM triad %s GB/s (CPU)%s, DGEMM %s GFLOP/s (CPU)."
                   % (fmt(num(r0["triad_GBps"]), "%.1f"),
                      "" if num(r0["device_triad_GBps"]) <= 0 else ", %.0f GB/s (device)" % num(r0["device_triad_GBps"]),
                      fmt(num(r0["dgemm_GFLOPs"]), "%.1f")))
        out.append("")
    out.append("| case | backend | path | precision | N | P | M | field ms/step | gd ms/step | speed-up | "
               "max rel. loss diff | field GB/s (of triad) | field GFLOP/s (of DGEMM) | gd GB/s (of triad) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) |" % (
            r["label"], r["backend"], r["coupling"], r["precision"], r["sites"], r["samples"], r["M"],
            fmt(num(r["field_ms"]), "%.4g"), fmt(num(r["gd_ms"]), "%.4g"),
            fmt(num(r["speedup"]), "%.2f×"), fmt(num(r["max_rel_diff"]), "%.1e"),
            fmt(num(r["field_GBps"]), "%.3g"), pct(num(r["field_of_triad"])),
            fmt(num(r["field_GFLOPs"]), "%.3g"), pct(num(r["field_of_dgemm"])),
            fmt(num(r["gd_GBps"]), "%.3g"), pct(num(r["gd_of_triad"]))))
    groups = {}
    for r in rows:
        groups.setdefault((r["backend"], r["coupling"], r["precision"]), []).append(r)
    fits = []
    for (backend, coupling, precision), rs in sorted(groups.items()):
        pf = fit_exponent([(num(r["sites"]), num(r["field_ms"])) for r in rs])
        pg = fit_exponent([(num(r["sites"]), num(r["gd_ms"])) for r in rs])
        if pf is not None:
            sizes = sorted({int(num(r["sites"])) for r in rs})
            fits.append("| %s | %s | %s | %d … %d (%d sizes) | %.3f | %s |" % (
                backend, coupling, precision, sizes[0], sizes[-1], len(sizes), pf, fmt(pg, "%.3f")))
    if fits:
        out += ["", "Width scaling, time/step ∝ N^p (least squares in log–log):", "",
                "| backend | path | precision | N | p (field solver) | p (gd reference) |", "|---|---|---|---|---|---|"]
        out += fits
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Markdown report of `synfield bench --csv` rows")
    ap.add_argument("csv", help="the CSV file the bench runs appended to")
    ap.add_argument("-o", "--output", help="Markdown file (default: stdout)")
    ap.add_argument("--title", default="synfield: field solver vs gradient-descent reference")
    args = ap.parse_args(argv)
    try:
        with open(args.csv, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print("compare.py: error: %s" % e, file=sys.stderr)
        return 2
    text = report(rows, args.title)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
