#pragma once
// BAM's gate y = (1 + sigmoid(z)) * x with z = Mc (x) Ms or Mc + Ms: a channel vector Mc [N, C]
// broadcast over the plane and a spatial map Ms [N, P] broadcast over the channels.
#include <cstdint>

#include "hfc/backend/cpu/gating.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

template <class T>
T bam_logit(T channel, T spatial, bool product) {
  return product ? channel * spatial : channel + spatial;
}

template <class T>
void bam_gate_kernel(cpu, const T* x, const T* mc, const T* ms, std::int64_t batch, std::int64_t channels,
                     std::int64_t plane, bool product, T* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t off = (b * channels + c) * plane;
      const T* HFC_RESTRICT msb = ms + b * plane;
      const T mbc = mc[b * channels + c];
      for (std::int64_t p = 0; p < plane; ++p) y[off + p] = (T(1) + sigmoid(bam_logit(mbc, msb[p], product))) * x[off + p];
    }
}

// Recomputes the gate from Mc and Ms rather than keeping a [N, C, P] copy of it. Writes dx,
// dmc [N, C] and dms [N, P] (all overwritten).
template <class T>
void bam_gate_backward_kernel(cpu, const T* dy, const T* x, const T* mc, const T* ms, std::int64_t batch,
                              std::int64_t channels, std::int64_t plane, bool product, T* dx, T* dmc, T* dms) {
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const T* HFC_RESTRICT msb = ms + b * plane;
    T* HFC_RESTRICT dmsb = dms + b * plane;
    for (std::int64_t p = 0; p < plane; ++p) dmsb[p] = T(0);
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t off = (b * channels + c) * plane;
      const T mbc = mc[b * channels + c];
      T dmbc = T(0);
      for (std::int64_t p = 0; p < plane; ++p) {
        const T s = sigmoid(bam_logit(mbc, msb[p], product));
        dx[off + p] = (T(1) + s) * dy[off + p];
        const T dz = dy[off + p] * x[off + p] * s * (T(1) - s);
        dmbc += product ? dz * msb[p] : dz;
        dmsb[p] += product ? dz * mbc : dz;
      }
      dmc[b * channels + c] = dmbc;
    }
  }
}

}  // namespace hfc::cpu_backend
