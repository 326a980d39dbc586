#!/usr/bin/env python3
"""Runs the HFC module benchmark and the PyTorch implementation side by side on this machine and
prints the Markdown table kept in docs/performance.md.

    /usr/bin/python3 bench/compare_cpu.py [--build build/release] [--min-time 1] [--rounds 3]

Both sides get OMP_NUM_THREADS=2 and OPENBLAS_NUM_THREADS=1 (the anchors' settings) and run in
one invocation, PyTorch first; the machines are shared and noisy, so compare ratios from one run.
With --rounds N the two sides alternate N times (PyTorch's time here has moved between 50 and
80 ms at (64, 56) from one minute to the next); the table then gives each side's median and the
median speed-up of the rounds, with its smallest and largest in brackets."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = [(64, 112), (64, 56), (128, 28), (256, 14)]


def run_ours(binary, name, min_time, env):
    out = subprocess.run([binary, f"--benchmark_filter=^BM_{name}$", f"--benchmark_min_time={min_time}",
                          "--benchmark_format=json"], env=env, check=True, capture_output=True, text=True).stdout
    bench = json.loads(out)["benchmarks"][0]
    assert bench["time_unit"] == "ms"
    return bench["real_time"]


def run_torch(env):
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "pytorch_module_bench.py")], env=env, check=True,
                         capture_output=True, text=True).stdout
    return {r["name"]: r["ms"] for r in map(json.loads, out.splitlines())}


def speedup(ratios):
    text = f"{statistics.median(ratios):.1f}x"
    return text if len(ratios) == 1 else f"{text} ({min(ratios):.1f}-{max(ratios):.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    ap.add_argument("--min-time", default="1")
    ap.add_argument("--rounds", type=int, default=1, help="times PyTorch and hfcnet alternate (default 1)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    binary = os.path.join(args.build, "bench", "hfc_bench_components")
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    keys = [f"{kind}/C:{c}/HW:{hw}" for c, hw in SHAPES for kind in ("ModuleFwd", "ModuleFwdBwd")]
    theirs, ours = {k: [] for k in keys}, {k: [] for k in keys}
    for r in range(args.rounds):
        for key, ms in run_torch(env).items():
            if key in theirs:
                theirs[key].append(ms)
        for key in keys:
            ours[key].append(run_ours(binary, f"{key}/real_time", args.min_time, env))
        if args.rounds > 1:
            print(f"round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    import torch  # noqa: E402  (only for the version line)
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"PyTorch {torch.__version__}; OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=1"
          + (f"; medians of {args.rounds} alternating rounds" if args.rounds > 1 else "") + "\n")
    print("| batch 32, (C, H=W) | PyTorch fwd | hfcnet fwd | speed-up | PyTorch fwd+bwd | hfcnet fwd+bwd | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for c, hw in SHAPES:
        row = [f"({c}, {hw})"]
        for kind in ("ModuleFwd", "ModuleFwdBwd"):
            key = f"{kind}/C:{c}/HW:{hw}"
            ratios = [t / o for t, o in zip(theirs[key], ours[key])]
            row += [f"{statistics.median(theirs[key]):.1f} ms", f"{statistics.median(ours[key]):.2f} ms", speedup(ratios)]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
