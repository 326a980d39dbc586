#pragma once
// Non-temporal ("streaming") stores for outputs far larger than the caches.
//
// A normal store first reads its cache line in (read-for-ownership) and later writes it back; an
// output of tens of MB written once gains nothing from either. On this project's machine, the
// sigmoid gate's backward over a [32, 64, 56, 56] batch took 3.7-4.6 ms with normal stores of dx
// and 1.6-1.8 ms with streaming ones. Not a general rule: BatchNorm's and ReLU's outputs, streamed,
// slowed a ResNet18 step, because their readers come right after them and then miss the cache
// (docs/design.md). Outputs smaller than L2, or accumulated into, keep normal stores: streams().
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

// Whether an output of `bytes` is worth writing around the caches: beyond twice a core's L2
// (2 MB here), it is evicted before anyone reads it again.
inline bool streams(std::size_t bytes) { return bytes >= (std::size_t{4} << 20); }

namespace detail {
// One 64-byte line, both pointers 64-byte aligned. The integer forms move bytes, whatever T is.
template <class T>
inline void stream_line(T* dst, const T* v) {
#if defined(__AVX512F__)
  _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), _mm512_load_si512(reinterpret_cast<const __m512i*>(v)));
#elif defined(__AVX__)
  auto* d = reinterpret_cast<__m256i*>(dst);
  const auto* s = reinterpret_cast<const __m256i*>(v);
  for (int h = 0; h < 2; ++h) _mm256_stream_si256(d + h, _mm256_load_si256(s + h));
#elif defined(__SSE2__)
  auto* d = reinterpret_cast<__m128i*>(dst);
  const auto* s = reinterpret_cast<const __m128i*>(v);
  for (int q = 0; q < 4; ++q) _mm_stream_si128(d + q, _mm_load_si128(s + q));
#else
  for (std::size_t i = 0; i < 64 / sizeof(T); ++i) dst[i] = v[i];
#endif
}
}  // namespace detail

// dst[i] = value(i) for i in [0, n), with streaming stores when `streaming` (else plain ones).
// value is called in order of i, 64 bytes' worth at a time into a fixed-size block, which the
// compiler vectorises; the unaligned head and tail use plain stores. Call stream_fence() before
// another thread reads what was streamed (an OpenMP barrier alone does not order these stores).
template <class T, class F>
inline void store_each(T* HFC_RESTRICT dst, std::int64_t n, bool streaming, F&& value) {
  std::int64_t i = 0;
  if (streaming) {
    constexpr std::int64_t kLine = 64 / sizeof(T);
    for (; i < n && reinterpret_cast<std::uintptr_t>(dst + i) % 64 != 0; ++i) dst[i] = value(i);
    for (; i + kLine <= n; i += kLine) {
      alignas(64) T line[kLine];
#pragma omp simd  // else GCC unrolls the 16 calls before vectorising, and they stay scalar
      for (std::int64_t j = 0; j < kLine; ++j) line[j] = value(i + j);
      detail::stream_line(dst + i, line);
    }
  }
  for (; i < n; ++i) dst[i] = value(i);
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace hfc::cpu_backend
