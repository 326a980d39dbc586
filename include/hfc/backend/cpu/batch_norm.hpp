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

// Small planes (MobileNetV2's 6x6 to 2x2 maps at 48 px, 7x7 at 224): per (sample, channel) work of a few values
// drowned in per-call overhead and scalar tails (a 960 x 2 x 2 BatchNorm-ReLU6 ran at 65 M values/s,
// one at 32 x 24 x 24 at 960 M). A sample's channels c0..c1 are one contiguous run, so each thread
// takes a share of the channels and goes through the samples with the per-channel numbers spread
// over that run: every pass is one vector loop, and the sums are kept per position, in double,
// until the end.
inline constexpr std::int64_t kSmallPlane = 64;
struct SmallPlaneSums;          // scratch slots
struct SmallPlaneCoefficients;
struct SmallPlaneMasked;

// f(c0, c1) on each thread, for its share of the c channels.
template <class F>
void for_channel_shares(std::int64_t c, F&& f) {
#pragma omp parallel
  {
    const std::int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const std::int64_t c0 = c * t / threads, c1 = c * (t + 1) / threads;
    if (c0 < c1) f(c0, c1);
  }
}

// out[(ch - c0) * plane + p] = value(ch) for ch in [c0, c1): a per-channel number spread over the run.
template <class V, class F>
void spread(std::int64_t c0, std::int64_t c1, std::int64_t plane, V* out, F&& value) {
  for (std::int64_t ch = c0; ch < c1; ++ch) std::fill_n(out + (ch - c0) * plane, plane, V(value(ch)));
}

// The forward's affine map, each channel's scale and shift spread over the run.
template <class T>
void spread_affine(std::int64_t c0, std::int64_t c1, std::int64_t plane, const T* mean, const T* invstd,
                   const T* gamma, const T* beta, T* scale, T* shift) {
  for (std::int64_t ch = c0; ch < c1; ++ch) {
    const batch_norm_rules::ChannelAffine<T> affine(mean[ch], invstd[ch], gamma[ch], beta[ch]);
    std::fill_n(scale + (ch - c0) * plane, plane, affine.scale);
    std::fill_n(shift + (ch - c0) * plane, plane, affine.shift);
  }
}

inline double plane_total(const double* sums, std::int64_t plane) {
  double total = 0;
  for (std::int64_t p = 0; p < plane; ++p) total += sums[p];
  return total;
}

template <class T>
void batch_norm_stats_small(const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, double eps,
                            batch_norm_rules::RunningUpdate<T> running, T* mean, T* var, T* invstd) {
  const double count = double(n * plane);
  for_channel_shares(c, [&](std::int64_t c0, std::int64_t c1) {
    const std::int64_t len = (c1 - c0) * plane;
    double* HFC_RESTRICT sums = scratch<double, SmallPlaneSums>(std::size_t(2 * len));
    double* HFC_RESTRICT mu = sums + len;
    std::fill_n(sums, len, 0.0);
    for (std::int64_t b = 0; b < n; ++b) {
      const T* HFC_RESTRICT xb = x + (b * c + c0) * plane;
      for (std::int64_t i = 0; i < len; ++i) sums[i] += double(xb[i]);
    }
    spread(c0, c1, plane, mu, [&](std::int64_t ch) { return plane_total(sums + (ch - c0) * plane, plane) / count; });
    std::fill_n(sums, len, 0.0);
    for (std::int64_t b = 0; b < n; ++b) {  // two passes: no cancellation when |mean| >> std
      const T* HFC_RESTRICT xb = x + (b * c + c0) * plane;
      for (std::int64_t i = 0; i < len; ++i) {
        const double d = double(xb[i]) - mu[i];
        sums[i] += d * d;
      }
    }
    for (std::int64_t ch = c0; ch < c1; ++ch) {
      mean[ch] = T(mu[(ch - c0) * plane]);
      var[ch] = T(plane_total(sums + (ch - c0) * plane, plane) / count);
      invstd[ch] = batch_norm_rules::inverse_std(var[ch], eps);
      running(ch, mean[ch], var[ch]);
    }
  });
}

template <class T>
void batch_norm_apply_small(const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, const T* mean,
                            const T* invstd, const T* gamma, const T* beta, batch_norm_rules::Clamp<T> clamp, T* y) {
  using Affine = batch_norm_rules::ChannelAffine<T>;
  for_channel_shares(c, [&](std::int64_t c0, std::int64_t c1) {
    const std::int64_t len = (c1 - c0) * plane;
    T* HFC_RESTRICT scale = scratch<T, SmallPlaneCoefficients>(std::size_t(2 * len));
    T* HFC_RESTRICT shift = scale + len;
    spread_affine(c0, c1, plane, mean, invstd, gamma, beta, scale, shift);
    for (std::int64_t b = 0; b < n; ++b) {
      const T* HFC_RESTRICT xb = x + (b * c + c0) * plane;
      T* HFC_RESTRICT yb = y + (b * c + c0) * plane;
      if (clamp.on)
        for (std::int64_t i = 0; i < len; ++i) yb[i] = clamp.range(Affine::map(xb[i], scale[i], shift[i]));
      else
        for (std::int64_t i = 0; i < len; ++i) yb[i] = Affine::map(xb[i], scale[i], shift[i]);
    }
  });
}

template <class T>
void batch_norm_backward_small(const T* dy, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane,
                               const T* mean, const T* invstd, const T* gamma, const T* beta,
                               batch_norm_rules::Clamp<T> clamp, bool batch_stats, T* dx, T* dgamma, T* dbeta) {
  using Affine = batch_norm_rules::ChannelAffine<T>;
  const double count = double(n * plane);
  for_channel_shares(c, [&](std::int64_t c0, std::int64_t c1) {
    const std::int64_t len = (c1 - c0) * plane;
    double* HFC_RESTRICT sum_g = scratch<double, SmallPlaneSums>(std::size_t(3 * len));
    double* HFC_RESTRICT sum_gx = sum_g + len;
    double* HFC_RESTRICT mu = sum_gx + len;
    // scale, shift (the forward's map, for the clamp's mask), then the dx pass's four coefficients
    T* HFC_RESTRICT k = scratch<T, SmallPlaneCoefficients>(std::size_t(6 * len));
    T *HFC_RESTRICT scale = k, *HFC_RESTRICT shift = k + len;
    spread_affine(c0, c1, plane, mean, invstd, gamma, beta, scale, shift);
    spread(c0, c1, plane, mu, [&](std::int64_t ch) { return double(mean[ch]); });
    std::fill_n(sum_g, 2 * len, 0.0);
    // g: dy where the clamp passes its gradient
    const auto g_at = [&]<bool Clamped>(const T* HFC_RESTRICT dyb, const T* HFC_RESTRICT xb, std::int64_t i) {
      return !Clamped || clamp.range.passes(Affine::map(xb[i], scale[i], shift[i])) ? dyb[i] : T(0);
    };
    // The clamped dy goes through a buffer first: with the select in the sums' loop, GCC left it
    // scalar (as in gradient_sums).
    T* HFC_RESTRICT masked = scratch<T, SmallPlaneMasked>(std::size_t(len));
    for (std::int64_t b = 0; b < n; ++b) {
      const T* HFC_RESTRICT xb = x + (b * c + c0) * plane;
      const T* HFC_RESTRICT g = dy + (b * c + c0) * plane;
      if (clamp.on) {
        for (std::int64_t i = 0; i < len; ++i) masked[i] = g_at.template operator()<true>(g, xb, i);
        g = masked;
      }
      for (std::int64_t i = 0; i < len; ++i) {
        sum_g[i] += double(g[i]);
        sum_gx[i] += double(g[i]) * (double(xb[i]) - mu[i]);
      }
    }
    T *HFC_RESTRICT dx_scale = k + 2 * len, *HFC_RESTRICT mean_dy = k + 3 * len,
      *HFC_RESTRICT mean_dy_xhat = k + 4 * len, *HFC_RESTRICT inv = k + 5 * len;
    for (std::int64_t ch = c0; ch < c1; ++ch) {
      const std::int64_t at = (ch - c0) * plane;
      const double is = invstd[ch], sum_dy = plane_total(sum_g + at, plane),
                   sum_dy_xhat = plane_total(sum_gx + at, plane) * is;
      dgamma[ch] += T(sum_dy_xhat);
      dbeta[ch] += T(sum_dy);
      if (!dx) continue;
      std::fill_n(dx_scale + at, plane, T(gamma[ch] * is));
      std::fill_n(mean_dy + at, plane, batch_stats ? T(sum_dy / count) : T(0));
      std::fill_n(mean_dy_xhat + at, plane, batch_stats ? T(sum_dy_xhat / count) : T(0));
      std::fill_n(inv + at, plane, T(is));
    }
    if (!dx) return;
    const auto dx_pass = [&]<bool Clamped>() {
      for (std::int64_t b = 0; b < n; ++b) {
        const T* HFC_RESTRICT dyb = dy + (b * c + c0) * plane;
        const T* HFC_RESTRICT xb = x + (b * c + c0) * plane;
        T* HFC_RESTRICT dxb = dx + (b * c + c0) * plane;
        for (std::int64_t i = 0; i < len; ++i) {
          const T xhat = (xb[i] - T(mu[i])) * inv[i];
          dxb[i] = dx_scale[i] * (g_at.template operator()<Clamped>(dyb, xb, i) - mean_dy[i] - xhat * mean_dy_xhat[i]);
        }
      }
    };
    if (clamp.on) dx_pass.template operator()<true>();
    else dx_pass.template operator()<false>();
  });
}
}  // namespace detail

// mean[c] and the biased variance var[c] of channel c over the batch and the plane, invstd[c] with
// eps, and the running statistics' update (training).
template <class T>
void batch_norm_stats_kernel(cpu, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, double eps,
                             batch_norm_rules::RunningUpdate<T> running, T* mean, T* var, T* invstd) {
  if (plane <= detail::kSmallPlane)
    return detail::batch_norm_stats_small(x, n, c, plane, eps, running, mean, var, invstd);
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
  if (plane <= detail::kSmallPlane)
    return detail::batch_norm_apply_small(x, n, c, plane, mean, invstd, gamma, beta, clamp, y);
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
  if (plane <= detail::kSmallPlane)
    return detail::batch_norm_backward_small(dy, x, n, c, plane, mean, invstd, gamma, beta, clamp, batch_stats, dx,
                                             dgamma, dbeta);
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
