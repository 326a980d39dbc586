#pragma once
// BAM's gate y = (1 + sigmoid(z)) x, z = Mc (x) Ms or Mc + Ms; the cpu backend's contract
// (backend/cpu/bam_gate.hpp). The backward recomputes the gate, as there.
#include <cstdint>

#include "hfc/backend/cuda/elementwise.cuh"
#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/fast_divide.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct BamGateShape {
  const T *mc, *ms;
  std::int64_t channels, plane;
  bool product;
  HFC_HOST_DEVICE T gate(std::int64_t b, std::int64_t ch, std::int64_t p) const {
    const T channel = mc[b * channels + ch], spatial = ms[b * plane + p];
    return sigmoid(product ? channel * spatial : channel + spatial);
  }
};
template <class T>
struct BamGate {
  BamGateShape<T> s;
  Index3 nchw;
  const T* x;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    std::int64_t b, ch, p;
    nchw.split(i, b, ch, p);
    y[i] = (T(1) + s.gate(b, ch, p)) * x[i];
  }
};
// dx, and per (b, p) the channel sum of dz (times Mc for the product): one index per (b, p).
template <class T>
struct BamGateBackwardSpatial {
  BamGateShape<T> s;
  const T *dy, *x;
  T *dx, *dms;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t b = i / s.plane, p = i % s.plane;
    T sum = 0;
    for (std::int64_t ch = 0; ch < s.channels; ++ch) {
      const std::int64_t k = (b * s.channels + ch) * s.plane + p;
      const T g = s.gate(b, ch, p);
      dx[k] = (T(1) + g) * dy[k];
      const T dz = dy[k] * x[k] * g * (T(1) - g);
      sum += s.product ? dz * s.mc[b * s.channels + ch] : dz;
    }
    dms[i] = sum;
  }
};
// Per (b, ch) the plane sum of dz (times Ms for the product): channel_sums over (1, N C, P).
template <class T>
struct BamChannelTerm {
  BamGateShape<T> s;
  const T *dy, *x;
  HFC_HOST_DEVICE DoubleSums<1> operator()(std::int64_t, std::int64_t bc, std::int64_t p) const {
    const std::int64_t b = bc / s.channels, ch = bc % s.channels, k = bc * s.plane + p;
    const T g = s.gate(b, ch, p);
    const T dz = dy[k] * x[k] * g * (T(1) - g);
    return {{double(s.product ? dz * s.ms[b * s.plane + p] : dz)}};
  }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void bam_gate_kernel(B, const T* x, const T* mc, const T* ms, std::int64_t batch, std::int64_t channels,
                     std::int64_t plane, bool product, T* y) {
  FastDivider::check_range(batch * channels * plane, "bam_gate");
  executor_t<B>::for_each(batch * channels * plane,
                          detail::BamGate<T>{{mc, ms, channels, plane, product}, {channels, plane}, x, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void bam_gate_backward_kernel(B, const T* dy, const T* x, const T* mc, const T* ms, std::int64_t batch,
                              std::int64_t channels, std::int64_t plane, bool product, T* dx, T* dmc, T* dms) {
  using Exec = executor_t<B>;
  const detail::BamGateShape<T> s{mc, ms, channels, plane, product};
  Exec::for_each(batch * plane, detail::BamGateBackwardSpatial<T>{s, dy, x, dx, dms});
  const auto sums = Exec::template channel_sums<1>(detail::BamChannelTerm<T>{s, dy, x}, 1, batch * channels, plane);
  Exec::for_each(batch * channels, detail::StoreTotals<T>{sums.view(), dmc});
}

}  // namespace hfc::cuda_backend
