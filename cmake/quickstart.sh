#!/usr/bin/env bash
# The README's quick start.
#   cmake/quickstart.sh         install what is missing, build, train on the synthetic set, run the demo
#   cmake/quickstart.sh test    install what is missing, build, run every test (what CI runs)
#   cmake/quickstart.sh bench   also install PyTorch and put our benchmarks beside it
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"

# Debian 12 packages. Build and test needs come first; PyTorch only for the side-by-side benchmark.
build_packages=(cmake g++ make pkg-config libeigen3-dev libfftw3-dev nlohmann-json3-dev doctest-dev
                libbenchmark-dev libcli11-dev libstb-dev libtiff-dev python3)
# The safetensors fuzz test: clang++ and its libFuzzer runtime (a recommends, not a dependency, of
# clang). The golden tests: PyTorch and torchvision write the reference files at test time.
test_packages=(clang libclang-rt-14-dev python3-torch python3-torchvision)
bench_packages=(python3-torch python3-torchvision)

install_missing() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "quickstart: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)"
}

case "$mode" in
  demo)
    install_missing "${build_packages[@]}"
    build
    # The main job on its embedded default: hfcnet train on the synthetic set (a fresh run each time).
    rm -rf build/release/run
    OMP_NUM_THREADS="$(nproc)" ./build/release/examples/hfcnet train --out build/release/run
    ./build/release/examples/hfc_attention_demo --out build/release/demo
    ;;
  test)
    install_missing "${build_packages[@]}" "${test_packages[@]}"
    build
    ctest --preset release
    ;;
  bench)
    install_missing "${build_packages[@]}" "${bench_packages[@]}"
    build
    /usr/bin/python3 bench/compare_cpu.py
    /usr/bin/python3 bench/compare_networks.py
    ;;
  *)
    echo "usage: cmake/quickstart.sh [demo|test|bench]" >&2
    exit 2
    ;;
esac
