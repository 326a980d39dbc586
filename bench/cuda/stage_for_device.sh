#!/usr/bin/env bash
# Stages what bench/cuda/gpu_check.sh needs from a build on this machine into one small folder, to
# carry to a GPU machine: the CUDA test and benchmark binaries, the hfcnet program, and the shared
# libraries they use that are neither the C runtime nor the CUDA toolkit's (the GPU machine has
# CUDA 13 but not, for instance, every FFTW or libtiff library).
#   bench/cuda/stage_for_device.sh [BUILD_DIR] [STAGE_DIR]   (defaults build/release, build/gpu-stage)
# Then, there: bench/cuda/gpu_check.sh STAGE_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
stage="${2:-build/gpu-stage}"
rm -rf "$stage"
mkdir -p "$stage/tests/cuda" "$stage/bench/cuda" "$stage/examples" "$stage/lib"
# hfcnet's own code gets -march=native in a release build (HFC_NATIVE_ARCH), and the GPU machine's
# CPU may lack this one's instructions (SIGILL), so its hfcnet comes from the portable preset,
# built here for that one target. The CUDA tests and benchmarks never get -march=native.
hfcnet="$build/examples/hfcnet"
if grep -q "^HFC_NATIVE_ARCH:BOOL=ON" "$build/CMakeCache.txt"; then
  cmake --preset portable >/dev/null
  cmake --build --preset portable --target hfcnet_cli
  hfcnet=build/portable/examples/hfcnet
fi
binaries=("$build/tests/cuda/hfc_cuda_tests" "$build/bench/cuda/hfc_bench_svd_cuda"
          "$build/bench/cuda/hfc_bench_networks_cuda" "$hfcnet" "$build/bench/cuda/hfc_profile_cuda")
cp "${binaries[0]}" "$stage/tests/cuda/"
cp "${binaries[1]}" "${binaries[2]}" "$stage/bench/cuda/"
cp "${binaries[3]}" "$stage/examples/"
cp "${binaries[4]}" "$stage/bench/cuda/"
for bin in "${binaries[@]}"; do
  ldd "$bin" | awk '/=> \// {print $3}' |
    grep -v -E '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libcuda)\.so|/usr/local/cuda' |
    while read -r lib; do cp -L -n "$lib" "$stage/lib/"; done
done
du -sh "$stage"
