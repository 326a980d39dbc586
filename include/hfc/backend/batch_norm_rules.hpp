#pragma once
// BatchNorm's per-channel rules, written once for every backend: the affine map and the clamp it
// may apply in the same pass (BatchNorm2d followed by ReLU or ReLU6; the backward recomputes the
// clamp's mask from x, so forward and backward form x * scale + shift from the same code here),
// the inverse standard deviation, and the running statistics' update.
#include <cmath>
#include <cstdint>

#include "hfc/backend/clamp_rule.hpp"
#include "hfc/backend/host_device.hpp"

namespace hfc::batch_norm_rules {

// y = x * scale + shift, with scale = invstd * gamma and shift = beta - mean * scale.
template <class T>
struct ChannelAffine {
  T scale, shift;
  HFC_HOST_DEVICE ChannelAffine(T mean, T invstd, T gamma, T beta)
      : scale(invstd * gamma), shift(beta - mean * scale) {}
  HFC_HOST_DEVICE T operator()(T x) const { return map(x, scale, shift); }
  // The map with a channel's scale and shift held elsewhere (spread over a run of values).
  HFC_HOST_DEVICE static T map(T x, T scale, T shift) { return x * scale + shift; }
};

// The activation BatchNorm may apply after its affine map: the clamp's range when `on`.
template <class T>
struct Clamp {
  clamp_rule::Range<T> range;
  bool on;
  HFC_HOST_DEVICE T operator()(T v) const { return on ? range(v) : v; }
};

// 1 / sqrt(var + eps), in double.
template <class T>
HFC_HOST_DEVICE T inverse_std(T var, double eps) {
  return T(1.0 / sqrt(double(var) + eps));
}

// The running statistics' step towards a batch's (training): running = (1 - momentum) running +
// momentum * batch, with the variance unbiased by n / (n - 1). Null pointers: no running statistics.
template <class T>
struct RunningUpdate {
  T *mean, *var;
  double momentum, unbiased;
  HFC_HOST_DEVICE void operator()(std::int64_t ch, T batch_mean, T batch_var) const {
    if (!mean) return;
    mean[ch] = T((1 - momentum) * mean[ch] + momentum * batch_mean);
    var[ch] = T((1 - momentum) * var[ch] + momentum * batch_var * unbiased);
  }
};

}  // namespace hfc::batch_norm_rules
