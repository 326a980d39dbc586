"""PyTorch's side of the GPU comparison (bench/cuda/bench_networks_cuda.cu): the HFC module
forward and forward+backward at batch 32 and the paper's shapes, and one training step (forward,
cross-entropy, backward, Adam) of each network at 224 px, batch 32, with PyTorch's defaults
(cuDNN on, TF32 for convolutions). The models are the golden tests' (tests/golden/torch_models.py).
Prints one JSON object per line: {"name", "ms"} (median)."""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
import torch_models  # noqa: E402


def median_ms(fn, min_time=1.0, min_reps=5):
    fn()
    torch.cuda.synchronize()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def emit(name, ms):
    print(json.dumps({"name": name, "ms": ms}), flush=True)


def module():
    for c, hw in [(64, 112), (64, 56), (128, 28), (256, 14)]:
        m = torch_models.HfcAttention(c).cuda()
        x = torch.randn(32, c, hw, hw, device="cuda")
        dy = torch.randn_like(x)

        def fwd():
            with torch.no_grad():
                m(x)

        def fwd_bwd():
            m(x.requires_grad_(True)).backward(dy)

        emit(f"CudaModuleFwd/C:{c}/HW:{hw}", median_ms(fwd))
        emit(f"CudaModuleFwdBwd/C:{c}/HW:{hw}", median_ms(fwd_bwd))


def networks():
    if torch_models.torchvision is None:
        print("pytorch_gpu_bench: no torchvision here; the network steps are skipped", file=sys.stderr)
        return
    for name, model, attention in [("ResNet18", "resnet18", "none"), ("ResNet18_HFC", "resnet18", "hfc"),
                                   ("ResNet18_BAM", "resnet18", "bam_official"),
                                   ("MobileNetV2", "mobilenet_v2", "none"),
                                   ("MobileNetV2_HFC", "mobilenet_v2", "hfc")]:
        net = getattr(torch_models, model)(attention=attention).cuda()
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        x = torch.randn(32, 1, 224, 224, device="cuda")
        y = torch.arange(32, device="cuda") % 7

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()

        emit(f"Cuda{name}/224", median_ms(step))


if __name__ == "__main__":
    torch.manual_seed(0)
    module()
    networks()
