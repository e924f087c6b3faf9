#!/usr/bin/env python3
"""Turn criterion's results of `cargo bench --bench schedulers` into the markdown tables of
docs/schedulers.md (medians, in ns, and ratios measured in the same run).

usage: benches/report.py [CRITERION_DIR]   (default: target/criterion)
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "criterion")
SIZES = [8, 64, 1024, 16384]
NAMES = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]


def median(*parts):
    path = os.path.join(root, *parts, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fmt(ns):
    if ns is None:
        return "–"
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"


out = []
out.append("| scheduler | " + " | ".join(f"{n} servers" for n in SIZES) + " |")
out.append("|---|" + "---:|" * len(SIZES))
for name in NAMES:
    out.append(f"| {name} | " + " | ".join(fmt(median("pick", name, str(n))) for n in SIZES) + " |")
print("### Cost of one new connection (schedule + bind + unbind), median ns\n")
print("\n".join(out))

print("\n### lb against the kernel's linear scan (same run), median ns\n")
print("| scheduler | servers | lb | linear scan | linear / lb |")
print("|---|---:|---:|---:|---:|")
for name in ["lc", "wlc", "sed", "nq", "fo", "ovf"]:
    for n in SIZES:
        fast, lin = median("pick", name, str(n)), median("linear", name, str(n))
        ratio = f"{lin / fast:.1f}×" if fast and lin else "–"
        print(f"| {name} | {n} | {fmt(fast)} | {fmt(lin)} | {ratio} |")

print("\n### Maglev table build, median\n")
print("| table | time |")
print("|---|---:|")
build = os.path.join(root, "mh_build")
if os.path.isdir(build):
    for label in sorted(os.listdir(build)):
        ns = median("mh_build", label)
        if ns is not None:
            m, n = label.split("_")
            print(f"| {m[1:]} slots, {n[1:]} servers | {ns / 1e6:.3f} ms |")
