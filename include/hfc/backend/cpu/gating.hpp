#pragma once
// Sigmoid gating y = sigmoid(z) * x, one gate map per sample broadcast over the channels.
#include <cmath>
#include <cstdint>

#include "hfc/backend/cpu/memory.hpp"
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

// dz = a (1 - a) sum_c dy * x, and dx = a * dy (overwritten) unless dx is null: a caller with
// more to add to dx writes it in its own pass (gated_projection_backward_kernel).
template <class T>
void sigmoid_gate_backward_kernel(cpu, const T* dy, const T* x, const T* a, std::int64_t batch,
                                  std::int64_t channels, std::int64_t plane, T* dx, T* dz) {
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const T* HFC_RESTRICT ab = a + b * plane;
    T* HFC_RESTRICT dzb = dz + b * plane;
    for (std::int64_t p = 0; p < plane; ++p) dzb[p] = T(0);
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t off = (b * channels + c) * plane;
      const T* HFC_RESTRICT dyc = dy + off;
      const T* HFC_RESTRICT xc = x + off;
      for (std::int64_t p = 0; p < plane; ++p) dzb[p] += dyc[p] * xc[p];
      if (dx) store_each(dx + off, plane, streaming, [&](std::int64_t p) { return ab[p] * dyc[p]; });
    }
    for (std::int64_t p = 0; p < plane; ++p) dzb[p] *= ab[p] * (T(1) - ab[p]);
    stream_fence();
  }
}

// x feeds a sigmoid gate (y = a * x) and a 1x1 convolution to one channel (k = sum_c w_c x_c):
// dx = a * dy + w_c * dk (overwritten) and dw_c += sum_{b,p} x * dk, in one pass over dy and x.
// dk: batch x plane; w, dw: channels. dw's sum runs over b in order, in double, so it does not
// depend on the thread count.
template <class T>
void gated_projection_backward_kernel(cpu, const T* dy, const T* x, const T* a, const T* w, const T* dk,
                                      std::int64_t batch, std::int64_t channels, std::int64_t plane, T* dx, T* dw) {
  const bool streaming = streams(static_cast<std::size_t>(batch * channels * plane) * sizeof(T));
  struct Dots;
  T* dots = scratch<T, Dots>(static_cast<std::size_t>(batch * channels));  // x . dk per (b, c)
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const T* HFC_RESTRICT ab = a + b * plane;
    const T* HFC_RESTRICT dkb = dk + b * plane;
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t off = (b * channels + c) * plane;
      const T* HFC_RESTRICT dyc = dy + off;
      const T* HFC_RESTRICT xc = x + off;
      const T wc = w[c];
      store_each(dx + off, plane, streaming, [&](std::int64_t p) { return ab[p] * dyc[p] + wc * dkb[p]; });
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (std::int64_t p = 0; p < plane; ++p) dot += xc[p] * dkb[p];
      dots[b * channels + c] = dot;
    }
    stream_fence();
  }
  for (std::int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (std::int64_t b = 0; b < batch; ++b) sum += dots[b * channels + c];
    dw[c] += static_cast<T>(sum);
  }
}

}  // namespace hfc::cpu_backend
