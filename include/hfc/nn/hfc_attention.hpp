#pragma once
// The spatial attention module with a high-frequency component (Kim & Jo, 2024, eqs. 1-10):
//
//   x~  = pointwise conv C->1 of x, no bias                      (eq. 1)
//   q   = Re F^-1{ F{x~} H }, H a real high-pass filter; k = x~  (eqs. 2-3)
//   M   = sigma(q) sigma(k)^T, zero-padded to H x W               (eqs. 5-8)
//   a   = sigmoid(conv 7x7 (M)), padding 3, no bias               (eq. 9)
//   y   = a * x, broadcast over channels                          (eq. 10)
//
// The ablation variants of the paper's Table 1 replace the single (HFC, x~) pair by (LFC, x~),
// {(HFC, x~), (LFC, x~)} or {(HFC, x~), (LFC, x~), (HFC, LFC)}; the correlation maps are stacked
// as channels of the 7x7 conv. Parameters: C + 49 * pairs.
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/module.hpp"
#include "hfc/nn/conv2d.hpp"
#include "hfc/ops/conv2d.hpp"
#include "hfc/ops/correlation.hpp"
#include "hfc/ops/elementwise.hpp"
#include "hfc/ops/filter.hpp"
#include "hfc/ops/gating.hpp"
#include "hfc/ops/svd.hpp"

namespace hfc {

enum class FilterFamily { ideal, gaussian, butterworth };

// Which (query, key) pairs feed the correlation (the paper's ablation, Table 1).
enum class QuerySet {
  hfc,         // {(HFC, x~)}: the paper's module
  lfc,         // {(LFC, x~)}
  hfc_lfc,     // {(HFC, x~), (LFC, x~)}
  hfc_lfc_hl,  // {(HFC, x~), (LFC, x~), (HFC, LFC)}
};

struct HfcOptions {
  FilterFamily filter = FilterFamily::ideal;
  double cutoff = 0.25;  // normalised radius, in (0, 1]
  int order = 2;         // Butterworth only
  QuerySet queries = QuerySet::hfc;

  AnyFilter high_pass() const {
    switch (filter) {
      case FilterFamily::gaussian: return GaussianHighPass{cutoff};
      case FilterFamily::butterworth: return ButterworthHighPass{cutoff, order};
      default: return IdealHighPass{cutoff};
    }
  }
  AnyFilter low_pass() const {
    switch (filter) {
      case FilterFamily::gaussian: return GaussianLowPass{cutoff};
      case FilterFamily::butterworth: return ButterworthLowPass{cutoff, order};
      default: return IdealLowPass{cutoff};
    }
  }
};

template <Scalar T, Backend B = cpu>
class HfcAttention : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  // The maps whose singular values are correlated.
  enum Map : int { key = 0, high = 1, low = 2 };
  using Pair = std::pair<Map, Map>;  // (query, key)

  explicit HfcAttention(std::int64_t channels, const HfcOptions& options = {}, Rng& rng = default_rng())
      : channels_(channels),
        options_(options),
        high_pass_(options.high_pass()),
        low_pass_(options.low_pass()),
        pairs_(pairs_for(options.queries)),
        pointwise(Conv2dOptions::square(checked_channels(channels), 1, 1, 1, 0, false), rng),
        conv(Conv2dOptions::square(static_cast<std::int64_t>(pairs_.size()), 1, 7, 1, 3, false), rng) {
    std::visit([](const auto& f) { f.validate(); }, high_pass_);
    std::visit([](const auto& f) { f.validate(); }, low_pass_);
    for (const auto& [q, k] : pairs_) used_[q] = used_[k] = true;
    for (int m = 0; m < 3; ++m)
      if (used_[m]) slot_[m] = maps_used_++;
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    check_rank(x, 4, "HfcAttention: input");
    check(x.size(1) == channels_, "HfcAttention: input of shape ", x.shape(), " has ", x.size(1),
          " channels, the module was built for ", channels_);
    const std::int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    const bool keep = grad_enabled();

    // The maps the pairs use, stacked [M N, H, W] for one batched SVD: one GPU launch of M N
    // blocks instead of M launches of N, and a balanced share of matrices per cpu thread. The
    // pointwise conv and the filters write straight into their rows (Tensor::narrow views).
    auto stacked = Tensor<T, B>::empty(Shape{maps_used_ * n, h, w});
    auto map_rows = [&](Map m) { return stacked.narrow(slot_[m] * n, n); };
    // The pointwise conv runs as a function of its layer's weight: backward writes its input
    // gradient together with the gate's (gated_projection_backward), not through the layer.
    auto key_rows = map_rows(key);
    conv2d(x, pointwise.weight.value, pointwise.bias.value, pointwise.options().geometry, key_rows);
    const auto key_map = key_rows.reshape(Shape{n, 1, h, w});
    if (used_[high]) {
      auto rows = map_rows(high);
      frequency_filter(key_map, high_pass_, rows);
    }
    if (used_[low]) {
      auto rows = map_rows(low);
      frequency_filter(key_map, low_pass_, rows);
    }
    svd_ = svd(stacked, keep);

    // The 7x7 conv, like the pointwise one, runs as a function of its layer's weight: backward
    // takes its input gradient a few samples at a time (key_map_gradient), its weight gradient
    // for the whole batch.
    auto maps = correlation(sigma_pairs(0, n), h, w);  // [N, P, H, W]
    const auto z = conv2d(maps, conv.weight.value, conv.bias.value, conv.options().geometry);  // [N, 1, H, W]
    auto gated = sigmoid_gate(z, x);
    gate_ = gated.gate;
    input_ = keep ? x : Tensor<T, B>();
    correlation_ = keep ? std::move(maps) : Tensor<T, B>();
    return gated.y;
  }

  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(input_.defined(), "HfcAttention");
    check_shape(dy, input_.shape(), "HfcAttention::backward: grad");
    // x feeds both the gate and x~: one pass writes both branches' gradient, the attention
    // branch's worked out from the gate's gradient dz in between (on the cpu a few samples at a
    // time, while their dy and x are in cache).
    auto dz = Tensor<T, B>::empty(gate_.shape());
    auto dx = Tensor<T, B>::empty(dy.shape());
    gated_projection_backward(
        dy, input_, gate_, pointwise.weight.value,
        [this](const Tensor<T, B>& dz_rows, Tensor<T, B>& d_key, std::int64_t first) {
          key_map_gradient(dz_rows, d_key, first);
        },
        dz, dx, pointwise.weight.grad);
    // The 7x7 conv's weight gradient, from the whole batch's dz at once: a sum that does not
    // depend on how the samples were split among threads above.
    conv2d_backward(dz, correlation_, conv.weight.value, conv.options().geometry,
                    Conv2dGradients<T, B>{nullptr, false, &conv.weight.grad, nullptr});
    release();
    return dx;
  }

  void train(bool on = true) {
    training_ = on;
    pointwise.train(on);
    conv.train(on);
  }
  void eval() { train(false); }

  template <class F>
  void for_each_parameter(F&& f) {
    pointwise.for_each_parameter(prefixed("pointwise", f));
    conv.for_each_parameter(prefixed("conv", f));
  }
  template <class F>
  void for_each_buffer(F&&) {}

  std::int64_t channels() const { return channels_; }
  const HfcOptions& options() const { return options_; }
  const std::vector<Pair>& pairs() const { return pairs_; }
  // The attention map a of the last forward pass, [N, 1, H, W] (for plots and Grad-CAM figures).
  const Tensor<T, B>& attention_map() const { return gate_; }

 private:
  static std::int64_t checked_channels(std::int64_t c) {
    check(c > 0, "HfcAttention: channels must be positive, got ", c);
    return c;
  }
  static std::vector<Pair> pairs_for(QuerySet q) {
    switch (q) {
      case QuerySet::lfc: return {{low, key}};
      case QuerySet::hfc_lfc: return {{high, key}, {low, key}};
      case QuerySet::hfc_lfc_hl: return {{high, key}, {low, key}, {high, low}};
      default: return {{high, key}};
    }
  }
  // The rows of map m's SVDs (the last forward pass's) for samples [first, first + rows).
  SvdResult<T, B> svd_rows(Map m, std::int64_t first, std::int64_t rows) const {
    const std::int64_t at = slot_[m] * (svd_.S.size(0) / maps_used_) + first;  // the maps are stacked [M N, ...]
    return {svd_.S.narrow(at, rows), svd_.U.defined() ? svd_.U.narrow(at, rows) : Tensor<T, B>(),
            svd_.V.defined() ? svd_.V.narrow(at, rows) : Tensor<T, B>()};
  }
  // The singular values the correlation takes, pair by pair, for samples [first, first + rows).
  std::vector<SigmaPair<T, B>> sigma_pairs(std::int64_t first, std::int64_t rows) const {
    std::vector<SigmaPair<T, B>> out;
    for (const auto& [q, k] : pairs_) out.push_back({svd_rows(q, first, rows).S, svd_rows(k, first, rows).S});
    return out;
  }
  // dL/dx~ of samples [first, first + rows) from their dL/dz: back through the 7x7 conv (input
  // gradient only), the correlation, the SVDs and the (self-adjoint) filters. Called by several
  // threads at once on the cpu, each with its own rows; writes nothing else.
  void key_map_gradient(const Tensor<T, B>& dz, Tensor<T, B>& d_key, std::int64_t first) const {
    const std::int64_t rows = dz.size(0);
    Tensor<T, B> d_maps;
    conv2d_backward(dz, correlation_.narrow(first, rows), conv.weight.value, conv.options().geometry,
                    Conv2dGradients<T, B>{&d_maps, false, nullptr, nullptr});
    const auto d_sigma_pairs = correlation_backward(d_maps, sigma_pairs(first, rows));
    d_key.fill(T(0));
    for (const Map m : {key, high, low}) {
      if (!used_[m]) continue;
      const auto r = svd_rows(m, first, rows);
      // Map m's singular-value gradient: the sum over the pairs it takes part in.
      auto d_sigma = Tensor<T, B>::zeros(r.S.shape());
      for (std::size_t p = 0; p < pairs_.size(); ++p) {
        if (pairs_[p].first == m) add_(d_sigma, d_sigma_pairs[p].query);
        if (pairs_[p].second == m) add_(d_sigma, d_sigma_pairs[p].key);
      }
      const auto d_map = svd_backward(r, d_sigma).reshape(d_key.shape());
      add_(d_key, m == key ? d_map : frequency_filter(d_map, m == high ? high_pass_ : low_pass_));
    }
  }
  void release() {
    input_ = Tensor<T, B>();
    correlation_ = Tensor<T, B>();
    svd_ = SvdResult<T, B>{};
  }

  std::int64_t channels_;
  HfcOptions options_;
  AnyFilter high_pass_, low_pass_;
  std::vector<Pair> pairs_;
  std::array<bool, 3> used_{};
  std::array<std::int64_t, 3> slot_{};  // a used map's place in the stacked SVD
  std::int64_t maps_used_ = 0;
  // Kept by forward for backward.
  Tensor<T, B> input_, gate_;
  Tensor<T, B> correlation_;  // the 7x7 conv's input, [N, pairs, H, W]
  SvdResult<T, B> svd_;  // of the used maps, stacked [M N, H, W]

 public:
  // Declared after the options they are built from (members initialise in declaration order).
  Conv2d<T, B> pointwise;  // C -> 1, 1x1, no bias: "pointwise.weight"
  Conv2d<T, B> conv;       // pairs -> 1, 7x7, padding 3, no bias: "conv.weight"; run as a function of it
};

}  // namespace hfc
