#pragma once
// Device storage for hfc::cuda tensors: cudaMalloc'd blocks, cached after use so that a training
// loop does not call cudaMalloc/cudaFree in its steady state (cudaFree synchronises the device).
// Sizes are rounded to 1/8 of their power of two, as the host cache does.
#include <bit>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
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
      cudaGetLastError();  // clear the (non-sticky) error, release the cache and retry once
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
    // Kernels queued on the stream may still use cached blocks (scratch is returned at scope exit);
    // unchecked, since this runs on the way to reporting a failed cudaMalloc.
    cudaDeviceSynchronize();
    cudaGetLastError();  // a failure here is the caller's to report, not the next launch's
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

// A copy's name for the profiler and HFC_CUDA_TRACE: "cudaMemcpyAsync H2D 6422528 B".
inline std::string copy_name(const char* direction, std::size_t bytes) {
  return std::string("cudaMemcpyAsync ") + direction + " " + std::to_string(bytes) + " B";
}

// A kernel's temporary device buffer, from the block cache and back to it at scope exit (the
// stream orders the reuse after the kernels queued on it).
template <class T>
class DeviceScratch {
 public:
  explicit DeviceScratch(std::int64_t count)
      : bytes_(static_cast<std::size_t>(count > 0 ? count : 1) * sizeof(T)),
        data_(static_cast<T*>(DeviceBlockCache::instance().allocate(bytes_))) {}
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  ~DeviceScratch() { DeviceBlockCache::instance().deallocate(data_, bytes_); }
  T* get() const { return data_; }

 private:
  std::size_t bytes_;
  T* data_;
};

namespace detail {
template <class T>
struct Fill {
  T* dst;
  T value;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { dst[i] = value; }
};
}  // namespace detail

template <class T>
void fill_n(cuda, T* dst, std::int64_t n, T value) {
  for_each_index(n, detail::Fill<T>{dst, value});
}
// Large host-to-device copies (a training batch) go through pinned staging buffers, two in turn:
// the host's copy into pinned memory overlaps the GPU work already queued, and the DMA from it is
// asynchronous for certain (from pageable memory the driver stages the copy itself and may make
// the host wait). A buffer is reused once the event after its last DMA has passed.
class PinnedStaging {
 public:
  static constexpr std::size_t kMinBytes = std::size_t(1) << 20;
  static PinnedStaging& instance() {
    static PinnedStaging* staging = new PinnedStaging;  // never destroyed, as the block cache
    return *staging;
  }
  void copy_to_device(const void* src, std::size_t bytes, void* dst) {
    std::lock_guard lock(mutex_);
    Slot& slot = slots_[next_];
    next_ = 1 - next_;
    if (slot.event) HFC_CUDA_CHECK(cudaEventSynchronize(slot.event));  // its previous DMA is done
    else HFC_CUDA_CHECK(cudaEventCreateWithFlags(&slot.event, cudaEventDisableTiming));
    if (slot.bytes < bytes) {
      if (slot.data) HFC_CUDA_CHECK(cudaFreeHost(slot.data));
      slot.data = nullptr;
      slot.bytes = 0;  // a failed allocation below leaves an empty slot, not a stale size
      HFC_CUDA_CHECK(cudaMallocHost(&slot.data, bytes));
      slot.bytes = bytes;
    }
    std::memcpy(slot.data, src, bytes);
    const ProfiledLaunch timing([&] { return copy_name("H2D", bytes); });
    HFC_CUDA_CHECK(cudaMemcpyAsync(dst, slot.data, bytes, cudaMemcpyHostToDevice, stream()));
    HFC_CUDA_CHECK(cudaEventRecord(slot.event, stream()));
  }

 private:
  struct Slot {
    void* data = nullptr;
    std::size_t bytes = 0;
    cudaEvent_t event = nullptr;
  };
  std::mutex mutex_;
  Slot slots_[2];
  int next_ = 0;
};

// Copies are queued on the context's stream like the kernels. A host-to-device copy returns once
// the host buffer has been staged (it may be reused at once); a device-to-host copy waits for the
// data, since the caller reads it next.
template <class T>
void copy_n(cuda, const T* src, std::int64_t n, T* dst) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  const ProfiledLaunch timing([&] { return copy_name("D2D", bytes); });
  HFC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}
template <class T>
void transfer(cpu, cuda, const T* src, std::int64_t n, T* dst) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  if (bytes >= PinnedStaging::kMinBytes) return PinnedStaging::instance().copy_to_device(src, bytes, dst);
  const ProfiledLaunch timing([&] { return copy_name("H2D", bytes); });
  HFC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}
template <class T>
void transfer(cuda, cuda, const T* src, std::int64_t n, T* dst) {  // Tensor::to<cuda>() on the device: a clone
  copy_n(cuda{}, src, n, dst);
}
template <class T>
void transfer(cuda, cpu, const T* src, std::int64_t n, T* dst) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  {
    const ProfiledLaunch timing([&] { return copy_name("D2H", bytes); });
    HFC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  }
  Context::get().synchronize();
}

}  // namespace hfc::cuda_backend
