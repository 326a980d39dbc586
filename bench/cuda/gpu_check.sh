#!/usr/bin/env bash
# The GPU check: runs the CUDA tests and the GPU benchmarks built for sm_90, and PyTorch's side of
# the comparison, on a machine with an NVIDIA GPU. Prints one table at the end.
#   bench/cuda/gpu_check.sh [BUILD_DIR]     (default build/release; binaries may be built elsewhere)
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
out="${OUT:-/tmp/hfc_gpu_check}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

echo "== CUDA tests"
"$build/tests/cuda/hfc_cuda_tests" 2>&1 | tee "$out/tests.txt" | tail -4
tests_rc=${PIPESTATUS[0]}

echo "== hfcnet and cuSOLVER"
"$build/bench/cuda/hfc_bench_svd_cuda" --benchmark_min_time=0.2 --benchmark_format=json --benchmark_out="$out/svd.json" \
  --benchmark_out_format=json >/dev/null 2>"$out/svd.err" || cat "$out/svd.err"

echo "== PyTorch"
python3 bench/cuda/pytorch_svd_bench.py > "$out/torch.jsonl" 2>"$out/torch.err" || tail -5 "$out/torch.err"

python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
gpu = (out / "gpu.txt").read_text().strip()
rows = {}
for b in json.loads((out / "svd.json").read_text())["benchmarks"]:
    if b.get("error_occurred"): continue
    name, n = b["name"].split("/")[0].replace("BM_", ""), int(b["name"].split("/")[1])
    rows.setdefault(n, {})[name] = b["real_time"]
for line in (out / "torch.jsonl").read_text().splitlines():
    r = json.loads(line); name, n = r["name"].rsplit("/", 1)
    rows.setdefault(int(n), {})[name] = r["ms"]
cols = ["HfcSvd", "HfcSvdValues", "CusolverGesvdjBatched", "CusolverGesvdjLoop", "CusolverGesvdaStridedBatched",
        "torch.linalg.svdvals", "torch.linalg.svd(gesvda)"]
print(f"\nGPU: {gpu}. Batch 32, square n x n, float, ms per call (median).\n")
print("| n | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for n in sorted(rows):
    print(f"| {n} | " + " | ".join(f"{rows[n][c]:.3f}" if c in rows[n] else "-" for c in cols) + " |")
PY
exit $tests_rc
