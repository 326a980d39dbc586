#pragma once
// The clamp y = min(max(v, lo), hi) of ReLU (lo = 0, hi = inf) and ReLU6 (hi = 6), and where its
// gradient passes, written once for every backend: the activation kernels and BatchNorm's fused
// activation (batch_norm_rules.hpp) decide alike.
#include "hfc/backend/host_device.hpp"

namespace hfc::clamp_rule {

template <class T>
struct Range {
  T lo, hi;
  // Comparisons keep NaN, as std::min/std::max do (fmin/fmax would turn it into a bound).
  HFC_HOST_DEVICE T operator()(T v) const { return v < lo ? lo : (hi < v ? hi : v); }
  // Strictly inside the bounds (PyTorch's choice at the kinks: ReLU passes nothing at 0), tested
  // on the clamp's input or its output alike. Bitwise, not short-circuit: no branch for the cpu
  // loops' vectoriser to give up on.
  HFC_HOST_DEVICE bool passes(T v) const { return (v > lo) & (v < hi); }
};

}  // namespace hfc::clamp_rule
