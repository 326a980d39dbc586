#pragma once
// Sigmoid gating y = sigmoid(z) * x, one gate map per sample broadcast over the channels.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <omp.h>

#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/cpu/parallel.hpp"
#include "hfc/backend/cpu/stream.hpp"

namespace hfc::cpu_backend {

template <class T>
T sigmoid(T z) {
  // Split by sign so exp never overflows.
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

// z: batch x plane logits; x, y: batch x channels x plane. Writes the gate a = sigmoid(z).
template <class T>
void sigmoid_gate_kernel(cpu, const T* z, const T* x, std::int64_t batch, std::int64_t channels,
                         std::int64_t plane, T* a, T* y) {
  // y streams when large: the gate's forward was bound by its stores (docs/design.md).
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    T* HFC_RESTRICT ab = a + b * plane;
    for (std::int64_t p = 0; p < plane; ++p) ab[p] = sigmoid(z[b * plane + p]);
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* HFC_RESTRICT xc = x + (b * channels + c) * plane;
      store_each(y + (b * channels + c) * plane, plane, streaming, [&](std::int64_t p) { return ab[p] * xc[p]; });
    }
    stream_fence();
  }
}

namespace detail {
// One sample of the gate's backward: dz = a (1 - a) sum_c dy * x, and dx = a * dy unless dx is null.
template <class T>
void gate_backward_sample(const T* HFC_RESTRICT dy, const T* HFC_RESTRICT x, const T* HFC_RESTRICT a,
                          std::int64_t channels, std::int64_t plane, bool streaming, T* dx, T* HFC_RESTRICT dz) {
  for (std::int64_t p = 0; p < plane; ++p) dz[p] = T(0);
  for (std::int64_t c = 0; c < channels; ++c) {
    const T* HFC_RESTRICT dyc = dy + c * plane;
    const T* HFC_RESTRICT xc = x + c * plane;
    for (std::int64_t p = 0; p < plane; ++p) dz[p] += dyc[p] * xc[p];
    if (dx) store_each(dx + c * plane, plane, streaming, [&](std::int64_t p) { return a[p] * dyc[p]; });
  }
  for (std::int64_t p = 0; p < plane; ++p) dz[p] *= a[p] * (T(1) - a[p]);
}

// One sample of gated_projection_backward_kernel: dx = a * dy + w_c * dk, and dots[c] = x_c . dk.
template <class T>
void gated_projection_backward_sample(const T* HFC_RESTRICT dy, const T* HFC_RESTRICT x, const T* HFC_RESTRICT a,
                                      const T* HFC_RESTRICT w, const T* HFC_RESTRICT dk, std::int64_t channels,
                                      std::int64_t plane, bool streaming, T* dx, T* HFC_RESTRICT dots) {
  for (std::int64_t c = 0; c < channels; ++c) {
    const T* HFC_RESTRICT dyc = dy + c * plane;
    const T* HFC_RESTRICT xc = x + c * plane;
    const T wc = w[c];
    store_each(dx + c * plane, plane, streaming, [&](std::int64_t p) { return a[p] * dyc[p] + wc * dk[p]; });
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (std::int64_t p = 0; p < plane; ++p) dot += xc[p] * dk[p];
    dots[c] = dot;
  }
}

// dw_c += sum_b dots[b, c], over b in order and in double, so that it does not depend on the
// thread count.
template <class T>
void add_projection_weight_gradient(const T* dots, std::int64_t batch, std::int64_t channels, T* dw) {
  for (std::int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (std::int64_t b = 0; b < batch; ++b) sum += dots[b * channels + c];
    dw[c] += static_cast<T>(sum);
  }
}
}  // namespace detail

// dz = a (1 - a) sum_c dy * x, and dx = a * dy (overwritten) unless dx is null: a caller with
// more to add to dx writes it in its own pass (gated_projection_backward_kernel).
template <class T>
void sigmoid_gate_backward_kernel(cpu, const T* dy, const T* x, const T* a, std::int64_t batch,
                                  std::int64_t channels, std::int64_t plane, T* dx, T* dz) {
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t off = b * channels * plane;
    detail::gate_backward_sample(dy + off, x + off, a + b * plane, channels, plane, streaming, dx ? dx + off : nullptr,
                                 dz + b * plane);
    stream_fence();
  }
}

// x feeds a sigmoid gate (y = a * x) and a 1x1 convolution to one channel (k = sum_c w_c x_c):
// dx = a * dy + w_c * dk (overwritten) and dw_c += sum_{b,p} x * dk, in one pass over dy and x.
// dk: batch x plane; w, dw: channels.
template <class T>
void gated_projection_backward_kernel(cpu, const T* dy, const T* x, const T* a, const T* w, const T* dk,
                                      std::int64_t batch, std::int64_t channels, std::int64_t plane, T* dx, T* dw) {
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
  struct Dots;
  T* dots = scratch<T, Dots>(static_cast<std::size_t>(batch * channels));  // x . dk per (b, c)
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t off = b * channels * plane;
    detail::gated_projection_backward_sample(dy + off, x + off, a + b * plane, w, dk + b * plane, channels, plane,
                                             streaming, dx + off, dots + b * channels);
    stream_fence();
  }
  detail::add_projection_weight_gradient(dots, batch, channels, dw);
}

// Both kernels above with the step between them: dz, then dk = map_gradient(first, count) (which
// fills dk's rows [first, first + count) from dz's), then dx and dw.
//
// When the batch's dy and x are larger than a last-level cache, each thread takes its samples
// through all three steps as many at a time as fit in a core's L2 (at least one), so that the
// dx pass reads them again from cache rather than memory: at [32, 64, 56, 56] HfcAttention's
// backward went from 3.15 to 2.89 ms, and from 3.44 to 2.82 ms with the caches flushed before
// it; at [32, 64, 112, 112] from 14.3 to 12.0 ms (docs/performance.md). map_gradient then runs on
// several threads at once, and the OpenMP loops inside it on one: nested regions are inactive by
// default (with OMP_MAX_ACTIVE_LEVELS above 1 they would start threads of their own: correct, but
// oversubscribed). A batch that fits in the cache gains nothing from that and would pay the
// calls' overhead (+30% at [32, 256, 14, 14]): it goes through the three steps whole.
template <class T, class MapGradient>
void chained_gate_backward_kernel(cpu, const T* dy, const T* x, const T* a, const T* w, std::int64_t batch,
                                  std::int64_t channels, std::int64_t plane, MapGradient&& map_gradient, T* dz, T* dk,
                                  T* dx, T* dw) {
  constexpr std::size_t kLastLevelCache = std::size_t{32} << 20;  // one core complex's L3 on current x86 servers
  constexpr std::size_t kL2 = std::size_t{1} << 20;  // a core's L2: 1 MB on Zen 4/5, 2 MB on Sapphire Rapids
  const std::size_t pair_bytes = 2 * static_cast<std::size_t>(channels * plane) * sizeof(T);  // a sample's dy and x
  if (static_cast<std::size_t>(batch) * pair_bytes <= kLastLevelCache) {
    sigmoid_gate_backward_kernel(cpu{}, dy, x, a, batch, channels, plane, static_cast<T*>(nullptr), dz);
    map_gradient(std::int64_t{0}, batch);
    gated_projection_backward_kernel(cpu{}, dy, x, a, w, dk, batch, channels, plane, dx, dw);
    return;
  }
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
  const std::int64_t share = (batch + omp_get_max_threads() - 1) / omp_get_max_threads();
  const std::int64_t step = std::clamp<std::int64_t>(static_cast<std::int64_t>(kL2 / pair_bytes), 1, share);
  struct Dots;
  T* dots = scratch<T, Dots>(static_cast<std::size_t>(batch * channels));
  FirstException error;
#pragma omp parallel for schedule(static)
  for (std::int64_t first = 0; first < batch; first += step) {
    error.run([&] {
      const std::int64_t count = std::min(step, batch - first);
      for (std::int64_t b = first; b < first + count; ++b) {
        const std::int64_t off = b * channels * plane;
        detail::gate_backward_sample(dy + off, x + off, a + b * plane, channels, plane, streaming,
                                     static_cast<T*>(nullptr), dz + b * plane);
      }
      map_gradient(first, count);
      for (std::int64_t b = first; b < first + count; ++b) {
        const std::int64_t off = b * channels * plane;
        detail::gated_projection_backward_sample(dy + off, x + off, a + b * plane, w, dk + b * plane, channels, plane,
                                                 streaming, dx + off, dots + b * channels);
      }
    });
    stream_fence();
  }
  error.rethrow();
  detail::add_projection_weight_gradient(dots, batch, channels, dw);
}

}  // namespace hfc::cpu_backend
