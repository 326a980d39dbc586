#pragma once
// A trainable tensor and its gradient. Layers add into grad in backward; optimisers read both.
#include <string>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
struct Parameter {
  Parameter() = default;
  Parameter(std::string name_, Tensor<T, B> value_)
      : name(std::move(name_)), value(std::move(value_)), grad(Tensor<T, B>::zeros(value.shape())) {}

  void zero_grad() { grad.fill(T(0)); }

  std::string name;  // the state_dict name relative to the owning module, e.g. "weight"
  Tensor<T, B> value;
  Tensor<T, B> grad;
};

}  // namespace hfc
