#pragma once
// torch.nn.ReLU and torch.nn.ReLU6 as layers. They keep their output for backward.
#include <limits>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/module.hpp"
#include "hfc/ops/activation.hpp"

namespace hfc {

template <Scalar T, Backend B, int Upper>  // Upper < 0: no upper bound
class ClampActivation : public ParameterlessLayer {
 public:
  using value_type = T;
  using backend_type = B;

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    auto y = clamp(x, T(0), upper());
    output_ = grad_enabled() ? y : Tensor<T, B>();
    return y;
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(output_.defined(), Upper < 0 ? "ReLU" : "ReLU6");
    auto dx = clamp_backward(dy, output_, T(0), upper());
    output_ = Tensor<T, B>();
    return dx;
  }
 private:
  static constexpr T upper() { return Upper < 0 ? std::numeric_limits<T>::infinity() : T(Upper); }
  Tensor<T, B> output_;
};

template <Scalar T, Backend B = cpu>
using ReLU = ClampActivation<T, B, -1>;
template <Scalar T, Backend B = cpu>
using ReLU6 = ClampActivation<T, B, 6>;

}  // namespace hfc
