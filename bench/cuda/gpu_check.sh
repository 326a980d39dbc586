#!/usr/bin/env bash
# The GPU check: runs the CUDA tests and the GPU benchmarks (built for sm_90, here or elsewhere),
# and PyTorch's side of the comparison, on a machine with an NVIDIA GPU. Prints the tables for
# docs/performance.md at the end. Each step has a timeout; all of them together stay under
# 8 minutes: 440 s, or 470 s when a test fails and its case reruns with HFC_CUDA_SYNC=1 and under
# compute-sanitizer in place of the kernel profile, plus up to 5 s for a step that ignores its
# timeout.
#   bench/cuda/gpu_check.sh [BUILD_DIR]     (default build/release; or a folder staged by
#                                           bench/cuda/stage_for_device.sh on another machine)
# Logs and results go to a scratch folder; $OUT (default /tmp/hfc_gpu_check) gets two files: the
# tables (gpu_check.md) and every log and JSON file in one archive (gpu_check.tgz), since the
# device tool brings back at most 8 files.
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
out="${OUT:-/tmp/hfc_gpu_check}"
work="$(mktemp -d)"
mkdir -p "$out"
# Whatever has run is archived however the script ends (a step's timeout, the device tool's limit).
trap 'tar czf "$out/gpu_check.tgz" -C "$work" . 2>/dev/null' EXIT
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$work/gpu.txt"
grep -m1 "model name" /proc/cpuinfo | tee "$work/cpu.txt"

# Our binaries get the libraries a staged folder (bench/cuda/stage_for_device.sh) brought; PyTorch
# keeps its own. If the loader still misses one (the CUDA toolkit's, outside the default path),
# the toolkit's library folders are added.
libs="${LD_LIBRARY_PATH:-}"
add_libs() { for d in "$@"; do libs="$d${libs:+:$libs}"; done; }
if [ -d "$build/lib" ]; then add_libs "$(cd "$build/lib" && pwd)"; fi
run() { LD_LIBRARY_PATH="$libs" "$@"; }
run ldd "$build/tests/cuda/hfc_cuda_tests" > "$work/ldd.txt" 2>&1
if grep -q "not found" "$work/ldd.txt"; then
  add_libs /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib64
  echo "ldd: missing libraries; adding the CUDA toolkit's folders. Still missing:"
  run ldd "$build/tests/cuda/hfc_cuda_tests" > "$work/ldd.txt" 2>&1
  grep "not found" "$work/ldd.txt"
fi

# Output a line at a time: a program cut off by its timeout keeps what it printed.
line_buffered=()
if command -v stdbuf >/dev/null; then line_buffered=(stdbuf -oL); fi
timed() {  # seconds, program, arguments: one of our programs under a timeout, line-buffered
  local seconds="$1"
  shift
  # SIGTERM at the limit (doctest then names the running case), SIGKILL 5 s later if that hangs
  # too (a process stuck in the driver may not get through its exit).
  run timeout -k 5 "$seconds" ${line_buffered[@]+"${line_buffered[@]}"} "$@"
}

echo "== CUDA tests"
# Not the host runs of the cuda backend (12 s of the 90 on the development machine): CI runs those.
# With --duration, doctest prints each case's name and time when it ends, in the order it runs
# them, which is --list-test-cases' order. At the timeout's SIGTERM doctest names the running case
# as CRASHED; if it is killed without that, the hung case is the one after the last that ended.
tests=("$build/tests/cuda/hfc_cuda_tests" "--test-case-exclude=*run on the host*")
timed 90 "${tests[@]}" --duration=true > "$work/tests.txt" 2>&1
tests_rc=$?
tests_failed=$tests_rc  # a failing case reruns below, in the kernel profile's time
grep -E "ERROR|error|logged|values:|test cases|assertions" "$work/tests.txt" | head -60
if [ "$tests_rc" -ne 0 ]; then
  # The first failing case again, alone: each kernel checked at its launch and named before it (the
  # last name is the one that faulted or hung), then under compute-sanitizer's memcheck where the
  # machine has it. A fault inside a kernel fails every later case of the same process, so the first
  # is the one to look at: the case whose name doctest printed before its first ERROR (a failed
  # check, an exception, a crash, the timeout's SIGTERM), or, after a timeout that left no such
  # line, the case after the last that ended.
  first="$(awk '/^TEST CASE:/ {name = $0} /ERROR:/ && name != "" {print name; exit}' "$work/tests.txt" |
    sed 's/^TEST CASE: *//')"
  if [ -z "$first" ] && { [ "$tests_rc" -eq 124 ] || [ "$tests_rc" -eq 137 ]; }; then
    last="$(grep -E '^[0-9.]+ s: ' "$work/tests.txt" | tail -1 | sed -E 's/^[0-9.]+ s: //')"
    run "${tests[@]}" --list-test-cases | sed '1,/^=====/d; /^=====/,$d' > "$work/cases.txt"
    if [ -n "$last" ]; then first="$(grep -F -x -A1 -- "$last" "$work/cases.txt" | sed -n 2p)"
    else first="$(head -1 "$work/cases.txt")"; fi
    echo "timed out in: $first"
  fi
  filter=()
  if [ -n "$first" ]; then
    echo "first failing case: $first"
    comma='\,'  # doctest splits filters at commas (a variable: bash 5.2 drops a literal \ here)
    filter=("--test-case=${first//,/$comma}")
  fi
  echo "== again with HFC_CUDA_SYNC=1 HFC_CUDA_TRACE=1 (the last launches before the end)"
  HFC_CUDA_SYNC=1 HFC_CUDA_TRACE=1 timed 25 "${tests[@]}" ${filter[@]+"${filter[@]}"} \
    > "$work/tests_sync.txt" 2>&1
  sync_rc=$?
  grep -v "^hfc::cuda launch: " "$work/tests_sync.txt" | grep -E "ERROR|error|logged|test cases" | head -20
  grep "^hfc::cuda launch: " "$work/tests_sync.txt" | tail -3
  # memcheck would hang as long where the case alone hung
  if command -v compute-sanitizer >/dev/null && [ "$sync_rc" -ne 124 ] && [ "$sync_rc" -ne 137 ]; then
    echo "== compute-sanitizer --tool memcheck"
    timed 35 compute-sanitizer --tool memcheck --print-limit 5 "${tests[@]}" ${filter[@]+"${filter[@]}"} \
      > "$work/memcheck.txt" 2>&1
    grep -E "^=========" "$work/memcheck.txt" | head -20
  fi
fi
if grep -q "SKIPPED" "$work/tests.txt"; then  # nvidia-smi saw a GPU, so a skip is a failure here
  echo "GPU tests skipped on a machine with a GPU:"; grep -m1 "SKIPPED" "$work/tests.txt"
  tests_rc=1
fi

echo "== hfcnet train --device cuda (synthetic set, 2 epochs at 48 px)"
timed 50 "$build/examples/hfcnet" train --synthetic-count 700 --image-size 48 --epochs 2 --device cuda \
  --out "$work/train" 2>&1 | grep -E "^epoch|error" || tests_rc=1
rm -f "$work"/train/*.safetensors  # checkpoints: tens of MB, not needed back

bench() {  # name, seconds, binary, extra arguments
  echo "== $1"
  timed "$2" "$3" --benchmark_min_time=0.3 --benchmark_format=json "${@:4}" \
    > "$work/$1.json" 2>"$work/$1.err" || tail -5 "$work/$1.err"
}
bench svd 55 "$build/bench/cuda/hfc_bench_svd_cuda"
bench module 45 "$build/bench/cuda/hfc_bench_networks_cuda" --benchmark_filter=Module
bench networks 65 "$build/bench/cuda/hfc_bench_networks_cuda" --benchmark_filter=-Module
# Where the module's and each network's time goes, kernel by kernel: what a later session without a
# GPU needs to know to make them faster. Skipped after a failed test, whose reruns take its time.
if [ "$tests_failed" -eq 0 ]; then
  echo "== kernel profile"
  timed 30 "$build/bench/cuda/hfc_profile_cuda" > "$work/profile.md" 2> "$work/profile.err" ||
    tail -5 "$work/profile.err"
fi

echo "== PyTorch"
timeout 35 python3 bench/cuda/pytorch_svd_bench.py > "$work/torch_svd.jsonl" 2>"$work/torch_svd.err" ||
  tail -5 "$work/torch_svd.err"
timeout 70 python3 bench/cuda/pytorch_gpu_bench.py > "$work/torch_gpu.jsonl" 2>"$work/torch_gpu.err" ||
  tail -5 "$work/torch_gpu.err"

python3 - "$work" <<'PY' | tee "$out/gpu_check.md"
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
gpu = (work / "gpu.txt").read_text().strip()

def ours(name):  # a benchmark killed by its timeout leaves a cut-off file: keep its finished entries
    try:
        text = (work / f"{name}.json").read_text()
    except OSError:
        print(f"({name}.json: missing)")
        return {}
    benchmarks, decoder = [], json.JSONDecoder()
    if '"benchmarks"' not in text:
        print(f"({name}.json: no results)")
        return {}
    at = text.find("[", text.find('"benchmarks"')) + 1
    while at > 0:
        at = text.find("{", at)
        if at < 0:
            break
        try:
            entry, at = decoder.raw_decode(text, at)
        except ValueError:
            print(f"({name}.json: cut off after {len(benchmarks)} results)")
            break
        benchmarks.append(entry)
    return {b["name"].replace("BM_", "").replace("/real_time", ""): b["real_time"]
            for b in benchmarks if not b.get("error_occurred") and "real_time" in b}

def torch_side(name):
    rows = {}
    try:
        for line in (work / name).read_text().splitlines():
            try:
                r = json.loads(line)
                rows[r["name"]] = r["ms"]
            except (ValueError, KeyError):
                pass
    except OSError:
        print(f"({name}: missing)")
    return rows

def cell(v):
    return f"{v:.3f}" if v is not None else "-"

print(f"\nGPU: {gpu}. Batch 32, float, ms (median).\n")
svd, tsvd = ours("svd"), torch_side("torch_svd.jsonl")
cols = [("HfcSvdOneSided", "{n}"), ("HfcSvdGram", "{n}"), ("HfcSvdRegisters", "{n}/0"), ("HfcSvdOneSidedValues", "{n}"),
        ("HfcSvdRegistersValues", "{n}"), ("CusolverGesvdjBatched", "{n}"), ("CusolverGesvdjLoop", "{n}"),
        ("CusolverGesvdaStridedBatched", "{n}")]
tcols = ["torch.linalg.svdvals", "torch.linalg.svd(gesvda)"]
print("| n | " + " | ".join([c for c, _ in cols] + tcols) + " |")
print("|---|" + "---|" * (len(cols) + len(tcols)))
for n in (14, 28, 32, 56, 112):
    cells = [svd.get(f"{c}/" + suffix.format(n=n)) for c, suffix in cols] + [tsvd.get(f"{c}/{n}") for c in tcols]
    print(f"| {n} | " + " | ".join(cell(v) for v in cells) + " |")
print("\nRegister kernel by lanes per column pair:\n\n| n | lanes | ms |\n|---|---|---|")
for n, lanes in ((56, (0, 4, 16, 32)), (112, (0, 8))):
    for g in lanes:  # 0: chosen by size, 8 at 56 and 16 at 112
        print(f"| {n} | {g if g else 'chosen'} | {cell(svd.get(f'HfcSvdRegisters/{n}/{g}'))} |")

nets, tnets = {**ours("module"), **ours("networks")}, torch_side("torch_gpu.jsonl")
print("\n| benchmark | hfcnet | PyTorch | speed-up |\n|---|---|---|---|")
for name in sorted(set(nets) | set(tnets)):
    a, b = nets.get(name), tnets.get(name)
    ratio = f"{b / a:.1f}x" if a and b else "-"
    print(f"| {name} | {cell(a)} | {cell(b)} | {ratio} |")
PY
if [ -s "$work/profile.md" ]; then tee -a "$out/gpu_check.md" < "$work/profile.md"; fi
exit $tests_rc
