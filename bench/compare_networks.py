#!/usr/bin/env python3
"""One training step (forward, cross-entropy, backward, Adam) at batch 32, 48 px, for ResNet18 and
MobileNetV2 with and without HFC attention: PyTorch (Debian's, OMP_NUM_THREADS=2,
OPENBLAS_NUM_THREADS=1) and hfcnet (bench/bench_networks.cpp) in one run. Prints a Markdown table.

    /usr/bin/python3 bench/compare_networks.py [--build build/release]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_step_ms(make, attention, px=48, batch=32, min_time=2.0):
    import torch
    sys.path.insert(0, HERE)
    torch.manual_seed(0)
    net = make(attention=attention)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.randn(batch, 1, px, px)
    y = torch.arange(batch) % 7

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    step()
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    args = ap.parse_args()
    os.environ.update(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    import torch
    torch.set_num_threads(2)
    sys.path.insert(0, HERE)
    import torch_networks
    out = subprocess.run([os.path.join(args.build, "bench", "hfc_bench_networks"), "--benchmark_format=json"],
                         check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
    ours = {b["name"].split("/")[0].replace("BM_", ""): b["real_time"] for b in json.loads(out)["benchmarks"]}
    rows = [("ResNet18", torch_networks.resnet18, False), ("ResNet18_HFC", torch_networks.resnet18, True),
            ("MobileNetV2", torch_networks.mobilenet_v2, False), ("MobileNetV2_HFC", torch_networks.mobilenet_v2, True)]
    print(f"PyTorch {torch.__version__}, batch 32, 48 px, one training step (ms, median)\n")
    print("| network | PyTorch | hfcnet | hfcnet / PyTorch | hfcnet images/s |")
    print("|---|---|---|---|---|")
    for name, make, attention in rows:
        theirs = torch_step_ms(make, attention)
        print(f"| {name.replace('_HFC', ' + HFC')} | {theirs:.0f} | {ours[name]:.0f} | {ours[name] / theirs:.2f} | "
              f"{32000 / ours[name]:.0f} |", flush=True)


if __name__ == "__main__":
    main()
