"""PyTorch's side of the GPU SVD comparison: singular values of 32 square matrices on cuda,
with the default driver and with driver="gesvda", median milliseconds per call."""
import json
import statistics
import time

import torch


def median_ms(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    torch.manual_seed(0)
    for n in (14, 28, 32, 56, 112):
        a = torch.randn(32, n, n, device="cuda")
        print(json.dumps({"name": f"torch.linalg.svdvals/{n}", "ms": median_ms(lambda: torch.linalg.svdvals(a))}))
        print(json.dumps({"name": f"torch.linalg.svd(gesvda)/{n}",
                          "ms": median_ms(lambda: torch.linalg.svd(a, full_matrices=False, driver="gesvda"))}))


if __name__ == "__main__":
    main()
