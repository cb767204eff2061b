#!/usr/bin/env python3
"""Turns `cargo bench --bench workloads` results into the README's table.

Reads criterion's estimates under target/criterion/<W>/<form>/<size>/new/
and prints a markdown table of medians and ratios. The cirkit column holds
the figures of the performance issue (libcirkit 0.3.1 / torch 2.15, one
thread, its optimizer on, float64, measured on a 2-core AMD EPYC);
bench/cirkit_compare.py measures cirkit on your own machine.

    cargo bench --bench workloads
    python3 bench/table.py [--criterion-dir target/criterion]

A second table gives each workload's VJP (`name_vjp_into`, group `vjp`)
beside its forward pass (`name_into`) measured in the same run, and their
ratio (the gradients issue's bound: at most 3).
"""

import argparse
import json
import pathlib
import platform
import datetime

WORKLOADS = {
    "W1": ("log(softmax(x, axis=1))", ["4x8", "16x16", "64x64", "256x256"]),
    "W2": ("reduce_sum(outer_product(a, b, axis=1), axis=1)", ["4x32x8", "4x64x16", "16x32x8"]),
    "W3": ("reduce_sum(outer_product(a, b, axis=1), axis=2)", ["4x32x8", "8x16x4", "4x64x16"]),
    "W4": ("matmul(kron(A, B), x)", ["8x8", "16x16", "24x24"]),
}
# Nanoseconds, from the performance issue.
CIRKIT_NS = {
    ("W1", "4x8"): 44_000,
    ("W1", "64x64"): 63_000,
    ("W1", "256x256"): 264_000,
    ("W2", "4x32x8"): 92_000,
    ("W3", "4x32x8"): 124_000,
    ("W4", "16x16"): 242_000,
}
FORMS = ["optimized", "optimize=false", "nalgebra"]


def median_ns(root, group, form, size):
    path = root / group / form / size / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def show(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.1f}×"


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion-dir", default="target/criterion")
    args = parser.parse_args()
    root = pathlib.Path(args.criterion_dir)
    print(f"Machine: {cpu_name()}, {datetime.date.today()}; float64, median per evaluation.\n")
    print("| workload | size | optimized | `optimize = false` | hand-written nalgebra | speed-up vs unfused | vs nalgebra | cirkit (issue figure) | vs cirkit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for group, (expr, sizes) in WORKLOADS.items():
        for size in sizes:
            opt, plain, hand = (median_ns(root, group, f, size) for f in FORMS)
            cirkit = CIRKIT_NS.get((group, size))
            print(
                f"| {group} `{expr}` | {size} | {show(opt)} | {show(plain)} | {show(hand)} "
                f"| {ratio(plain, opt)} | {ratio(hand, opt)} | {show(cirkit)} | {ratio(cirkit, opt)} |"
            )

    print()
    print("| workload | size | forward (`name_into`) | VJP (`name_vjp_into`) | VJP ÷ forward |")
    print("|---|---|---|---|---|")
    for group, (expr, sizes) in WORKLOADS.items():
        for size in sizes:
            fwd = median_ns(root, "vjp", f"{group} forward", size)
            vjp = median_ns(root, "vjp", f"{group} vjp", size)
            print(f"| {group} | {size} | {show(fwd)} | {show(vjp)} | {ratio(vjp, fwd)} |")


if __name__ == "__main__":
    main()
