#pragma once
// torch.nn.Linear: weight [out, in] ~ kaiming_uniform(a = sqrt 5), bias [out] ~ U(+-1/sqrt(in)).
#include <cmath>
#include <cstdint>
#include <string_view>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/init.hpp"
#include "hfc/core/module.hpp"
#include "hfc/ops/linear.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
class Linear : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias = true, Rng& rng = default_rng())
      : has_bias_(with_bias) {
    check(in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got in=", in_features,
          " out=", out_features);
    const Shape shape{out_features, in_features};
    weight = Parameter<T, B>("weight", init::kaiming_uniform<T, B>(shape, std::sqrt(5.0), rng));
    if (with_bias) bias = Parameter<T, B>("bias", init::default_bias<T, B>(out_features, shape, rng));
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    input_ = grad_enabled() ? x : Tensor<T, B>();
    return linear(x, weight.value, bias.value);
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(input_.defined(), "Linear");
    auto dx = linear_backward(dy, input_, weight.value, weight.grad, has_bias_ ? &bias.grad : nullptr);
    input_ = Tensor<T, B>();
    return dx;
  }

  void train(bool on = true) { training_ = on; }
  void eval() { train(false); }
  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight);
    if (has_bias_) f(std::string_view("bias"), bias);
  }
  template <class F>
  void for_each_buffer(F&&) {}

  Parameter<T, B> weight, bias;

 private:
  bool has_bias_;
  Tensor<T, B> input_;
};

}  // namespace hfc
