#pragma once
// Clamping activations (ReLU, ReLU6, hardtanh) and their gradient.
#include <limits>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
Tensor<T, B> clamp(const Tensor<T, B>& x, T lo, T hi) {
  check(x.defined(), "clamp: undefined input");
  check(lo < hi, "clamp: lower bound ", lo, " must be below upper bound ", hi);
  auto y = Tensor<T, B>::empty(x.shape());
  if (x.numel() > 0) clamp_kernel(B{}, x.data(), x.numel(), lo, hi, y.data());
  return y;
}

// The gradient of clamp, from the forward output y.
template <Scalar T, Backend B>
Tensor<T, B> clamp_backward(const Tensor<T, B>& dy, const Tensor<T, B>& y, T lo, T hi) {
  check_shape(dy, y.shape(), "clamp_backward: grad");
  auto dx = Tensor<T, B>::empty(y.shape());
  if (y.numel() > 0) clamp_backward_kernel(B{}, dy.data(), y.data(), y.numel(), lo, hi, dx.data());
  return dx;
}

}  // namespace hfc
