#pragma once
// Launch shapes for element-wise kernels: grid-stride loops over n items.
#include <algorithm>
#include <cstdint>

namespace hfc::cuda_backend {

inline constexpr int kThreads = 256;
inline int blocks_for(std::int64_t n) {
  return static_cast<int>(std::clamp<std::int64_t>((n + kThreads - 1) / kThreads, 1, 65535));
}

// for (i = global thread index; i < n; i += grid size)
#define HFC_GRID_STRIDE_LOOP(i, n)                                                                \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (n);              \
       i += std::int64_t(gridDim.x) * blockDim.x)

}  // namespace hfc::cuda_backend
