#!/usr/bin/env python3
"""W1 against its exp-throughput limit and against torch, in one run.

Runs ``cargo bench --bench workloads -- limit`` (our W1
``log(softmax(x, axis = 1))`` in float64 and float32 at 4x8 ... 1024x1024,
and the runtime's own exponential over the same number of elements, the
limit the performance issue states its goal against), then times
``torch.log_softmax(x, dim=1, out=y)`` at the same sizes and dtypes (one
torch thread, the same values), and prints one markdown table:

    python3 bench/w1_limit.py                 # needs torch for its column
    python3 bench/w1_limit.py --no-bench      # reuse target/criterion

Timing of torch: warm-up, then ``--repeat`` batches of about ``--batch-ms``
each with ``time.perf_counter``; the figure is the median time per call.
Ours: criterion's median point estimate. Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from table import show as fmt

SIZES = [(4, 8), (16, 16), (64, 64), (256, 256), (1024, 1024)]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def criterion_ns(crit: str, function: str, size: str) -> float | None:
    path = os.path.join(crit, "limit", function, size, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fill(torch, r: int, c: int, dtype):
    """The benchmark's values: ((i·31 + j·17 + 7) mod 97)/24.25 − 2."""
    i = torch.arange(r).unsqueeze(1)
    j = torch.arange(c).unsqueeze(0)
    return (((i * 31 + j * 17 + 7) % 97).to(torch.float64) / 24.25 - 2.0).to(dtype)


def time_torch(torch, x, repeat: int, batch_s: float) -> float:
    y = torch.empty_like(x)
    f = lambda: torch.log_softmax(x, dim=1, out=y)  # noqa: E731
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.2:
        f()
        n += 1
    per = max((time.perf_counter() - t0) / n, 1e-9)
    calls = max(1, int(batch_s / per))
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        samples.append((time.perf_counter() - t) / calls * 1e9)
    return statistics.median(samples)


def ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None else f"{a / b:.2f}×"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-bench", action="store_true", help="reuse existing criterion results")
    ap.add_argument("--repeat", type=int, default=30, help="torch: timed batches (default 30)")
    ap.add_argument("--batch-ms", type=float, default=20.0, help="torch: ms per batch (default 20)")
    args = ap.parse_args()
    if not args.no_bench:
        subprocess.run(
            ["cargo", "bench", "--bench", "workloads", "--", "limit"], cwd=ROOT, check=True
        )
    crit = os.path.join(ROOT, "target", "criterion")
    try:
        import torch

        torch.set_num_threads(1)
        torch_note = f"torch {torch.__version__}, 1 thread"
    except ImportError:
        torch = None
        torch_note = "torch not installed (pip install torch): no torch column"
    print(f"{platform.processor() or platform.machine()}; {torch_note}; "
          f"{time.strftime('%Y-%m-%d')}\n")
    print("| dtype | size | ours W1 | exp limit | W1 / limit | torch log_softmax "
          "| torch / ours | f32 speed-up over f64 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for dtype in ("f64", "f32"):
        for r, c in SIZES:
            size = f"{r}x{c}"
            ours = criterion_ns(crit, f"{dtype} W1", size)
            limit = criterion_ns(crit, f"{dtype} exp", size)
            t = None
            if torch is not None:
                tdt = torch.float64 if dtype == "f64" else torch.float32
                t = time_torch(torch, fill(torch, r, c, tdt), args.repeat, args.batch_ms / 1e3)
            speedup = "–"
            if dtype == "f32":
                speedup = ratio(criterion_ns(crit, "f64 W1", size), ours)
            print(f"| {dtype} | {size} | {fmt(ours)} | {fmt(limit)} | {ratio(ours, limit)} "
                  f"| {fmt(t)} | {ratio(t, ours)} | {speedup} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
