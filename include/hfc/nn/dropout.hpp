#pragma once
// torch.nn.Dropout: in training, zeroes each element with probability p and scales the rest by
// 1/(1-p); in eval, the identity. The mask is drawn on the host from an hfc::Rng, so a seed gives
// the same masks on every backend.
#include <cstdint>
#include <vector>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/module.hpp"
#include "hfc/core/rng.hpp"
#include "hfc/ops/dropout.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
class Dropout : public ParameterlessLayer {
 public:
  using value_type = T;
  using backend_type = B;

  explicit Dropout(double p = 0.5, Rng& rng = default_rng()) : p_(p), rng_(&rng) {
    check(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    kept_ = grad_enabled();
    if (!training_ || p_ == 0.0) {
      mask_ = Tensor<std::uint8_t, B>();
      return x;
    }
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(x.numel()));
    for (auto& k : keep) k = rng_->uniform() >= p_;
    mask_ = Tensor<std::uint8_t, B>::from(x.shape(), keep);
    return masked_scale(x, mask_, scale());
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(kept_, "Dropout");
    kept_ = false;
    return mask_.defined() ? masked_scale(dy, mask_, scale()) : dy;
  }
  double p() const { return p_; }

 private:
  T scale() const { return p_ < 1.0 ? T(1.0 / (1.0 - p_)) : T(0); }
  double p_;
  Rng* rng_;
  Tensor<std::uint8_t, B> mask_;
  bool kept_ = false;
};

}  // namespace hfc
