#pragma once
// Element-wise work on the GPU: body(i) for every i < n, in a grid-stride loop on the context's
// stream. Bodies are small structs with an HFC_HOST_DEVICE operator()(std::int64_t) const, so
// that the same body also runs on the host (tests/cuda/host_executor.cuh runs the backend's
// algorithms there, where CI has no GPU).
#include <algorithm>
#include <cstdint>

#include "hfc/backend/cuda/context.cuh"
#include "hfc/backend/cuda/profiler.cuh"
#include "hfc/backend/host_device.hpp"

namespace hfc::cuda_backend {

inline constexpr int kThreads = 256;
inline int blocks_for(std::int64_t n) {
  return static_cast<int>(std::clamp<std::int64_t>((n + kThreads - 1) / kThreads, 1, 65535));
}

// The most dynamic shared memory a block of the current device may opt in to (227 KB on an
// H100/H200), less 1 KB for the kernels' static __shared__ variables (a few bytes), which count
// against the same limit; kernels that take more than 48 KB set
// cudaFuncAttributeMaxDynamicSharedMemorySize.
inline int max_shared_bytes_per_block() {
  int device = 0, limit = 0;
  HFC_CUDA_CHECK(cudaGetDevice(&device));
  HFC_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return limit - 1024;
}

// for (i = global thread index; i < n; i += grid size)
#define HFC_GRID_STRIDE_LOOP(i, n)                                                                \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (n);              \
       i += std::int64_t(gridDim.x) * blockDim.x)

namespace detail {
template <class Body>
__global__ void for_each_kernel(std::int64_t n, Body body) {
  HFC_GRID_STRIDE_LOOP(i, n) body(i);
}
}  // namespace detail

template <class Body>
void for_each_index(std::int64_t n, const Body& body) {
  if (n <= 0) return;
  const ProfiledLaunch timing([] { return launch_type_name<Body>(); });
  detail::for_each_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(n, body);
  HFC_CUDA_AFTER_LAUNCH("for_each_kernel");
}

}  // namespace hfc::cuda_backend
