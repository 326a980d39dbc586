#pragma once
// torch.nn.BatchNorm2d: weight (gamma) = 1, bias (beta) = 0, running_mean = 0, running_var = 1,
// eps 1e-5, momentum 0.1. In training mode it normalises with the batch's statistics (biased
// variance) and moves the running ones towards them (unbiased variance), counting
// num_batches_tracked; in eval mode it uses the running statistics. Built with a
// BatchNormActivation, it is BatchNorm2d followed by ReLU or ReLU6 in one layer (ops/batch_norm.hpp
// says why); its parameters, buffers and names are BatchNorm2d's.
#include <cstdint>
#include <string_view>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/module.hpp"
#include "hfc/ops/batch_norm.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
class BatchNorm2d : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  explicit BatchNorm2d(std::int64_t channels, double eps = 1e-5, double momentum = 0.1)
      : BatchNorm2d(channels, BatchNormActivation::none, eps, momentum) {}
  BatchNorm2d(std::int64_t channels, BatchNormActivation activation, double eps = 1e-5, double momentum = 0.1)
      : weight("weight", Tensor<T, B>::full(Shape{positive(channels)}, T(1))),
        bias("bias", Tensor<T, B>::zeros(Shape{channels})),
        running_mean(Tensor<T, B>::zeros(Shape{channels})),
        running_var(Tensor<T, B>::full(Shape{channels}, T(1))),
        eps_(eps),
        momentum_(momentum),
        activation_(activation) {
    check(eps > 0, "BatchNorm2d: eps must be positive, got ", eps);
    check(momentum >= 0 && momentum <= 1, "BatchNorm2d: momentum must be in [0, 1], got ", momentum);
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    check_rank(x, 4, "BatchNorm2d: input");
    check(x.size(1) == channels(), "BatchNorm2d: input of shape ", x.shape(), " has ", x.size(1),
          " channels, the layer was built for ", channels());
    BatchNormStatistics<T, B> stats;
    if (training_) {
      stats = batch_norm_statistics(x, eps_, RunningStatistics<T, B>{running_mean, running_var, momentum_});
      ++num_batches_tracked.data()[0];
    } else {
      stats = batch_norm_running_statistics(running_mean, running_var, eps_);
    }
    auto y = batch_norm(x, stats, weight.value, bias.value, activation_);
    if (grad_enabled()) {
      input_ = x;
      stats_ = stats;
      batch_stats_ = training_;
    }
    return y;
  }

  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(input_.defined(), "BatchNorm2d");
    auto dx = batch_norm_backward(dy, input_, stats_, weight.value, bias.value, batch_stats_, weight.grad, bias.grad,
                                  activation_);
    input_ = Tensor<T, B>();
    return dx;
  }

  void train(bool on = true) { training_ = on; }
  void eval() { train(false); }

  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight);
    f(std::string_view("bias"), bias);
  }
  // running_mean, running_var (Tensor<T, B>) and num_batches_tracked (a 0-dim int64 host
  // tensor, like torch's): visitors take `auto&`.
  template <class F>
  void for_each_buffer(F&& f) {
    f(std::string_view("running_mean"), running_mean);
    f(std::string_view("running_var"), running_var);
    f(std::string_view("num_batches_tracked"), num_batches_tracked);
  }

  std::int64_t channels() const { return weight.value.size(0); }
  BatchNormActivation activation() const { return activation_; }

  Parameter<T, B> weight, bias;
  Tensor<T, B> running_mean, running_var;
  Tensor<std::int64_t, cpu> num_batches_tracked = Tensor<std::int64_t, cpu>::zeros(Shape{});

 private:
  static std::int64_t positive(std::int64_t c) {
    check(c > 0, "BatchNorm2d: channels must be positive, got ", c);
    return c;
  }
  double eps_, momentum_;
  BatchNormActivation activation_;
  Tensor<T, B> input_;
  BatchNormStatistics<T, B> stats_;
  bool batch_stats_ = true;
};

}  // namespace hfc
