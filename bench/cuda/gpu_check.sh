#!/usr/bin/env bash
# The GPU check: runs the CUDA tests and the GPU benchmarks (built for sm_90, here or elsewhere),
# and PyTorch's side of the comparison, on a machine with an NVIDIA GPU. Prints the tables for
# docs/performance.md at the end. Each step has a timeout; all of them together stay under
# 8 minutes (405 s; 465 s when the tests fail and rerun with HFC_CUDA_SYNC=1), and a normal run
# takes a few.
#   bench/cuda/gpu_check.sh [BUILD_DIR]     (default build/release; or a folder staged by
#                                           bench/cuda/stage_for_device.sh on another machine)
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
out="${OUT:-/tmp/hfc_gpu_check}"
mkdir -p "$out"
# A folder staged by bench/cuda/stage_for_device.sh brings the shared libraries it was built with.
if [ -d "$build/lib" ]; then export LD_LIBRARY_PATH="$(cd "$build/lib" && pwd):${LD_LIBRARY_PATH:-}"; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

echo "== CUDA tests"
timeout 100 "$build/tests/cuda/hfc_cuda_tests" > "$out/tests.txt" 2>&1
tests_rc=$?
grep -E "ERROR|error|logged|values:|test cases|assertions" "$out/tests.txt" | head -60
if [ "$tests_rc" -ne 0 ]; then  # again, each kernel checked at its launch, to name a faulting one
  echo "== CUDA tests again with HFC_CUDA_SYNC=1"
  HFC_CUDA_SYNC=1 timeout 60 "$build/tests/cuda/hfc_cuda_tests" > "$out/tests_sync.txt" 2>&1
  grep -E "ERROR|error|logged" "$out/tests_sync.txt" | head -20
fi
if grep -q "SKIPPED" "$out/tests.txt"; then  # nvidia-smi saw a GPU, so a skip is a failure here
  echo "GPU tests skipped on a machine with a GPU:"; grep -m1 "SKIPPED" "$out/tests.txt"
  tests_rc=1
fi

echo "== hfcnet train --device cuda (synthetic set, 2 epochs at 48 px)"
rm -rf "$out/train"
timeout 50 "$build/examples/hfcnet" train --synthetic-count 700 --image-size 48 --epochs 2 --device cuda \
  --out "$out/train" 2>&1 | grep -E "^epoch|error" || tests_rc=1

bench() {  # name, seconds, binary, extra arguments
  echo "== $1"
  timeout "$2" "$3" --benchmark_min_time=0.3 --benchmark_format=json --benchmark_out="$out/$1.json" \
    --benchmark_out_format=json "${@:4}" >/dev/null 2>"$out/$1.err" || tail -5 "$out/$1.err"
}
bench svd 60 "$build/bench/cuda/hfc_bench_svd_cuda"
bench networks 80 "$build/bench/cuda/hfc_bench_networks_cuda"

echo "== PyTorch"
timeout 35 python3 bench/cuda/pytorch_svd_bench.py > "$out/torch_svd.jsonl" 2>"$out/torch_svd.err" || tail -5 "$out/torch_svd.err"
timeout 80 python3 bench/cuda/pytorch_gpu_bench.py > "$out/torch_gpu.jsonl" 2>"$out/torch_gpu.err" ||
  tail -5 "$out/torch_gpu.err"

python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
gpu = (out / "gpu.txt").read_text().strip()

def ours(name):
    path = out / f"{name}.json"
    if not path.exists(): return {}
    return {b["name"].replace("BM_", "").replace("/real_time", ""): b["real_time"]
            for b in json.loads(path.read_text())["benchmarks"] if not b.get("error_occurred")}

def torch_side(name):
    path = out / name
    if not path.exists(): return {}
    return {r["name"]: r["ms"] for r in map(json.loads, path.read_text().splitlines())}

print(f"\nGPU: {gpu}. Batch 32, float, ms (median).\n")
svd, tsvd = ours("svd"), torch_side("torch_svd.jsonl")
cols = ["HfcSvd", "HfcSvdGram", "HfcSvdValues", "CusolverGesvdjBatched", "CusolverGesvdjLoop", "CusolverGesvdaStridedBatched"]
tcols = ["torch.linalg.svdvals", "torch.linalg.svd(gesvda)"]
print("| n | " + " | ".join(cols + tcols) + " |")
print("|---|" + "---|" * (len(cols) + len(tcols)))
for n in (14, 28, 32, 56, 112):
    cells = [svd.get(f"{c}/{n}") for c in cols] + [tsvd.get(f"{c}/{n}") for c in tcols]
    print(f"| {n} | " + " | ".join(f"{v:.3f}" if v is not None else "-" for v in cells) + " |")

nets, tnets = ours("networks"), torch_side("torch_gpu.jsonl")
print("\n| benchmark | hfcnet | PyTorch | speed-up |\n|---|---|---|---|")
for name in sorted(set(nets) | set(tnets)):
    a, b = nets.get(name), tnets.get(name)
    ratio = f"{b / a:.1f}x" if a and b else "-"
    print(f"| {name} | " + (f"{a:.3f}" if a else "-") + " | " + (f"{b:.3f}" if b else "-") + f" | {ratio} |")
PY
exit $tests_rc
