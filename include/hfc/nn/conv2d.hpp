#pragma once
// torch.nn.Conv2d as a layer: weight [out, in/groups, kh, kw] and optional bias [out], with
// PyTorch's default initialisation (kaiming_uniform with a = sqrt(5), bias U(+-1/sqrt(fan_in))).
#include <cstdint>
#include <string_view>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/init.hpp"
#include "hfc/core/module.hpp"
#include "hfc/ops/conv2d.hpp"

namespace hfc {

struct Conv2dOptions {
  std::int64_t in_channels = 1;
  std::int64_t out_channels = 1;
  std::int64_t kernel_h = 3, kernel_w = 3;
  Conv2dGeometry geometry{};
  bool bias = true;

  static Conv2dOptions square(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1,
                              std::int64_t padding = 0, bool bias = true, std::int64_t groups = 1,
                              std::int64_t dilation = 1) {
    return {in, out, kernel, kernel, Conv2dGeometry::square(stride, padding, dilation, groups), bias};
  }
};

template <Scalar T, Backend B = cpu>
class Conv2d : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  explicit Conv2d(const Conv2dOptions& o, Rng& rng = default_rng()) : options_(o) {
    check(o.in_channels > 0 && o.out_channels > 0 && o.kernel_h > 0 && o.kernel_w > 0,
          "Conv2d: channels and kernel size must be positive, got in=", o.in_channels, " out=", o.out_channels,
          " kernel=", o.kernel_h, "x", o.kernel_w);
    check(o.geometry.groups >= 1 && o.in_channels % o.geometry.groups == 0 && o.out_channels % o.geometry.groups == 0,
          "Conv2d: groups=", o.geometry.groups, " must divide in_channels=", o.in_channels,
          " and out_channels=", o.out_channels);
    const Shape shape{o.out_channels, o.in_channels / o.geometry.groups, o.kernel_h, o.kernel_w};
    weight = Parameter<T, B>("weight", init::kaiming_uniform<T, B>(shape, std::sqrt(5.0), rng));
    if (o.bias) bias = Parameter<T, B>("bias", init::default_bias<T, B>(o.out_channels, shape, rng));
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    input_ = grad_enabled() ? x : Tensor<T, B>();
    return conv2d(x, weight.value, bias.value, options_.geometry);
  }

  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    Tensor<T, B> dx;
    backward_into(dy, dx, false);
    return dx;
  }
  // Adds dL/dx into dx (of the input's shape) when accumulate, else overwrites it. Lets a parent
  // whose input also feeds another branch sum both gradients without another pass.
  void backward_into(const Tensor<T, B>& dy, Tensor<T, B>& dx, bool accumulate = true) {
    check_forward_kept(input_.defined(), "Conv2d");
    conv2d_backward(dy, input_, weight.value, options_.geometry,
                    Conv2dGradients<T, B>{&dx, accumulate, &weight.grad, options_.bias ? &bias.grad : nullptr});
    input_ = Tensor<T, B>();
  }

  void train(bool on = true) { training_ = on; }
  void eval() { train(false); }

  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight);
    if (options_.bias) f(std::string_view("bias"), bias);
  }
  template <class F>
  void for_each_buffer(F&&) {}

  const Conv2dOptions& options() const { return options_; }

  Parameter<T, B> weight;
  Parameter<T, B> bias;  // value undefined when options().bias is false

 private:
  Conv2dOptions options_;
  Tensor<T, B> input_;
};

}  // namespace hfc
