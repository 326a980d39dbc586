#pragma once
// Host storage for hfc::cpu tensors: 64-byte aligned (one cache line, one AVX-512 vector).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "hfc/core/backend.hpp"
#include "hfc/core/error.hpp"

namespace hfc::cpu_backend {

inline constexpr std::size_t kAlignment = 64;

inline void* allocate_bytes(cpu, std::size_t bytes) {
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) fail("cpu backend: out of host memory allocating ", bytes, " bytes");
  return p;
}
inline void free_bytes(cpu, void* p) { std::free(p); }

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

// A per-thread scratch buffer that grows and is never shrunk: hot loops reuse it instead of
// allocating on every call. Distinct `Slot` types give a thread several independent buffers.
template <class T, class Slot>
T* scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace hfc::cpu_backend
