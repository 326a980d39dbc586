#pragma once
// BAM, the Bottleneck Attention Module (Park et al. 2018), the paper's implicit baseline.
//
//   channel gate  Mc = fc_final(relu([bn_0](fc_0(avgpool(x)))))                  [N, C]
//   spatial gate  Ms = conv_final(relu([bn](conv_di_1(relu([bn](conv_di_0(
//                          relu([bn](conv_reduce(x)))))))))                         [N, 1, H, W]
//   y = (1 + sigmoid(Mc (x) Ms)) * x
//
// Hidden width C / reduction (16), 3x3 convs with dilation 4. Two presets (DESIGN.md):
//   official - the authors' code: BatchNorm after fc_0 and after each hidden conv, conv biases,
//              and the product Mc * Ms (their code multiplies where the paper adds);
//   paper    - no BatchNorm and no spatial-conv biases, which gives the parameter counts Kim & Jo
//              report (+23,808 on ResNet18, +11,192 on MobileNetV2); the gates are combined by
//              the sum of the BAM paper's eq. 1.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hfc/core/module.hpp"
#include "hfc/nn/activation.hpp"
#include "hfc/nn/batch_norm.hpp"
#include "hfc/nn/conv2d.hpp"
#include "hfc/nn/linear.hpp"
#include "hfc/ops/bam_gate.hpp"
#include "hfc/ops/pooling.hpp"

namespace hfc {

enum class BamPreset { official, paper };

struct BamOptions {
  BamPreset preset = BamPreset::official;
  std::int64_t reduction = 16;
  std::int64_t dilation = 4;
  int dilated_convs = 2;

  bool batch_norm() const { return preset == BamPreset::official; }
  bool spatial_bias() const { return preset == BamPreset::official; }
  BamCombine combine() const { return preset == BamPreset::official ? BamCombine::product : BamCombine::sum; }
};

namespace detail {
// conv -> optional BatchNorm -> ReLU, or the bare conv (the spatial gate's last layer). With a
// BatchNorm, the ReLU runs inside it (BatchNormActivation::relu); without one, as its own layer.
template <Scalar T, Backend B>
struct BamConvStage {
  BamConvStage(const Conv2dOptions& o, bool batch_norm, bool relu, Rng& rng)
      : conv(o, rng), relu_(relu && !batch_norm) {
    if (batch_norm) bn.emplace(o.out_channels, relu ? BatchNormActivation::relu : BatchNormActivation::none);
  }
  Tensor<T, B> forward(const Tensor<T, B>& x) {
    auto h = conv.forward(x);
    if (bn) h = bn->forward(h);
    return relu_ ? act.forward(h) : h;
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) { return conv.backward(to_conv_output(dy)); }
  void backward_into(const Tensor<T, B>& dy, Tensor<T, B>& dx) { conv.backward_into(to_conv_output(dy), dx); }
  void train(bool on) {
    conv.train(on), act.train(on);
    if (bn) bn->train(on);
  }
  template <class F>
  void for_each_parameter(F& f, const std::string& conv_name, const std::string& bn_name) {
    conv.for_each_parameter(prefixed(conv_name, f));
    if (bn) bn->for_each_parameter(prefixed(bn_name, f));
  }
  template <class F>
  void for_each_buffer(F& f, const std::string& bn_name) {
    if (bn) bn->for_each_buffer(prefixed(bn_name, f));
  }

  Conv2d<T, B> conv;
  std::optional<BatchNorm2d<T, B>> bn;
  ReLU<T, B> act;  // only without bn

 private:
  // The gradient back through ReLU and BatchNorm, to the conv's output.
  Tensor<T, B> to_conv_output(const Tensor<T, B>& dy) {
    auto d = relu_ ? act.backward(dy) : dy;
    return bn ? bn->backward(d) : d;
  }
  bool relu_;
};
}  // namespace detail

template <Scalar T, Backend B = cpu>
class Bam : public TrainingFlag {
 public:
  using value_type = T;
  using backend_type = B;

  explicit Bam(std::int64_t channels, const BamOptions& options = {}, Rng& rng = default_rng())
      : channels_(channels),
        hidden_(hidden_width(channels, options)),
        options_(options),
        fc_0(channels, hidden_, true, rng),
        fc_final(hidden_, channels, true, rng) {
    if (options.batch_norm()) bn_0.emplace(hidden_, BatchNormActivation::relu);  // relu_0 inside bn_0
    const bool bias = options.spatial_bias(), bn = options.batch_norm();
    spatial.emplace_back(Conv2dOptions::square(channels, hidden_, 1, 1, 0, bias), bn, true, rng);
    for (int i = 0; i < options.dilated_convs; ++i)
      spatial.emplace_back(Conv2dOptions::square(hidden_, hidden_, 3, 1, options.dilation, bias, 1, options.dilation),
                           bn, true, rng);
    spatial.emplace_back(Conv2dOptions::square(hidden_, 1, 1, 1, 0, bias), false, false, rng);
  }

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    check_rank(x, 4, "Bam: input");
    check(x.size(1) == channels_, "Bam: input of shape ", x.shape(), " has ", x.size(1),
          " channels, the module was built for ", channels_);
    const std::int64_t n = x.size(0);
    auto h = fc_0.forward(global_avg_pool2d(x).reshape(Shape{n, channels_}));
    if (bn_0) h = bn_0->forward(h.reshape(Shape{n, hidden_, 1, 1})).reshape(Shape{n, hidden_});
    const auto mc = fc_final.forward(bn_0 ? h : relu_0.forward(h));
    auto ms = x;
    for (auto& stage : spatial) ms = stage.forward(ms);
    auto y = bam_gate(x, mc, ms, options_.combine());
    if (grad_enabled()) input_ = x, mc_ = mc, ms_ = ms;
    return y;
  }

  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    check_forward_kept(input_.defined(), "Bam");
    check_shape(dy, input_.shape(), "Bam::backward: grad");
    const std::int64_t n = dy.size(0);
    auto g = bam_gate_backward(dy, input_, mc_, ms_, options_.combine());
    // Channel gate, back to the pooled input, then spread over the plane.
    auto dh = fc_final.backward(g.dmc);
    if (bn_0) dh = bn_0->backward(dh.reshape(Shape{n, hidden_, 1, 1})).reshape(Shape{n, hidden_});
    else dh = relu_0.backward(dh);
    const auto dpool = fc_0.backward(dh).reshape(Shape{n, channels_, 1, 1});
    global_avg_pool2d_backward_add(dpool, g.dx);
    // Spatial gate; its first conv adds into dx, which x also reaches through the gate.
    auto ds = g.dms;
    for (std::size_t i = spatial.size(); i-- > 1;) ds = spatial[i].backward(ds);
    spatial.front().backward_into(ds, g.dx);
    input_ = mc_ = ms_ = Tensor<T, B>();
    return g.dx;
  }

  void train(bool on = true) {
    training_ = on;
    fc_0.train(on), relu_0.train(on), fc_final.train(on);
    if (bn_0) bn_0->train(on);
    for (auto& s : spatial) s.train(on);
  }
  void eval() { train(false); }

  // channel_gate.{fc_0, bn_0, fc_final}.*, spatial_gate.{conv_reduce, bn_reduce, conv_di_i,
  // bn_di_i, conv_final}.*: the authors' layer names without their gate_c_/gate_s_ prefixes.
  template <class F>
  void for_each_parameter(F&& f) {
    auto channel = prefixed("channel_gate", f);
    fc_0.for_each_parameter(prefixed("fc_0", channel));
    if (bn_0) bn_0->for_each_parameter(prefixed("bn_0", channel));
    fc_final.for_each_parameter(prefixed("fc_final", channel));
    auto spatial_f = prefixed("spatial_gate", f);
    for (std::size_t i = 0; i < spatial.size(); ++i)
      spatial[i].for_each_parameter(spatial_f, spatial_name("conv", i), spatial_name("bn", i));
  }
  template <class F>
  void for_each_buffer(F&& f) {
    auto channel = prefixed("channel_gate", f);
    if (bn_0) bn_0->for_each_buffer(prefixed("bn_0", channel));
    auto spatial_f = prefixed("spatial_gate", f);
    for (std::size_t i = 0; i < spatial.size(); ++i) spatial[i].for_each_buffer(spatial_f, spatial_name("bn", i));
  }

  std::int64_t channels() const { return channels_; }
  std::int64_t hidden() const { return hidden_; }
  const BamOptions& options() const { return options_; }

 private:
  static std::int64_t hidden_width(std::int64_t channels, const BamOptions& o) {
    check(channels > 0, "Bam: channels must be positive, got ", channels);
    check(o.reduction > 0 && o.dilation > 0 && o.dilated_convs >= 0, "Bam: reduction and dilation must be positive and ",
          "dilated_convs non-negative, got ", o.reduction, ", ", o.dilation, ", ", o.dilated_convs);
    check(channels / o.reduction >= 1, "Bam: ", channels, " channels with reduction ", o.reduction,
          " leave no hidden width");
    return channels / o.reduction;
  }
  std::string spatial_name(const char* kind, std::size_t i) const {
    if (i == 0) return std::string(kind) + "_reduce";
    if (i + 1 == spatial.size()) return std::string(kind) + "_final";
    return std::string(kind) + "_di_" + std::to_string(i - 1);
  }

  std::int64_t channels_, hidden_;
  BamOptions options_;
  Tensor<T, B> input_, mc_, ms_;

 public:
  Linear<T, B> fc_0;
  std::optional<BatchNorm2d<T, B>> bn_0;  // BatchNorm1d over [N, hidden], run as [N, hidden, 1, 1]
  ReLU<T, B> relu_0;  // only without bn_0 (the paper preset); bn_0 applies it otherwise
  Linear<T, B> fc_final;
  std::vector<detail::BamConvStage<T, B>> spatial;  // conv_reduce, conv_di_*, conv_final
};

}  // namespace hfc
