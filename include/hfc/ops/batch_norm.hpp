#pragma once
// Batch normalisation over the (N, H, W) of each channel of an NCHW tensor.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "hfc/backend/batch_norm_rules.hpp"
#include "hfc/core/tensor.hpp"

namespace hfc {

// An activation batch_norm applies in its own pass, for a BatchNorm2d followed by ReLU or ReLU6 (as
// in ResNet's and MobileNetV2's blocks): one pass over memory forward and none backward instead of
// the activation's own two and one. The backward recomputes where the activation passes the
// gradient from x and the statistics, as the forward decided it.
enum class BatchNormActivation { none, relu, relu6 };

template <Scalar T>
batch_norm_rules::Clamp<T> batch_norm_clamp(BatchNormActivation a) {
  if (a == BatchNormActivation::none) return {{T(0), T(0)}, false};
  return {{T(0), a == BatchNormActivation::relu6 ? T(6) : std::numeric_limits<T>::infinity()}, true};
}

template <Scalar T, Backend B>
struct BatchNormStatistics {
  Tensor<T, B> mean;    // [C]
  Tensor<T, B> var;     // [C], biased (divided by N*H*W)
  Tensor<T, B> invstd;  // [C], 1 / sqrt(var + eps)
};

// The running statistics a training step moves towards the batch's: running <- (1 - momentum)
// running + momentum * batch, the variance unbiased by n/(n-1).
template <Scalar T, Backend B>
struct RunningStatistics {
  Tensor<T, B>& mean;
  Tensor<T, B>& var;
  double momentum;
};

namespace detail {
template <Scalar T, Backend B>
BatchNormStatistics<T, B> batch_norm_statistics(const Tensor<T, B>& x, double eps,
                                                const std::type_identity_t<RunningStatistics<T, B>>* running) {
  check_rank(x, 4, "batch_norm: input");
  const std::int64_t n = x.size(0), c = x.size(1), plane = x.size(2) * x.size(3);
  check(n * plane > 1, "batch_norm: expected more than 1 value per channel when training, got input of shape ",
        x.shape());
  batch_norm_rules::RunningUpdate<T> update{nullptr, nullptr, 0.0, 1.0};
  if (running) {
    check_shape(running->mean, Shape{c}, "batch_norm: running_mean");
    check_shape(running->var, Shape{c}, "batch_norm: running_var");
    const double count = double(n * plane);
    update = {running->mean.data(), running->var.data(), running->momentum, count / (count - 1)};
  }
  BatchNormStatistics<T, B> s{Tensor<T, B>::empty(Shape{c}), Tensor<T, B>::empty(Shape{c}),
                              Tensor<T, B>::empty(Shape{c})};
  batch_norm_stats_kernel(B{}, x.data(), n, c, plane, eps, update, s.mean.data(), s.var.data(), s.invstd.data());
  return s;
}
}  // namespace detail

// The batch's statistics. Needs more than one value per channel, as PyTorch does in training.
template <Scalar T, Backend B>
BatchNormStatistics<T, B> batch_norm_statistics(const Tensor<T, B>& x, double eps) {
  return detail::batch_norm_statistics(x, eps, nullptr);
}
// The same, and the running statistics' step towards them, in one pass over the channels (on the
// GPU, one launch after the sums).
template <Scalar T, Backend B>
BatchNormStatistics<T, B> batch_norm_statistics(const Tensor<T, B>& x, double eps,
                                                const RunningStatistics<T, B>& running) {
  return detail::batch_norm_statistics(x, eps, &running);
}

// Statistics taken from running buffers (eval mode).
template <Scalar T, Backend B>
BatchNormStatistics<T, B> batch_norm_running_statistics(const Tensor<T, B>& running_mean,
                                                        const Tensor<T, B>& running_var, double eps) {
  BatchNormStatistics<T, B> s{running_mean, running_var, Tensor<T, B>::empty(running_var.shape())};
  inverse_std_kernel(B{}, running_var.data(), running_var.numel(), eps, s.invstd.data());
  return s;
}

// activation(x_hat * gamma + beta).
template <Scalar T, Backend B>
Tensor<T, B> batch_norm(const Tensor<T, B>& x, const BatchNormStatistics<T, B>& s, const Tensor<T, B>& gamma,
                        const Tensor<T, B>& beta, BatchNormActivation activation = BatchNormActivation::none) {
  check_rank(x, 4, "batch_norm: input");
  const Shape channels{x.size(1)};
  check_shape(gamma, channels, "batch_norm: weight");
  check_shape(beta, channels, "batch_norm: bias");
  check_shape(s.mean, channels, "batch_norm: mean");
  auto y = Tensor<T, B>::empty(x.shape());
  batch_norm_apply_kernel(B{}, x.data(), x.size(0), x.size(1), x.size(2) * x.size(3), s.mean.data(), s.invstd.data(),
                          gamma.data(), beta.data(), batch_norm_clamp<T>(activation), y.data());
  return y;
}

// Returns dx for dy, the gradient of batch_norm's output (after the activation); adds into dgamma
// and dbeta. batch_stats: whether forward used the batch's statistics. gamma, beta and the
// activation must be the forward's: where the activation passed the gradient is recomputed from
// them.
template <Scalar T, Backend B>
Tensor<T, B> batch_norm_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const BatchNormStatistics<T, B>& s,
                                 const Tensor<T, B>& gamma, const Tensor<T, B>& beta, bool batch_stats,
                                 Tensor<T, B>& dgamma, Tensor<T, B>& dbeta,
                                 BatchNormActivation activation = BatchNormActivation::none) {
  check_shape(dy, x.shape(), "batch_norm_backward: grad");
  check_shape(beta, gamma.shape(), "batch_norm_backward: bias");
  auto dx = Tensor<T, B>::empty(x.shape());
  batch_norm_backward_kernel(B{}, dy.data(), x.data(), x.size(0), x.size(1), x.size(2) * x.size(3), s.mean.data(),
                             s.invstd.data(), gamma.data(), beta.data(), batch_norm_clamp<T>(activation), batch_stats,
                             dx.data(), dgamma.data(), dbeta.data());
  return dx;
}

}  // namespace hfc
