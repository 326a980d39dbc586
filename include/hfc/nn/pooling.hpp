#pragma once
// torch.nn.MaxPool2d (square window, floor mode), torch.nn.AdaptiveAvgPool2d(1) and
// torch.nn.Flatten as layers.
#include "hfc/core/grad_mode.hpp"
#include "hfc/core/module.hpp"
#include "hfc/ops/pooling.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
class MaxPool2d : public ParameterlessLayer {
 public:
  using value_type = T;
  using backend_type = B;
  explicit MaxPool2d(MaxPoolGeometry g = {}) : geometry_(g) {}

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    auto r = max_pool2d(x, geometry_);
    if (grad_enabled()) {
      argmax_ = r.argmax;
      input_shape_ = x.shape();
    }
    return r.y;
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(argmax_.defined(), "MaxPool2d");
    auto dx = max_pool2d_backward(dy, argmax_, input_shape_, geometry_);
    argmax_ = Tensor<std::int64_t, B>();
    return dx;
  }

 private:
  MaxPoolGeometry geometry_;
  Tensor<std::int64_t, B> argmax_;
  Shape input_shape_;
};

template <Scalar T, Backend B = cpu>
class AdaptiveAvgPool2d : public ParameterlessLayer {  // output size 1 x 1, as both networks use it
 public:
  using value_type = T;
  using backend_type = B;

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    if (grad_enabled()) input_shape_ = x.shape(), kept_ = true;
    return global_avg_pool2d(x);
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(kept_, "AdaptiveAvgPool2d");
    kept_ = false;
    return global_avg_pool2d_backward(dy, input_shape_);
  }

 private:
  Shape input_shape_;
  bool kept_ = false;
};

// [N, ...] -> [N, prod(...)], a view of the same storage.
template <Scalar T, Backend B = cpu>
class Flatten : public ParameterlessLayer {
 public:
  using value_type = T;
  using backend_type = B;

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    check(x.defined() && x.rank() >= 1, "Flatten: input must have rank >= 1");
    if (grad_enabled()) input_shape_ = x.shape(), kept_ = true;
    return x.reshape(Shape{x.size(0), x.size(0) ? x.numel() / x.size(0) : 0});
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(kept_, "Flatten");
    kept_ = false;
    return dy.reshape(input_shape_);
  }

 private:
  Shape input_shape_;
  bool kept_ = false;
};

}  // namespace hfc
