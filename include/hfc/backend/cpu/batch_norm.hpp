#pragma once
// BatchNorm2d over NCHW: per-channel statistics over (N, H, W), sums in double.
#include <cmath>
#include <cstdint>

#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

// mean[c] and the biased variance var[c] of channel c over the batch and the plane.
template <class T>
void batch_norm_stats_kernel(cpu, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, T* mean, T* var) {
  const double count = double(n * plane);
#pragma omp parallel for schedule(static)
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (std::int64_t b = 0; b < n; ++b) {
      const T* xp = x + (b * c + ch) * plane;
      for (std::int64_t p = 0; p < plane; ++p) sum += xp[p];
    }
    const double mu = sum / count;
    double sq = 0;  // two passes: no cancellation when |mean| >> std
    for (std::int64_t b = 0; b < n; ++b) {
      const T* xp = x + (b * c + ch) * plane;
      for (std::int64_t p = 0; p < plane; ++p) sq += (xp[p] - mu) * (xp[p] - mu);
    }
    mean[ch] = T(mu);
    var[ch] = T(sq / count);
  }
}

// y = (x - mean) * invstd * gamma + beta, per channel.
template <class T>
void batch_norm_apply_kernel(cpu, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane, const T* mean,
                             const T* invstd, const T* gamma, const T* beta, T* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const T scale = invstd[ch] * gamma[ch], shift = beta[ch] - mean[ch] * scale;
      const T* HFC_RESTRICT xp = x + (b * c + ch) * plane;
      T* HFC_RESTRICT yp = y + (b * c + ch) * plane;
      for (std::int64_t p = 0; p < plane; ++p) yp[p] = xp[p] * scale + shift;
    }
}

// Gradients. With batch statistics (training) x-hat depends on every x of its channel:
//   dx = gamma * invstd * (dy - mean(dy) - x_hat * mean(dy * x_hat));
// with fixed statistics (eval) dx = gamma * invstd * dy. dgamma += sum dy * x_hat, dbeta += sum dy.
template <class T>
void batch_norm_backward_kernel(cpu, const T* dy, const T* x, std::int64_t n, std::int64_t c, std::int64_t plane,
                                const T* mean, const T* invstd, const T* gamma, bool batch_stats, T* dx, T* dgamma,
                                T* dbeta) {
  const double count = double(n * plane);
#pragma omp parallel for schedule(static)
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double sum_dy = 0, sum_dy_xhat = 0;
    const double mu = mean[ch], is = invstd[ch];
    for (std::int64_t b = 0; b < n; ++b) {
      const T* dyp = dy + (b * c + ch) * plane;
      const T* xp = x + (b * c + ch) * plane;
      for (std::int64_t p = 0; p < plane; ++p) {
        sum_dy += dyp[p];
        sum_dy_xhat += dyp[p] * (xp[p] - mu) * is;
      }
    }
    dgamma[ch] += T(sum_dy_xhat);
    dbeta[ch] += T(sum_dy);
    if (!dx) continue;
    const T scale = T(gamma[ch] * is);
    const T mean_dy = batch_stats ? T(sum_dy / count) : T(0);
    const T mean_dy_xhat = batch_stats ? T(sum_dy_xhat / count) : T(0);
    for (std::int64_t b = 0; b < n; ++b) {
      const T* dyp = dy + (b * c + ch) * plane;
      const T* xp = x + (b * c + ch) * plane;
      T* dxp = dx + (b * c + ch) * plane;
      for (std::int64_t p = 0; p < plane; ++p) {
        const T xhat = (xp[p] - T(mu)) * T(is);
        dxp[p] = scale * (dyp[p] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

// running = (1 - momentum) running + momentum * batch statistic, with the unbiased variance.
template <class T>
void batch_norm_running_update_kernel(cpu, const T* mean, const T* var, std::int64_t c, double momentum,
                                      double unbiased, T* running_mean, T* running_var) {
  for (std::int64_t ch = 0; ch < c; ++ch) {
    running_mean[ch] = T((1 - momentum) * running_mean[ch] + momentum * mean[ch]);
    running_var[ch] = T((1 - momentum) * running_var[ch] + momentum * var[ch] * unbiased);
  }
}

// invstd = 1 / sqrt(var + eps)
template <class T>
void inverse_std_kernel(cpu, const T* var, std::int64_t c, double eps, T* invstd) {
  for (std::int64_t ch = 0; ch < c; ++ch) invstd[ch] = T(1.0 / std::sqrt(double(var[ch]) + eps));
}

}  // namespace hfc::cpu_backend
