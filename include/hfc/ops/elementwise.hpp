#pragma once
// Element-wise tensor arithmetic.
#include "hfc/core/tensor.hpp"

namespace hfc {

// y += alpha * x, in place (torch.Tensor.add_).
template <Scalar T, Backend B>
void add_(Tensor<T, B>& y, const Tensor<T, B>& x, T alpha = T(1)) {
  check(y.defined() && x.defined(), "add_: undefined tensor");
  check(y.shape() == x.shape(), "add_: shapes ", y.shape(), " and ", x.shape(), " differ");
  axpy_kernel(B{}, y.numel(), alpha, x.data(), y.data());
}

}  // namespace hfc
