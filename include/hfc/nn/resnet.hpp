#pragma once
// torchvision's ResNet18 (same layer shapes, initialisation and state_dict names), with the
// paper's attention modules after the stem and after layer1, layer2 and layer3.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfc/core/module.hpp"
#include "hfc/nn/activation.hpp"
#include "hfc/nn/batch_norm.hpp"
#include "hfc/nn/conv2d.hpp"
#include "hfc/nn/attention_module.hpp"
#include "hfc/nn/linear.hpp"
#include "hfc/nn/network_options.hpp"
#include "hfc/nn/pooling.hpp"

namespace hfc {

namespace detail {
// torchvision's ResNet init: kaiming_normal_(fan_out, relu) for every conv of the backbone.
template <Scalar T, Backend B>
Conv2d<T, B> resnet_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                         std::int64_t padding, Rng& rng) {
  Conv2d<T, B> conv(Conv2dOptions::square(in, out, kernel, stride, padding, false), rng);
  conv.weight.value = init::kaiming_normal_fan_out<T, B>(conv.weight.value.shape(), rng);
  return conv;
}
}  // namespace detail

// torchvision.models.resnet.BasicBlock: conv3x3-bn-relu-conv3x3-bn, plus the identity or a
// 1x1 stride-s conv + bn ("downsample") on the skip path, then relu. The first relu runs in bn1's
// pass (BatchNormActivation).
template <Scalar T, Backend B = cpu>
class BasicBlock : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride, Rng& rng)
      : conv1(detail::resnet_conv<T, B>(in, out, 3, stride, 1, rng)),
        bn1(out, BatchNormActivation::relu),
        conv2(detail::resnet_conv<T, B>(out, out, 3, 1, 1, rng)),
        bn2(out) {
    if (stride != 1 || in != out) {
      down_conv.emplace(detail::resnet_conv<T, B>(in, out, 1, stride, 0, rng));
      down_bn.emplace(out);
    }
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    auto main = bn2.forward(conv2.forward(bn1.forward(conv1.forward(x))));
    add_(main, down_conv ? down_bn->forward(down_conv->forward(x)) : x);
    return relu2.forward(main);
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    const auto d = relu2.backward(dy);  // feeds both paths
    auto dx = conv1.backward(bn1.backward(conv2.backward(bn2.backward(d))));
    add_(dx, down_conv ? down_conv->backward(down_bn->backward(d)) : d);
    return dx;
  }

  void train(bool on = true) {
    training_ = on;
    conv1.train(on), bn1.train(on), conv2.train(on), bn2.train(on);
    if (down_conv) down_conv->train(on), down_bn->train(on);
  }
  void eval() { train(false); }
  template <class F>
  void for_each_parameter(F&& f) {
    conv1.for_each_parameter(prefixed("conv1", f));
    bn1.for_each_parameter(prefixed("bn1", f));
    conv2.for_each_parameter(prefixed("conv2", f));
    bn2.for_each_parameter(prefixed("bn2", f));
    if (down_conv) {
      down_conv->for_each_parameter(prefixed("downsample.0", f));
      down_bn->for_each_parameter(prefixed("downsample.1", f));
    }
  }
  template <class F>
  void for_each_buffer(F&& f) {
    bn1.for_each_buffer(prefixed("bn1", f));
    bn2.for_each_buffer(prefixed("bn2", f));
    if (down_bn) down_bn->for_each_buffer(prefixed("downsample.1", f));
  }

  Conv2d<T, B> conv1;
  BatchNorm2d<T, B> bn1;  // and relu
  Conv2d<T, B> conv2;
  BatchNorm2d<T, B> bn2;
  std::optional<Conv2d<T, B>> down_conv;
  std::optional<BatchNorm2d<T, B>> down_bn;
  ReLU<T, B> relu2;  // after the sum
};

template <Scalar T, Backend B = cpu>
class ResNet18 : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  explicit ResNet18(const NetworkOptions& o = {}, Rng& rng = default_rng())
      : conv1(detail::resnet_conv<T, B>(detail::checked_options(o, "ResNet18").in_channels, o.width, 7, 2, 3, rng)),
        bn1(o.width, BatchNormActivation::relu),
        fc(8 * o.width, o.num_classes, true, rng),
        options_(o) {
    std::int64_t in = o.width;
    for (int stage = 0; stage < 4; ++stage) {
      const std::int64_t out = o.width << stage;
      layers.emplace_back(in, out, stage == 0 ? 1 : 2, rng);
      layers.emplace_back(out, out, 1, rng);
      in = out;
    }
    // After the stem, layer1, layer2 and layer3: 64, 64, 128, 256 channels at width 64.
    attention = detail::make_attention<T, B>(o, {o.width, o.width, 2 * o.width, 4 * o.width}, rng);
  }

  // images [N, in_channels, H, W] -> logits [N, num_classes]: the head over the features.
  Tensor<T, B> forward(const Tensor<T, B>& x) { return forward_head(forward_features(x)); }
  Tensor<T, B> backward(const Tensor<T, B>& dy) { return backward_features(backward_head(dy)); }

  // The last conv block's output (layer4), [N, 8 width, H/32, W/32]: what Grad-CAM looks at.
  Tensor<T, B> forward_features(const Tensor<T, B>& x) {
    detail::check_network_input(x, options_, "ResNet18");
    auto h = maxpool.forward(bn1.forward(conv1.forward(x)));
    for (std::size_t stage = 0; stage < 4; ++stage) {
      if (stage < attention.size()) h = attention[stage]->forward(h);
      h = layers[2 * stage + 1].forward(layers[2 * stage].forward(h));
    }
    return h;
  }
  // Pooling and the classifier: features -> logits, and logits' gradient -> the features'.
  Tensor<T, B> forward_head(const Tensor<T, B>& features) {
    return fc.forward(flatten.forward(avgpool.forward(features)));
  }
  Tensor<T, B> backward_head(const Tensor<T, B>& dy) { return avgpool.backward(flatten.backward(fc.backward(dy))); }
  Tensor<T, B> backward_features(const Tensor<T, B>& d_features) {
    auto d = d_features;
    for (std::size_t stage = 4; stage-- > 0;) {
      d = layers[2 * stage].backward(layers[2 * stage + 1].backward(d));
      if (stage < attention.size()) d = attention[stage]->backward(d);
    }
    return conv1.backward(bn1.backward(maxpool.backward(d)));
  }

  void train(bool on = true) {
    training_ = on;
    conv1.train(on), bn1.train(on), fc.train(on);
    for (auto& l : layers) l.train(on);
    for (auto& a : attention) a->train(on);
  }
  void eval() { train(false); }

  // torchvision's state_dict names, then attention.{i}.*.
  template <class F>
  void for_each_parameter(F&& f) {
    conv1.for_each_parameter(prefixed("conv1", f));
    bn1.for_each_parameter(prefixed("bn1", f));
    for_each_layer([&](const std::string& name, auto& block) { block.for_each_parameter(prefixed(name, f)); });
    fc.for_each_parameter(prefixed("fc", f));
    detail::for_each_attention_parameter(attention, f);
  }
  template <class F>
  void for_each_buffer(F&& f) {
    bn1.for_each_buffer(prefixed("bn1", f));
    for_each_layer([&](const std::string& name, auto& block) { block.for_each_buffer(prefixed(name, f)); });
    detail::for_each_attention_buffer(attention, f);
  }

  const NetworkOptions& options() const { return options_; }

  Conv2d<T, B> conv1;
  BatchNorm2d<T, B> bn1;  // and relu
  MaxPool2d<T, B> maxpool;
  std::vector<BasicBlock<T, B>> layers;  // layer{s+1}.{b} is layers[2 s + b]
  AdaptiveAvgPool2d<T, B> avgpool;
  Flatten<T, B> flatten;
  Linear<T, B> fc;
  std::vector<std::unique_ptr<AttentionModule<T, B>>> attention;

 private:
  template <class G>
  void for_each_layer(G&& g) {
    for (std::size_t i = 0; i < layers.size(); ++i)
      g("layer" + std::to_string(i / 2 + 1) + "." + std::to_string(i % 2), layers[i]);
  }
  NetworkOptions options_;
};

template <Scalar T, Backend B = cpu>
ResNet18<T, B> resnet18(const NetworkOptions& o = {}, Rng& rng = default_rng()) {
  return ResNet18<T, B>(o, rng);
}

}  // namespace hfc
