#pragma once
// BatchNorm2d over NCHW: per-channel statistics over (N, H, W), sums in double.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "hfc/backend/batch_norm_rules.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

namespace detail {
// Sums of term_k(i), k < K, over i < count, in 8 double lanes per sum. One running double is a
// chain of dependent adds (4 cycles each) that cannot vectorise; it made BatchNorm a quarter of
// a MobileNetV2 training step. The lanes vectorise and keep double accuracy.
template <int K, class Terms>
std::array<double, K> lane_sums(std::int64_t count, Terms&& terms) {
  constexpr int kLanes = 8;
  double acc[K][kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const auto t = terms(i + l);
      for (int k = 0; k < K; ++k) acc[k][l] += t[k];
    }
  std::array<double, K> out{};
  for (; i < count; ++i) {
    const auto t = terms(i);
    for (int k = 0; k < K; ++k) out[static_cast<std::size_t>(k)] += t[k];
  }
  for (int k = 0; k < K; ++k)
    for (int l = 0; l < kLanes; ++l) out[static_cast<std::size_t>(k)] += acc[k][l];
  return out;
}
}  // namespace detail

// mean[c] and the biased variance var[c] of channel c over the batch and the plane, invstd[c] with
// eps, and the running statistics' update (training).
template <class T>
void batch_norm_stats_kernel(cpu, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, double eps,
                             batch_norm_rules::RunningUpdate<T> running, T* mean, T* var, T* invstd) {
  const double count = double(n * plane);
#pragma omp parallel for schedule(static)
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (std::int64_t b = 0; b < n; ++b) {
      const T* xp = x + (b * c + ch) * plane;
      sum += detail::lane_sums<1>(plane, [xp](std::int64_t p) { return std::array<double, 1>{double(xp[p])}; })[0];
    }
    const double mu = sum / count;
    double sq = 0;  // two passes: no cancellation when |mean| >> std
    for (std::int64_t b = 0; b < n; ++b) {
      const T* xp = x + (b * c + ch) * plane;
      sq += detail::lane_sums<1>(plane, [xp, mu](std::int64_t p) {
        const double d = double(xp[p]) - mu;
        return std::array<double, 1>{d * d};
      })[0];
    }
    mean[ch] = T(mu);
    var[ch] = T(sq / count);
    invstd[ch] = batch_norm_rules::inverse_std(var[ch], eps);
    running(ch, mean[ch], var[ch]);
  }
}

// y = clamp((x - mean) * invstd * gamma + beta), per channel.
template <class T>
void batch_norm_apply_kernel(cpu, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, const T* mean,
                             const T* invstd, const T* gamma, const T* beta, batch_norm_rules::Clamp<T> clamp, T* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const batch_norm_rules::ChannelAffine<T> affine(mean[ch], invstd[ch], gamma[ch], beta[ch]);
      const T* HFC_RESTRICT xp = x + (b * c + ch) * plane;
      T* HFC_RESTRICT yp = y + (b * c + ch) * plane;
      if (clamp.on)
        for (std::int64_t p = 0; p < plane; ++p) yp[p] = clamp.range(affine(xp[p]));
      else
        for (std::int64_t p = 0; p < plane; ++p) yp[p] = affine(xp[p]);
    }
}

namespace detail {
// The channel's sums of g and g * (x - mean), where g is dy where the clamp passes its gradient.
// The clamped form masks dy into an L1 block first: lane_sums' eight lanes vectorise only without
// a select among their terms (with one in them, MobileNetV2's steps took 1.6x the time).
template <bool Clamped, class T>
std::array<double, 2> gradient_sums(const T* dyp, const T* xp, std::int64_t plane, double mu,
                                    batch_norm_rules::ChannelAffine<T> affine, batch_norm_rules::Clamp<T> clamp) {
  if constexpr (!Clamped) {
    return lane_sums<2>(plane, [dyp, xp, mu](std::int64_t p) {
      return std::array<double, 2>{double(dyp[p]), double(dyp[p]) * (double(xp[p]) - mu)};
    });
  } else {
    constexpr std::int64_t kBlock = 512;
    alignas(64) T g[kBlock];
    std::array<double, 2> total{};
    for (std::int64_t p0 = 0; p0 < plane; p0 += kBlock) {
      const std::int64_t len = std::min(kBlock, plane - p0);
      const T* HFC_RESTRICT xq = xp + p0;
      const T* HFC_RESTRICT dyq = dyp + p0;
      for (std::int64_t j = 0; j < len; ++j) g[j] = clamp.range.passes(affine(xq[j])) ? dyq[j] : T(0);
      const auto s = lane_sums<2>(len, [&g, xq, mu](std::int64_t j) {
        return std::array<double, 2>{double(g[j]), double(g[j]) * (double(xq[j]) - mu)};
      });
      total[0] += s[0];
      total[1] += s[1];
    }
    return total;
  }
}
}  // namespace detail

// Gradients, of the clamp's output when it is on (dy passes where the clamp passes it). With batch
// statistics (training) x-hat depends on every x of its channel:
//   dx = gamma * invstd * (dy - mean(dy) - x_hat * mean(dy * x_hat));
// with fixed statistics (eval) dx = gamma * invstd * dy. dgamma += sum dy * x_hat, dbeta += sum dy.
template <class T>
void batch_norm_backward_kernel(cpu, const T* dy, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane,
                                const T* mean, const T* invstd, const T* gamma, const T* beta,
                                batch_norm_rules::Clamp<T> clamp, bool batch_stats, T* dx, T* dgamma, T* dbeta) {
  const double count = double(n * plane);
#pragma omp parallel for schedule(static)
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double sum_dy = 0, sum_dy_xhat = 0;
    const double mu = mean[ch], is = invstd[ch];
    const batch_norm_rules::ChannelAffine<T> affine(mean[ch], invstd[ch], gamma[ch], beta[ch]);
    for (std::int64_t b = 0; b < n; ++b) {
      const T* dyp = dy + (b * c + ch) * plane;
      const T* xp = x + (b * c + ch) * plane;
      const auto s = clamp.on ? detail::gradient_sums<true>(dyp, xp, plane, mu, affine, clamp)
                              : detail::gradient_sums<false>(dyp, xp, plane, mu, affine, clamp);
      sum_dy += s[0];
      sum_dy_xhat += s[1] * is;
    }
    dgamma[ch] += T(sum_dy_xhat);
    dbeta[ch] += T(sum_dy);
    if (!dx) continue;
    const T scale = T(gamma[ch] * is);
    const T mean_dy = batch_stats ? T(sum_dy / count) : T(0);
    const T mean_dy_xhat = batch_stats ? T(sum_dy_xhat / count) : T(0);
    const auto dx_pass = [&]<bool Clamped>() {
      for (std::int64_t b = 0; b < n; ++b) {
        const T* dyp = dy + (b * c + ch) * plane;
        const T* xp = x + (b * c + ch) * plane;
        T* dxp = dx + (b * c + ch) * plane;
        for (std::int64_t p = 0; p < plane; ++p) {
          const T xhat = (xp[p] - T(mu)) * T(is);
          const T g = !Clamped || clamp.range.passes(affine(xp[p])) ? dyp[p] : T(0);
          dxp[p] = scale * (g - mean_dy - xhat * mean_dy_xhat);
        }
      }
    };
    if (clamp.on) dx_pass.template operator()<true>();
    else dx_pass.template operator()<false>();
  }
}

// invstd = 1 / sqrt(var + eps) (eval: of the running variance)
template <class T>
void inverse_std_kernel(cpu, const T* var, std::int64_t c, double eps, T* invstd) {
  for (std::int64_t ch = 0; ch < c; ++ch) invstd[ch] = batch_norm_rules::inverse_std(var[ch], eps);
}

}  // namespace hfc::cpu_backend
