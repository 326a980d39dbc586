#pragma once
// Sums across a warp and across a thread block (blockDim.x a multiple of 32, at most 1024).
#include "hfc/backend/cuda/launch.cuh"

namespace hfc::cuda_backend::detail {

template <class T>
__device__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Every thread of the block gets the sum of v over the block. Each call site must be reached by
// all threads of the block (it synchronises).
template <class T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // a previous call's readers are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = lane < warps ? partial[lane] : T(0);
  return warp_sum(total);
}

// Every thread of the block gets the largest v of the block. Each call site must be reached by all
// threads of the block (it synchronises).
__device__ inline int block_max(int v) {
  __shared__ int largest;
  if (threadIdx.x == 0) largest = v;
  __syncthreads();
  atomicMax(&largest, v);
  __syncthreads();
  const int result = largest;
  __syncthreads();  // every thread has read it before a later call resets it
  return result;
}

}  // namespace hfc::cuda_backend::detail
