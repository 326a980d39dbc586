#!/usr/bin/env python3
"""One training step (forward, cross-entropy, backward, Adam) at batch 32 for ResNet18 and
MobileNetV2, plain, with HFC attention and with BAM (the authors' code), at 48 and 224 px:
PyTorch (Debian's, OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=1) and hfcnet
(bench/bench_networks.cpp). Every configuration runs in its own process, ours then PyTorch's,
so the two see the same machine state and each one's peak resident memory (ru_maxrss of that
process, libraries included) is its own. With --rounds N the pair runs N times, alternating, and
each side's median is reported (this machine's speed drifts by 20% within minutes; alternating
keeps the drift out of the ratio). Prints a Markdown table.

    /usr/bin/python3 bench/compare_networks.py [--build build/release] [--sizes 48,224] [--rounds 3]
                                               [--networks ResNet18_HFC,MobileNetV2_HFC]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_MODELS = os.path.join(HERE, "..", "tests", "golden")
NETWORKS = [("ResNet18", "resnet18", "none"), ("ResNet18_HFC", "resnet18", "hfc"),
            ("ResNet18_BAM", "resnet18", "bam_official"), ("MobileNetV2", "mobilenet_v2", "none"),
            ("MobileNetV2_HFC", "mobilenet_v2", "hfc"), ("MobileNetV2_BAM", "mobilenet_v2", "bam_official")]


def torch_step_ms(model, attention, px, batch=32, min_time=2.0):
    """Runs inside a child process: median ms of one training step."""
    import torch
    sys.path.insert(0, TORCH_MODELS)
    import torch_models
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = getattr(torch_models, model)(attention=attention)
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


def run_measured(cmd, env):
    """Runs cmd; returns (stdout, peak resident MiB of that process)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return out, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    ap.add_argument("--sizes", default="48,224")
    ap.add_argument("--rounds", type=int, default=1, help="alternating runs of each pair; medians reported")
    ap.add_argument("--networks", default=",".join(n for n, _, _ in NETWORKS), help="comma-separated subset")
    ap.add_argument("--torch-one", nargs=3, metavar=("MODEL", "ATTENTION", "PX"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_one:
        model, attention, px = args.torch_one
        print(json.dumps({"ms": torch_step_ms(model, attention, int(px))}))
        return
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    import torch
    print(f"PyTorch {torch.__version__}, batch 32, one training step (forward, cross-entropy, backward, Adam); "
          f"ms median of {args.rounds} alternating round(s); peak RSS MiB of each process\n")
    print("| network | px | PyTorch ms | hfcnet ms | hfcnet / PyTorch | hfcnet images/s | PyTorch MiB | hfcnet MiB |")
    print("|---|---|---|---|---|---|---|---|")
    bench = os.path.join(args.build, "bench", "hfc_bench_networks")
    wanted = set(args.networks.split(","))
    unknown = wanted - {n for n, _, _ in NETWORKS}
    if unknown:
        raise SystemExit(f"--networks: unknown {sorted(unknown)}; known: {[n for n, _, _ in NETWORKS]}")
    for px in (int(s) for s in args.sizes.split(",")):
        for name, model, attention in (n for n in NETWORKS if n[0] in wanted):
            ours_ms, theirs_ms, ours_mib, theirs_mib = [], [], 0.0, 0.0
            for _ in range(args.rounds):
                out, mib = run_measured([bench, f"--benchmark_filter=^BM_{name}/{px}/", "--benchmark_format=json"], env)
                ours_ms.append(json.loads(out)["benchmarks"][0]["real_time"])
                ours_mib = max(ours_mib, mib)
                out, mib = run_measured([sys.executable, __file__, "--torch-one", model, attention, str(px)], env)
                theirs_ms.append(json.loads(out)["ms"])
                theirs_mib = max(theirs_mib, mib)
            ours, theirs = statistics.median(ours_ms), statistics.median(theirs_ms)
            print(f"| {name.replace('_', ' + ')} | {px} | {theirs:.0f} | {ours:.0f} | {ours / theirs:.2f} | "
                  f"{32000 / ours:.0f} | {theirs_mib:.0f} | {ours_mib:.0f} |", flush=True)


if __name__ == "__main__":
    main()
