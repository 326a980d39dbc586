#pragma once
// The GPU tests' guard: where there is no usable device, a case prints why and returns, and ctest
// reports it as skipped (SKIP_REGULAR_EXPRESSION in CMakeLists.txt).
#include <cstdio>

#include <hfc/cuda.cuh>

namespace hfc::test {

inline bool no_gpu() {
  if (cuda_backend::device_available()) return false;
  std::printf("SKIPPED: no CUDA device (%s)\n", cuda_backend::device_status().c_str());
  return true;
}

}  // namespace hfc::test
