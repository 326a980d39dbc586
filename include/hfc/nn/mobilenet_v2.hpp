#pragma once
// torchvision's MobileNetV2 (width 1.0: same layer shapes, initialisation and state_dict names),
// with the paper's attention modules after features[0], [1], [3], [6], [10], [13] and [16].
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hfc/core/module.hpp"
#include "hfc/nn/batch_norm.hpp"
#include "hfc/nn/conv2d.hpp"
#include "hfc/nn/dropout.hpp"
#include "hfc/nn/linear.hpp"
#include "hfc/nn/network_options.hpp"
#include "hfc/nn/pooling.hpp"

namespace hfc {

// torchvision's Conv2dNormActivation: conv (no bias) + BatchNorm + optional ReLU6, which runs in
// the BatchNorm's pass (BatchNormActivation). Its state_dict names are "0.weight" (conv) and "1.*"
// (bn). Convs start from kaiming_normal_(fan_out).
template <Scalar T, Backend B = cpu>
class ConvBnReLU6 : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  ConvBnReLU6(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t groups,
              bool activation, Rng& rng)
      : conv(Conv2dOptions::square(in, out, kernel, stride, (kernel - 1) / 2, false, groups), rng),
        bn(out, activation ? BatchNormActivation::relu6 : BatchNormActivation::none) {
    conv.weight.value = init::kaiming_normal_fan_out<T, B>(conv.weight.value.shape(), rng);
  }
  Tensor<T, B> forward(const Tensor<T, B>& x) { return bn.forward(conv.forward(x)); }
  Tensor<T, B> backward(const Tensor<T, B>& dy) { return conv.backward(bn.backward(dy)); }
  void train(bool on = true) { training_ = on, conv.train(on), bn.train(on); }
  void eval() { train(false); }
  template <class F>
  void for_each_parameter(F&& f) {
    conv.for_each_parameter(prefixed("0", f));
    bn.for_each_parameter(prefixed("1", f));
  }
  template <class F>
  void for_each_buffer(F&& f) {
    bn.for_each_buffer(prefixed("1", f));
  }

  Conv2d<T, B> conv;
  BatchNorm2d<T, B> bn;  // and the ReLU6, if any
};

// torchvision's InvertedResidual: [1x1 expand] -> 3x3 depthwise -> 1x1 linear projection, with
// the input added back when the shape is kept. Names: conv.0, conv.1, ... in that order.
template <Scalar T, Backend B = cpu>
class InvertedResidual : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  InvertedResidual(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t expand, Rng& rng)
      : residual_(stride == 1 && in == out) {
    const std::int64_t hidden = in * expand;
    if (expand != 1) units.emplace_back(in, hidden, 1, 1, 1, true, rng);
    units.emplace_back(hidden, hidden, 3, stride, hidden, true, rng);
    units.emplace_back(hidden, out, 1, 1, 1, false, rng);  // the linear bottleneck
  }
  Tensor<T, B> forward(const Tensor<T, B>& x) {
    Tensor<T, B> h = x;
    for (auto& u : units) h = u.forward(h);
    if (residual_) add_(h, x);
    return h;
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    Tensor<T, B> d = dy;
    for (auto it = units.rbegin(); it != units.rend(); ++it) d = it->backward(d);
    if (residual_) add_(d, dy);
    return d;
  }
  void train(bool on = true) {
    training_ = on;
    for (auto& u : units) u.train(on);
  }
  void eval() { train(false); }
  // The projection's conv and bn are separate entries (conv.{k}.weight, conv.{k+1}.*), as in
  // torchvision, unlike the ConvBnReLU6 units before it (conv.{i}.0, conv.{i}.1).
  template <class F>
  void for_each_parameter(F&& f) {
    for (std::size_t i = 0; i + 1 < units.size(); ++i) units[i].for_each_parameter(prefixed("conv." + std::to_string(i), f));
    auto& last = units.back();
    last.conv.for_each_parameter(prefixed("conv." + std::to_string(units.size() - 1), f));
    last.bn.for_each_parameter(prefixed("conv." + std::to_string(units.size()), f));
  }
  template <class F>
  void for_each_buffer(F&& f) {
    for (std::size_t i = 0; i + 1 < units.size(); ++i) units[i].for_each_buffer(prefixed("conv." + std::to_string(i), f));
    units.back().bn.for_each_buffer(prefixed("conv." + std::to_string(units.size()), f));
  }

  std::vector<ConvBnReLU6<T, B>> units;

 private:
  bool residual_;
};

template <Scalar T, Backend B = cpu>
class MobileNetV2 : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  explicit MobileNetV2(const NetworkOptions& o = {}, Rng& rng = default_rng())
      : stem(detail::checked_options(o, "MobileNetV2").in_channels, 32, 3, 2, 1, true, rng),
        head(320, 1280, 1, 1, 1, true, rng),
        dropout(0.2, rng),
        classifier(1280, o.num_classes, true, rng),
        options_(o) {
    // (expansion t, channels c, repeats n, first stride s), torchvision's table.
    constexpr std::array<std::array<std::int64_t, 4>, 7> settings{
        {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}};
    std::int64_t in = 32;
    for (const auto& [t, c, n, s] : settings)
      for (std::int64_t i = 0; i < n; ++i) {
        blocks.emplace_back(in, c, i == 0 ? s : 1, t, rng);
        in = c;
      }
    // torchvision: Linear weights ~ N(0, 0.01), biases 0.
    classifier.weight.value = init::normal<T, B>(classifier.weight.value.shape(), 0.0, 0.01, rng);
    classifier.bias.value.fill(T(0));
    attention = detail::make_attention<T, B>(o, {32, 16, 24, 32, 64, 96, 160}, rng);
  }

  // images [N, in_channels, H, W] -> logits [N, num_classes]: the head over the features.
  Tensor<T, B> forward(const Tensor<T, B>& x) { return forward_head(forward_features(x)); }
  Tensor<T, B> backward(const Tensor<T, B>& dy) { return backward_features(backward_head(dy)); }

  // The last conv block's output (features.18), [N, 1280, H/32, W/32]: what Grad-CAM looks at.
  Tensor<T, B> forward_features(const Tensor<T, B>& x) {
    detail::check_network_input(x, options_, "MobileNetV2");
    auto h = stem.forward(x);
    std::size_t next = 0;  // the next attention module
    if (next < attention.size()) h = attention[next++]->forward(h);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      h = blocks[i].forward(h);
      if (next < attention.size() && kAfterBlock[next - 1] == i) h = attention[next++]->forward(h);
    }
    return head.forward(h);
  }
  // Pooling, dropout and the classifier: features -> logits, and logits' gradient -> the features'.
  Tensor<T, B> forward_head(const Tensor<T, B>& features) {
    return classifier.forward(dropout.forward(flatten.forward(avgpool.forward(features))));
  }
  Tensor<T, B> backward_head(const Tensor<T, B>& dy) {
    return avgpool.backward(flatten.backward(dropout.backward(classifier.backward(dy))));
  }
  Tensor<T, B> backward_features(const Tensor<T, B>& d_features) {
    auto d = head.backward(d_features);
    std::size_t next = attention.size();
    for (std::size_t i = blocks.size(); i-- > 0;) {
      if (next > 1 && kAfterBlock[next - 2] == i) d = attention[--next]->backward(d);
      d = blocks[i].backward(d);
    }
    if (next == 1) d = attention[--next]->backward(d);
    return stem.backward(d);
  }

  void train(bool on = true) {
    training_ = on;
    stem.train(on), head.train(on), dropout.train(on), classifier.train(on);
    for (auto& b : blocks) b.train(on);
    for (auto& a : attention) a->train(on);
  }
  void eval() { train(false); }

  // features.0 (stem), features.1..17 (blocks), features.18 (head), classifier.1, attention.{i}.
  template <class F>
  void for_each_parameter(F&& f) {
    stem.for_each_parameter(prefixed("features.0", f));
    for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i].for_each_parameter(prefixed(feature(i + 1), f));
    head.for_each_parameter(prefixed("features.18", f));
    classifier.for_each_parameter(prefixed("classifier.1", f));
    detail::for_each_attention_parameter(attention, f);
  }
  template <class F>
  void for_each_buffer(F&& f) {
    stem.for_each_buffer(prefixed("features.0", f));
    for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i].for_each_buffer(prefixed(feature(i + 1), f));
    head.for_each_buffer(prefixed("features.18", f));
    detail::for_each_attention_buffer(attention, f);
  }

  ConvBnReLU6<T, B> stem;                  // features.0
  std::vector<InvertedResidual<T, B>> blocks;  // features.1 .. features.17
  ConvBnReLU6<T, B> head;                  // features.18
  AdaptiveAvgPool2d<T, B> avgpool;
  Flatten<T, B> flatten;
  Dropout<T, B> dropout;                   // classifier.0
  Linear<T, B> classifier;                 // classifier.1
  std::vector<std::unique_ptr<AttentionModule<T, B>>> attention;

 private:
  // Attention modules 1..6 follow features[1], [3], [6], [10], [13], [16], i.e. blocks[0], [2], ...
  static constexpr std::array<std::size_t, 6> kAfterBlock{0, 2, 5, 9, 12, 15};
  static std::string feature(std::size_t i) { return "features." + std::to_string(i); }
  NetworkOptions options_;
};

template <Scalar T, Backend B = cpu>
MobileNetV2<T, B> mobilenet_v2(const NetworkOptions& o = {}, Rng& rng = default_rng()) {
  return MobileNetV2<T, B>(o, rng);
}

}  // namespace hfc
