#pragma once
// Sigmoid gating y = sigmoid(z) * x, one gate map per sample broadcast over the channels.
#include <cmath>
#include <cstdint>

#include "hfc/backend/cpu/memory.hpp"

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
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    T* HFC_RESTRICT ab = a + b * plane;
    for (std::int64_t p = 0; p < plane; ++p) ab[p] = sigmoid(z[b * plane + p]);
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* HFC_RESTRICT xc = x + (b * channels + c) * plane;
      T* HFC_RESTRICT yc = y + (b * channels + c) * plane;
      for (std::int64_t p = 0; p < plane; ++p) yc[p] = ab[p] * xc[p];
    }
  }
}

// dx = a * dy (overwritten); dz = a (1 - a) sum_c dy * x. One pass over dy and x.
template <class T>
void sigmoid_gate_backward_kernel(cpu, const T* dy, const T* x, const T* a, std::int64_t batch,
                                  std::int64_t channels, std::int64_t plane, T* dx, T* dz) {
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const T* HFC_RESTRICT ab = a + b * plane;
    T* HFC_RESTRICT dzb = dz + b * plane;
    for (std::int64_t p = 0; p < plane; ++p) dzb[p] = T(0);
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t off = (b * channels + c) * plane;
      const T* HFC_RESTRICT dyc = dy + off;
      const T* HFC_RESTRICT xc = x + off;
      T* HFC_RESTRICT dxc = dx + off;
      for (std::int64_t p = 0; p < plane; ++p) {
        dzb[p] += dyc[p] * xc[p];
        dxc[p] = ab[p] * dyc[p];
      }
    }
    for (std::int64_t p = 0; p < plane; ++p) dzb[p] *= ab[p] * (T(1) - ab[p]);
  }
}

}  // namespace hfc::cpu_backend
