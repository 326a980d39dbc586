#pragma once
// BatchNorm's per-channel affine map and the clamp it may apply in the same pass (BatchNorm2d
// followed by ReLU or ReLU6), written once for every backend. The backward recomputes the clamp's
// mask from x, so forward and backward form x * scale + shift from the same code here.
#include "hfc/backend/host_device.hpp"

namespace hfc::batch_norm_rules {

// y = x * scale + shift, with scale = invstd * gamma and shift = beta - mean * scale.
template <class T>
struct ChannelAffine {
  T scale, shift;
  HFC_HOST_DEVICE ChannelAffine(T mean, T invstd, T gamma, T beta)
      : scale(invstd * gamma), shift(beta - mean * scale) {}
  HFC_HOST_DEVICE T operator()(T x) const { return x * scale + shift; }
};

// y = min(max(v, lo), hi) when `on` (ReLU: lo = 0, hi = inf; ReLU6: hi = 6); NaN stays NaN, as in
// the clamp kernels. Its gradient passes where lo < v < hi, where clamp_backward finds its output
// strictly inside the bounds; without a clamp, everywhere.
template <class T>
struct Clamp {
  T lo, hi;
  bool on;
  HFC_HOST_DEVICE T operator()(T v) const { return on ? (v < lo ? lo : (hi < v ? hi : v)) : v; }
  // Bitwise, not short-circuit: no branch for the cpu loops' vectoriser to give up on.
  HFC_HOST_DEVICE bool passes(T v) const { return (!on) | ((v > lo) & (v < hi)); }
};

}  // namespace hfc::batch_norm_rules
