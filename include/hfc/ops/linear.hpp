#pragma once
// Fully connected layer y = x W^T + b (torch.nn.functional.linear) for x [N, in].
#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
Tensor<T, B> linear(const Tensor<T, B>& x, const Tensor<T, B>& weight, const Tensor<T, B>& bias) {
  check_rank(x, 2, "linear: input");
  check_rank(weight, 2, "linear: weight");
  check(x.size(1) == weight.size(1), "linear: input of shape ", x.shape(), " has ", x.size(1),
        " features, the weight of shape ", weight.shape(), " expects ", weight.size(1));
  if (bias.defined()) check_shape(bias, Shape{weight.size(0)}, "linear: bias");
  auto y = Tensor<T, B>::empty(Shape{x.size(0), weight.size(0)});
  linear_kernel(B{}, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr, x.size(0), x.size(1),
                weight.size(0), y.data());
  return y;
}

// Returns dx; adds into dweight and, when it is defined, dbias.
template <Scalar T, Backend B>
Tensor<T, B> linear_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& weight,
                             Tensor<T, B>& dweight, Tensor<T, B>* dbias) {
  check_shape(dy, Shape{x.size(0), weight.size(0)}, "linear_backward: grad");
  check_shape(dweight, weight.shape(), "linear_backward: weight grad");
  auto dx = Tensor<T, B>::empty(x.shape());
  linear_backward_kernel(B{}, dy.data(), x.data(), weight.data(), x.size(0), x.size(1), weight.size(0), dx.data(),
                         dweight.data(), dbias ? dbias->data() : nullptr);
  return dx;
}

}  // namespace hfc
