#pragma once
// Clamping activations (ReLU, ReLU6) and dropout's masked scale; the cpu backend's contracts
// (backend/cpu/activation.hpp, pooling.hpp).
#include <cstdint>

#include "hfc/backend/clamp_rule.hpp"
#include "hfc/backend/cuda/executor.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct Clamp {
  const T* x;
  clamp_rule::Range<T> range;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] = range(x[i]); }
};
template <class T>
struct ClampBackward {
  const T *dy, *y;
  clamp_rule::Range<T> range;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { dx[i] = range.passes(y[i]) ? dy[i] : T(0); }
};
template <class T>
struct MaskedScale {
  const T* x;
  const std::uint8_t* mask;
  T scale;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] = mask[i] ? x[i] * scale : T(0); }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void clamp_kernel(B, const T* x, std::int64_t n, T lo, T hi, T* y) {
  executor_t<B>::for_each(n, detail::Clamp<T>{x, {lo, hi}, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void clamp_backward_kernel(B, const T* dy, const T* y, std::int64_t n, T lo, T hi, T* dx) {
  executor_t<B>::for_each(n, detail::ClampBackward<T>{dy, y, {lo, hi}, dx});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void masked_scale_kernel(B, const T* x, const std::uint8_t* mask, std::int64_t n, T scale, T* y) {
  executor_t<B>::for_each(n, detail::MaskedScale<T>{x, mask, scale, y});
}

}  // namespace hfc::cuda_backend
