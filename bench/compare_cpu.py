#!/usr/bin/env python3
"""Runs the HFC module benchmark and the PyTorch implementation side by side on this machine and
prints the Markdown table kept in docs/performance.md.

    /usr/bin/python3 bench/compare_cpu.py [--build build/release] [--min-time 1]

Both sides get OMP_NUM_THREADS=2 and OPENBLAS_NUM_THREADS=1 (the anchors' settings) and run in
one invocation, PyTorch first; the machines are shared and noisy, so compare ratios from one run."""
import argparse
import json
import os
import platform
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    ap.add_argument("--min-time", default="1")
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench", "hfc_bench_components")
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    torch_ms = run_torch(env)
    import torch  # noqa: E402  (only for the version line)
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"PyTorch {torch.__version__}; OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=1\n")
    print("| batch 32, (C, H=W) | PyTorch fwd | hfcnet fwd | speed-up | PyTorch fwd+bwd | hfcnet fwd+bwd | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for c, hw in SHAPES:
        row = [f"({c}, {hw})"]
        for kind in ("ModuleFwd", "ModuleFwdBwd"):
            key = f"{kind}/C:{c}/HW:{hw}"
            ours = run_ours(binary, f"{key}/real_time", args.min_time, env)
            theirs = torch_ms[key]
            row += [f"{theirs:.1f} ms", f"{ours:.2f} ms", f"{theirs / ours:.1f}x"]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
