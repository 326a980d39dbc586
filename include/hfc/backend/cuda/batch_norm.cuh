#pragma once
// BatchNorm2d over NCHW; the cpu backend's contracts (backend/cpu/batch_norm.hpp). Statistics and
// gradient sums per channel in double (channel_sums.cuh). The variance is taken about a shift (the
// channel's first element) in one pass: with the shift inside the data's range, E[d^2] - E[d]^2 in
// double keeps everything a float result needs.
#include <cmath>
#include <cstdint>

#include "hfc/backend/batch_norm_rules.hpp"
#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/fast_divide.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct ShiftedMoments {
  const T* x;
  std::int64_t c, plane;
  HFC_HOST_DEVICE DoubleSums<2> operator()(std::int64_t b, std::int64_t ch, std::int64_t p) const {
    const double d = double(x[(b * c + ch) * plane + p]) - double(x[ch * plane]);
    return {{d, d * d}};
  }
};
// mean, var and invstd of a channel, and the running statistics' step (one launch per BatchNorm).
template <class T>
struct FinishStatistics {
  ChannelSumsView<2> sums;
  const T* x;
  std::int64_t plane;
  double count, eps;
  batch_norm_rules::RunningUpdate<T> running;
  T *mean, *var, *invstd;
  HFC_HOST_DEVICE void operator()(std::int64_t ch) const {
    const double m1 = sums.total(ch, 0) / count, m2 = sums.total(ch, 1) / count;
    mean[ch] = T(double(x[ch * plane]) + m1);
    var[ch] = T(m2 - m1 * m1 > 0.0 ? m2 - m1 * m1 : 0.0);
    invstd[ch] = batch_norm_rules::inverse_std(var[ch], eps);
    running(ch, mean[ch], var[ch]);
  }
};
// BatchNorm's per-channel parameters, and the clamp it may apply after them.
template <class T>
struct ChannelParameters {
  const T *mean, *invstd, *gamma, *beta;
  batch_norm_rules::Clamp<T> clamp;
  HFC_HOST_DEVICE batch_norm_rules::ChannelAffine<T> affine(std::int64_t ch) const {
    return {mean[ch], invstd[ch], gamma[ch], beta[ch]};
  }
  // dy where the clamp passes the gradient of x's output, else 0 (without a clamp, no loads for it)
  HFC_HOST_DEVICE T passed(T dy, T x, std::int64_t ch) const {
    return !clamp.on || clamp.range.passes(affine(ch)(x)) ? dy : T(0);
  }
};
template <class T>
struct Normalise {
  const T* x;
  Index3 nchw;
  ChannelParameters<T> channel;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] = channel.clamp(channel.affine(nchw.middle(i))(x[i])); }
};
template <class T>
struct GradientMoments {
  const T *dy, *x;
  ChannelParameters<T> channel;
  std::int64_t c, plane;
  HFC_HOST_DEVICE DoubleSums<2> operator()(std::int64_t b, std::int64_t ch, std::int64_t p) const {
    const std::int64_t i = (b * c + ch) * plane + p;
    const double g = channel.passed(dy[i], x[i], ch);
    return {{g, g * (double(x[i]) - double(channel.mean[ch]))}};
  }
};
// dgamma, dbeta, and the two means the dx pass needs (coef[2 ch], coef[2 ch + 1]).
template <class T>
struct FinishGradients {
  ChannelSumsView<2> sums;
  double count;
  const T* invstd;
  bool batch_stats;
  T *dgamma, *dbeta, *coef;
  HFC_HOST_DEVICE void operator()(std::int64_t ch) const {
    const double sum_dy = sums.total(ch, 0), sum_dy_xhat = sums.total(ch, 1) * double(invstd[ch]);
    dgamma[ch] += T(sum_dy_xhat);
    dbeta[ch] += T(sum_dy);
    coef[2 * ch] = batch_stats ? T(sum_dy / count) : T(0);
    coef[2 * ch + 1] = batch_stats ? T(sum_dy_xhat / count) : T(0);
  }
};
template <class T>
struct NormaliseBackward {
  const T *dy, *x;
  Index3 nchw;
  ChannelParameters<T> channel;
  const T* coef;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t ch = nchw.middle(i);
    const T is = channel.invstd[ch], xhat = (x[i] - channel.mean[ch]) * is;
    dx[i] = channel.gamma[ch] * is * (channel.passed(dy[i], x[i], ch) - coef[2 * ch] - xhat * coef[2 * ch + 1]);
  }
};
template <class T>
struct InverseStd {
  const T* var;
  double eps;
  T* invstd;
  HFC_HOST_DEVICE void operator()(std::int64_t ch) const { invstd[ch] = batch_norm_rules::inverse_std(var[ch], eps); }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void batch_norm_stats_kernel(B, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, double eps,
                             batch_norm_rules::RunningUpdate<T> running, T* mean, T* var, T* invstd) {
  using Exec = executor_t<B>;
  const auto sums = Exec::template channel_sums<2>(detail::ShiftedMoments<T>{x, c, plane}, n, c, plane);
  Exec::for_each(c, detail::FinishStatistics<T>{sums.view(), x, plane, double(n * plane), eps, running, mean, var,
                                                invstd});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void batch_norm_apply_kernel(B, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, const T* mean,
                             const T* invstd, const T* gamma, const T* beta, batch_norm_rules::Clamp<T> clamp, T* y) {
  FastDivider::check_range(n * c * plane, "batch_norm");
  executor_t<B>::for_each(n * c * plane, detail::Normalise<T>{x, {c, plane}, {mean, invstd, gamma, beta, clamp}, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void batch_norm_backward_kernel(B, const T* dy, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane,
                                const T* mean, const T* invstd, const T* gamma, const T* beta,
                                batch_norm_rules::Clamp<T> clamp, bool batch_stats, T* dx, T* dgamma, T* dbeta) {
  using Exec = executor_t<B>;
  const detail::ChannelParameters<T> channel{mean, invstd, gamma, beta, clamp};
  const auto sums = Exec::template channel_sums<2>(detail::GradientMoments<T>{dy, x, channel, c, plane}, n, c, plane);
  typename Exec::template Buffer<T> coef(2 * c);
  Exec::for_each(c, detail::FinishGradients<T>{sums.view(), double(n * plane), invstd, batch_stats, dgamma, dbeta,
                                               coef.get()});
  if (dx) {
    FastDivider::check_range(n * c * plane, "batch_norm_backward");
    Exec::for_each(n * c * plane, detail::NormaliseBackward<T>{dy, x, {c, plane}, channel, coef.get(), dx});
  }
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void inverse_std_kernel(B, const T* var, std::int64_t c, double eps, T* invstd) {
  executor_t<B>::for_each(c, detail::InverseStd<T>{var, eps, invstd});
}

}  // namespace hfc::cuda_backend
