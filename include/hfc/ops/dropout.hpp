#pragma once
// Dropout's arithmetic: y = x * mask / (1 - p), the mask drawn by the layer.
#include <cstdint>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
Tensor<T, B> masked_scale(const Tensor<T, B>& x, const Tensor<std::uint8_t, B>& mask, T scale) {
  check_shape(mask, x.shape(), "masked_scale: mask");
  auto y = Tensor<T, B>::empty(x.shape());
  if (x.numel() > 0) masked_scale_kernel(B{}, x.data(), mask.data(), x.numel(), scale, y.data());
  return y;
}

}  // namespace hfc
