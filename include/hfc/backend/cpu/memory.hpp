#pragma once
// Host storage for hfc::cpu tensors: at least 64-byte aligned (one cache line, one AVX-512
// vector), from a cache of large blocks.
#include <algorithm>
#include <bit>
#include <mutex>
#include <unordered_map>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <omp.h>

#include "hfc/core/backend.hpp"
#include "hfc/core/error.hpp"

// Promises the compiler that a pointer does not alias the others in its loop, so it vectorises
// without run-time overlap checks.
#if defined(__GNUC__) || defined(__clang__)
#define HFC_RESTRICT __restrict__
#else
#define HFC_RESTRICT
#endif

namespace hfc::cpu_backend {

inline constexpr std::size_t kAlignment = 64;

// Large host blocks are cached after use and handed out again, as PyTorch's CUDA allocator does
// on the GPU. A fresh block costs a page fault per 4 KiB page on first touch (slow under
// virtualisation: a 25 MB activation took longer to fault in than to compute on), so a training
// loop that frees and reallocates the same sizes would pay that on every step. (2 MiB-aligned
// blocks advised as transparent huge pages were measured too: the element-wise kernels ran 1.5-2x
// slower, as equal alignment of every array makes their streams collide in the caches.)
class HostBlockCache {
 public:
  static constexpr std::size_t kMinCached = std::size_t(256) << 10;

  static HostBlockCache& instance() {
    static HostBlockCache* cache = new HostBlockCache;  // never destroyed: tensors may outlive statics
    return *cache;
  }

  // Sizes are rounded up to 1/8 of their power of two (at most 12.5% waste) so that nearby
  // sizes share blocks.
  static std::size_t size_class(std::size_t bytes) {
    if (bytes < kMinCached) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
    const std::size_t step = std::bit_floor(bytes) / 8;
    return (bytes + step - 1) / step * step;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size = size_class(bytes);
    if (size >= kMinCached) {
      std::lock_guard lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_bytes_ -= size;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, size);
    if (!p) fail("cpu backend: out of host memory allocating ", bytes, " bytes");
    return p;
  }

  void deallocate(void* p, std::size_t bytes) {
    const std::size_t size = size_class(bytes);
    if (size < kMinCached) return std::free(p);
    std::lock_guard lock(mutex_);
    free_.emplace(size, p);
    cached_bytes_ += size;
  }

  // Returns every cached block to the system (torch.cuda.empty_cache's counterpart).
  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [size, p] : free_) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
  }
  std::size_t cached_bytes() const {
    std::lock_guard lock(mutex_);
    return cached_bytes_;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_multimap<std::size_t, void*> free_;
  std::size_t cached_bytes_ = 0;
};

inline void* allocate_bytes(cpu, std::size_t bytes) { return HostBlockCache::instance().allocate(bytes); }
inline void free_bytes(cpu, void* p, std::size_t bytes) { HostBlockCache::instance().deallocate(p, bytes); }

// What the backend runs on, for logs: "cpu, 2 OpenMP threads".
inline std::string describe(cpu) {
  const int threads = omp_get_max_threads();
  return "cpu, " + std::to_string(threads) + " OpenMP thread" + (threads == 1 ? "" : "s");
}

template <class T>
void fill_n(cpu, T* dst, std::int64_t n, T value) {
  std::fill_n(dst, n, value);
}
template <class T>
void copy_n(cpu, const T* src, std::int64_t n, T* dst) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
}
template <class T>
void transfer(cpu, cpu, const T* src, std::int64_t n, T* dst) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
}

// Copies and zeroes short rows (a few to a few dozen elements, e.g. one row of Winograd tiles)
// inline: std::copy_n and std::fill_n become calls to memmove and memset, whose fixed cost
// exceeded the work itself for rows of 4-14 floats (6% of a ResNet18 step went to such calls).
template <class T>
inline void copy_short(const T* HFC_RESTRICT src, std::int64_t n, T* HFC_RESTRICT dst) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
      const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
      _mm512_mask_storeu_ps(dst + i, mask, _mm512_maskz_loadu_ps(mask, src + i));
    }
    return;
  }
#endif
  std::copy_n(src, n, dst);
}
template <class T>
inline void zero_short(T* dst, std::int64_t n) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
    if (i < n) _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1u), _mm512_setzero_ps());
    return;
  }
#endif
  std::fill_n(dst, n, T(0));
}

// An allocator on kAlignment (64-byte) boundaries: one cache line, one AVX-512 vector. Buffers
// that SIMD loops read whole vectors from need it: std::vector's 16-byte alignment made every
// 64-byte load and store straddle two cache lines (the lane SVD ran 1.2x slower for it,
// docs/performance.md).
template <class T>
struct AlignedAllocator {
  static_assert(alignof(T) <= kAlignment);
  using value_type = T;
  static constexpr std::align_val_t kAlign{kAlignment};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new(n * sizeof(T), kAlign));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};
template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// A per-thread scratch buffer that grows and is never shrunk: hot loops reuse it instead of
// allocating on every call. Distinct `Slot` types give a thread several independent buffers.
// (Making every scratch buffer 64-byte aligned was measured: ResNet18 + HFC steps at 112 px
// 1.02x the time, side by side; only the kernels that want alignment ask for it, below.)
template <class T, class Slot>
T* scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

// scratch, on a kAlignment boundary (for SIMD code that loads whole vectors from it).
template <class T, class Slot>
T* aligned_scratch(std::size_t count) {
  thread_local AlignedVector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace hfc::cpu_backend
