"""Times the PyTorch HFC module forward and forward+backward at batch 32 on the CPU, at the
shapes of bench_components.cpp. Prints one JSON object per line: {"name", "ms"}.
Run with OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 (compare_cpu.py sets them)."""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from torch_models import HfcAttention  # noqa: E402  (the golden tests' PyTorch module)


def median_ms(fn, min_time=1.0, min_reps=3):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    torch.manual_seed(0)
    for c, hw in [(64, 112), (64, 56), (128, 28), (256, 14)]:
        m = HfcAttention(c)
        x = torch.randn(32, c, hw, hw)
        dy = torch.randn_like(x)

        def fwd():
            with torch.no_grad():
                m(x)

        def fwd_bwd():
            xx = x.requires_grad_(True)
            m(xx).backward(dy)

        for name, fn in [("ModuleFwd", fwd), ("ModuleFwdBwd", fwd_bwd)]:
            print(json.dumps({"name": f"{name}/C:{c}/HW:{hw}", "ms": median_ms(fn)}), flush=True)


if __name__ == "__main__":
    main()
