#pragma once
// Element-wise kernels: axpy, sigmoid gating (with the gated projection's backward), and the
// outer-product correlation; the cpu backend's contracts (backend/cpu/gating.hpp, correlation.hpp).
#include <cmath>
#include <cstdint>

#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/fast_divide.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
HFC_HOST_DEVICE T sigmoid(T z) {
  return z >= T(0) ? T(1) / (T(1) + exp(-z)) : exp(z) / (T(1) + exp(z));
}
template <class T>
struct Axpy {
  T alpha;
  const T* x;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] += alpha * x[i]; }
};
template <class T>
struct SigmoidGate {
  const T *z, *x;
  Index3 nchw;
  std::int64_t plane;
  T *a, *y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    std::int64_t b, c, p;
    nchw.split(i, b, c, p);
    const T g = sigmoid(z[b * plane + p]);
    y[i] = g * x[i];
    if (c == 0) a[b * plane + p] = g;  // channel 0 writes the gate
  }
};
// One index per (b, p): the channel sum for dz, and dx (when wanted) for every channel.
template <class T>
struct SigmoidGateBackward {
  const T *dy, *x, *a;
  std::int64_t channels, plane;
  T *dx, *dz;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t b = i / plane, p = i % plane;
    const T g = a[i];
    T sum = 0;
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t k = (b * channels + c) * plane + p;
      sum += dy[k] * x[k];
      if (dx) dx[k] = g * dy[k];
    }
    dz[i] = g * (T(1) - g) * sum;
  }
};
// dx = a dy + w_c dk.
template <class T>
struct GatedProjectionDx {
  const T *dy, *a, *w, *dk;
  Index3 nchw;
  std::int64_t plane;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    std::int64_t b, c, p;
    nchw.split(i, b, c, p);
    dx[i] = a[b * plane + p] * dy[i] + w[c] * dk[b * plane + p];
  }
};
// dw_c += sum_{b,p} x[b, c, p] dk[b, p].
template <class T>
struct ProjectionWeightTerm {
  const T *x, *dk;
  std::int64_t channels, plane;
  HFC_HOST_DEVICE DoubleSums<1> operator()(std::int64_t b, std::int64_t c, std::int64_t p) const {
    return {{double(x[(b * channels + c) * plane + p]) * double(dk[b * plane + p])}};
  }
};
template <class T>
struct OuterProduct {
  const T* q;
  std::int64_t lq;
  const T* k;
  std::int64_t lk, h, w;
  T* out;
  std::int64_t out_stride;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    const std::int64_t b = idx / (h * w), i = idx / w % h, j = idx % w;
    out[b * out_stride + i * w + j] = (i < lq && j < lk) ? q[b * lq + i] * k[b * lk + j] : T(0);
  }
};
// One index per vector entry: dq[i] += sum_j dm[i, j] k[j], dk[j] += sum_i dm[i, j] q[i].
template <class T>
struct OuterProductBackward {
  const T* dm;
  std::int64_t dm_stride;
  const T* q;
  std::int64_t lq;
  const T* k;
  std::int64_t lk, w;
  T *dq, *dk;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    const std::int64_t b = idx / (lq + lk), r = idx % (lq + lk);
    const T* m = dm + b * dm_stride;
    T sum = 0;
    if (r < lq) {
      for (std::int64_t j = 0; j < lk; ++j) sum += m[r * w + j] * k[b * lk + j];
      dq[b * lq + r] += sum;
    } else {
      const std::int64_t j = r - lq;
      for (std::int64_t i = 0; i < lq; ++i) sum += m[i * w + j] * q[b * lq + i];
      dk[b * lk + j] += sum;
    }
  }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void axpy_kernel(B, std::int64_t n, T alpha, const T* x, T* y) {
  executor_t<B>::for_each(n, detail::Axpy<T>{alpha, x, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void sigmoid_gate_kernel(B, const T* z, const T* x, std::int64_t batch, std::int64_t channels, std::int64_t plane, T* a,
                         T* y) {
  FastDivider::check_range(batch * channels * plane, "sigmoid_gate");
  executor_t<B>::for_each(batch * channels * plane, detail::SigmoidGate<T>{z, x, {channels, plane}, plane, a, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void sigmoid_gate_backward_kernel(B, const T* dy, const T* x, const T* a, std::int64_t batch, std::int64_t channels,
                                  std::int64_t plane, T* dx, T* dz) {
  executor_t<B>::for_each(batch * plane, detail::SigmoidGateBackward<T>{dy, x, a, channels, plane, dx, dz});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void gated_projection_backward_kernel(B, const T* dy, const T* x, const T* a, const T* w, const T* dk,
                                      std::int64_t batch, std::int64_t channels, std::int64_t plane, T* dx, T* dw) {
  using Exec = executor_t<B>;
  FastDivider::check_range(batch * channels * plane, "gated_projection_backward");
  Exec::for_each(batch * channels * plane, detail::GatedProjectionDx<T>{dy, a, w, dk, {channels, plane}, plane, dx});
  add_channel_sums<Exec>(detail::ProjectionWeightTerm<T>{x, dk, channels, plane}, batch, channels, plane, dw);
}
// The three steps of the cpu backend's chained kernel, each over the whole batch in one launch:
// the cpu takes samples a few at a time to reuse its caches, which here would only multiply the
// launches.
template <class B, class T, class MapGradient>
  requires RunsCudaAlgorithms<B>
void chained_gate_backward_kernel(B, const T* dy, const T* x, const T* a, const T* w, std::int64_t batch,
                                  std::int64_t channels, std::int64_t plane, MapGradient&& map_gradient, T* dz, T* dk,
                                  T* dx, T* dw) {
  sigmoid_gate_backward_kernel(B{}, dy, x, a, batch, channels, plane, static_cast<T*>(nullptr), dz);
  map_gradient(std::int64_t{0}, batch);
  gated_projection_backward_kernel(B{}, dy, x, a, w, dk, batch, channels, plane, dx, dw);
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void outer_product_kernel(B, const T* q, std::int64_t lq, const T* k, std::int64_t lk, std::int64_t batch,
                          std::int64_t h, std::int64_t w, T* out, std::int64_t out_stride) {
  executor_t<B>::for_each(batch * h * w, detail::OuterProduct<T>{q, lq, k, lk, h, w, out, out_stride});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void outer_product_backward_kernel(B, const T* dm, std::int64_t dm_stride, const T* q, std::int64_t lq, const T* k,
                                   std::int64_t lk, std::int64_t batch, std::int64_t w, T* dq, T* dk) {
  executor_t<B>::for_each(batch * (lq + lk), detail::OuterProductBackward<T>{dm, dm_stride, q, lq, k, lk, w, dq, dk});
}

}  // namespace hfc::cuda_backend
