#pragma once
// Device storage for hfc::cuda tensors: cudaMalloc'd blocks, cached after use so that a training
// loop does not call cudaMalloc/cudaFree in its steady state (cudaFree synchronises the device).
// Sizes are rounded to 1/8 of their power of two, as the host cache does.
#include <bit>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/core/backend.hpp"

namespace hfc::cuda_backend {

class DeviceBlockCache {
 public:
  static DeviceBlockCache& instance() {
    static DeviceBlockCache* cache = new DeviceBlockCache;  // never destroyed: outlives tensors in statics
    return *cache;
  }
  static std::size_t size_class(std::size_t bytes) {
    if (bytes <= 512) return 512;
    const std::size_t step = std::max<std::size_t>(std::bit_floor(bytes) / 8, 512);
    return (bytes + step - 1) / step * step;
  }
  void* allocate(std::size_t bytes) {
    const std::size_t size = size_class(bytes);
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        return p;
      }
    }
    void* p = nullptr;
    if (cudaMalloc(&p, size) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error, release the cache and retry once
      release();
      HFC_CUDA_CHECK(cudaMalloc(&p, size));
    }
    return p;
  }
  void deallocate(void* p, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    free_.emplace(size_class(bytes), p);
  }
  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [size, p] : free_) cudaFree(p);
    free_.clear();
  }

 private:
  std::mutex mutex_;
  std::unordered_multimap<std::size_t, void*> free_;
};

inline void* allocate_bytes(cuda, std::size_t bytes) { return DeviceBlockCache::instance().allocate(bytes); }
inline void free_bytes(cuda, void* p, std::size_t bytes) { DeviceBlockCache::instance().deallocate(p, bytes); }

namespace detail {
template <class T>
__global__ void fill_kernel(T* dst, std::int64_t n, T value) {
  HFC_GRID_STRIDE_LOOP(i, n) dst[i] = value;
}
}  // namespace detail

template <class T>
void fill_n(cuda, T* dst, std::int64_t n, T value) {
  detail::fill_kernel<<<blocks_for(n), kThreads>>>(dst, n, value);
  HFC_CUDA_CHECK_LAUNCH("fill_kernel");
}
template <class T>
void copy_n(cuda, const T* src, std::int64_t n, T* dst) {
  HFC_CUDA_CHECK(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice));
}
template <class T>
void transfer(cpu, cuda, const T* src, std::int64_t n, T* dst) {
  HFC_CUDA_CHECK(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyHostToDevice));
}
template <class T>
void transfer(cuda, cpu, const T* src, std::int64_t n, T* dst) {
  HFC_CUDA_CHECK(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost));
}

}  // namespace hfc::cuda_backend
