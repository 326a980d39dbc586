#pragma once
// The CUDA tests' cases, written once for any backend: each builds its layer, network or op with
// backend B from fixed seeds, runs it on fixed random inputs and returns every result as a named
// host vector. test_layers_cuda.cu runs them with hfc::cuda; reference.cpp (host compiler, the cpu
// backend) runs the same code with hfc::cpu, and the test compares the two.
//
// Include after the backend's headers (hfc/cuda.cuh or hfc/hfc.hpp).
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hfc::test {

using Outputs = std::vector<std::pair<std::string, std::vector<float>>>;

namespace cases {

template <class B>
Tensor<float, B> random(const Shape& shape, std::uint64_t seed) {
  Rng rng(seed);
  return init::normal<float, B>(shape, 0.0, 1.0, rng);
}

// forward, then backward of a random dy: y, dx, and every parameter's gradient by name.
template <class B, class Layer>
Outputs run_layer(Layer& layer, const Shape& input, std::uint64_t seed) {
  Outputs out;
  const auto x = random<B>(input, seed);
  const auto y = layer.forward(x);
  out.emplace_back("y", y.to_vector());
  out.emplace_back("dx", layer.backward(random<B>(y.shape(), seed + 1)).to_vector());
  layer.for_each_parameter([&](std::string_view name, auto& p) { out.emplace_back(std::string(name), p.grad.to_vector()); });
  return out;
}

// conv2d's op with every gradient, dx accumulated onto a random start when `accumulate`.
template <class B>
Outputs conv(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t o, std::int64_t k,
             Conv2dGeometry g, bool bias, bool accumulate = false) {
  const auto x = random<B>(Shape{n, c, h, w}, 1), weight = random<B>(Shape{o, c / g.groups, k, k}, 2);
  const auto b = bias ? random<B>(Shape{o}, 3) : Tensor<float, B>();
  const auto y = conv2d(x, weight, b, g);
  const auto dy = random<B>(y.shape(), 4);
  Tensor<float, B> dx = accumulate ? random<B>(x.shape(), 5) : Tensor<float, B>();
  auto dw = random<B>(weight.shape(), 6);  // parameter gradients are added to
  auto db = bias ? random<B>(Shape{o}, 7) : Tensor<float, B>();
  conv2d_backward(dy, x, weight, g, Conv2dGradients<float, B>{&dx, accumulate, &dw, bias ? &db : nullptr});
  Outputs out{{"y", y.to_vector()}, {"dx", dx.to_vector()}, {"dw", dw.to_vector()}};
  if (bias) out.emplace_back("db", db.to_vector());
  return out;
}

// conv() with the cuda backend's im2col workspace (Context::conv_workspace_bytes) holding `samples`
// samples' columns, so that the batch runs as several GEMM chunks, the last one short when
// `samples` does not divide n. The cpu backend, which the reference runs, has no such workspace.
template <class B>
Outputs conv_in_chunks(std::int64_t samples, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                       std::int64_t o, std::int64_t k, Conv2dGeometry g, bool bias, bool accumulate = false) {
#ifdef __CUDACC__
  const auto extent = [&](std::int64_t size, std::int64_t stride, std::int64_t pad, std::int64_t dilation) {
    return (size + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
  };
  const std::int64_t plane = extent(h, g.stride_h, g.pad_h, g.dilation_h) * extent(w, g.stride_w, g.pad_w, g.dilation_w);
  const auto bytes = static_cast<std::size_t>(samples * std::max(c * k * k, o) * plane) * sizeof(float);
  const cuda_backend::ScopedSetting workspace(cuda_backend::Context::get().conv_workspace_bytes, bytes);
#endif
  return conv<B>(n, c, h, w, o, k, g, bias, accumulate);
}

// With ReLU6 fused, the weights and biases spread the outputs over both of its bounds.
template <class B>
Outputs batch_norm(bool training, BatchNormActivation activation = BatchNormActivation::none) {
  BatchNorm2d<float, B> bn(6, activation);
  Rng rng(8);
  const bool clamped = activation != BatchNormActivation::none;
  bn.weight.value = init::uniform<float, B>(Shape{6}, clamped ? 4.0 : 0.5, clamped ? 6.0 : 1.5, rng);
  bn.bias.value = init::normal<float, B>(Shape{6}, clamped ? 2.5 : 0.0, 1.0, rng);
  if (!training) {
    bn.running_mean = init::normal<float, B>(Shape{6}, 0.0, 1.0, rng);
    bn.running_var = init::uniform<float, B>(Shape{6}, 0.5, 2.0, rng);
    bn.eval();
  }
  auto out = run_layer<B>(bn, Shape{4, 6, 9, 7}, 9);
  out.emplace_back("running_mean", bn.running_mean.to_vector());
  out.emplace_back("running_var", bn.running_var.to_vector());
  return out;
}

template <class B>
Outputs batch_norm_offset() {  // |mean| = 100 std: the variance must not cancel
  BatchNorm2d<float, B> bn(3);
  auto x = random<cpu>(Shape{2, 3, 5, 5}, 10);
  for (float& v : x.span()) v = 100.0f + 0.5f * v;
  const auto y = bn.forward(x.to<B>());
  return {{"y", y.to_vector()}, {"running_var", bn.running_var.to_vector()}};
}

template <class B>
Outputs max_pool(MaxPoolGeometry g, Shape input) {
  MaxPool2d<float, B> pool(g);
  auto out = run_layer<B>(pool, input, 11);
  // Ties and a NaN: plane 0 constant (the first element of each window wins), plane 1 holds a NaN.
  auto x = random<cpu>(input, 12);
  for (std::int64_t i = 0; i < input[2] * input[3]; ++i) x.data()[i] = 0.5f;
  x.data()[input[2] * input[3] + 3] = std::numeric_limits<float>::quiet_NaN();
  const auto r = max_pool2d(x.to<B>(), g);
  std::vector<float> argmax;
  for (std::int64_t a : r.argmax.to_vector()) argmax.push_back(float(a));
  out.emplace_back("argmax with ties and NaN", argmax);
  return out;
}

template <class B>
Outputs small_layers() {
  Outputs out;
  ReLU<float, B> relu;
  for (auto& [name, v] : run_layer<B>(relu, Shape{3, 4, 5, 6}, 13)) out.emplace_back("relu " + name, v);
  ReLU6<float, B> relu6;
  for (auto& [name, v] : run_layer<B>(relu6, Shape{3, 4, 5, 6}, 14)) out.emplace_back("relu6 " + name, v);
  AdaptiveAvgPool2d<float, B> avg;
  for (auto& [name, v] : run_layer<B>(avg, Shape{3, 5, 7, 6}, 15)) out.emplace_back("avgpool " + name, v);
  Rng rng(16);
  Linear<float, B> fc(20, 7, true, rng);
  for (auto& [name, v] : run_layer<B>(fc, Shape{5, 20}, 17)) out.emplace_back("linear " + name, v);
  Rng drop_rng(18);
  Dropout<float, B> dropout(0.3, drop_rng);
  for (auto& [name, v] : run_layer<B>(dropout, Shape{4, 50}, 19)) out.emplace_back("dropout " + name, v);
  return out;
}

template <class B>
Outputs bam_gate_op(BamCombine combine) {
  const auto x = random<B>(Shape{3, 5, 6, 7}, 20), mc = random<B>(Shape{3, 5}, 21),
             ms = random<B>(Shape{3, 1, 6, 7}, 22);
  const auto y = bam_gate(x, mc, ms, combine);
  const auto g = bam_gate_backward(random<B>(x.shape(), 23), x, mc, ms, combine);
  return {{"y", y.to_vector()}, {"dx", g.dx.to_vector()}, {"dmc", g.dmc.to_vector()}, {"dms", g.dms.to_vector()}};
}

template <class B>
Outputs hfc_attention(QuerySet queries, FilterFamily filter, Shape input) {
  Rng rng(24);
  HfcAttention<float, B> att(input[1], HfcOptions{.filter = filter, .queries = queries}, rng);
  return run_layer<B>(att, input, 25);
}

template <class B>
Outputs bam(BamPreset preset) {
  Rng rng(26);
  Bam<float, B> module(32, BamOptions{.preset = preset}, rng);
  return run_layer<B>(module, Shape{2, 32, 12, 10}, 27);
}

// Softmax cross-entropy with label smoothing, its gradient, and the loss as a one-element vector.
template <class B>
Outputs loss() {
  const auto logits = random<B>(Shape{6, 7}, 28);
  const auto labels = Tensor<std::int64_t, cpu>::from(Shape{6}, std::vector<std::int64_t>{0, 6, 3, 3, 1, 5}).to<B>();
  const auto r = cross_entropy(logits, labels, 0.1);
  return {{"loss", {float(r.loss)}}, {"grad", r.grad.to_vector()}};
}

// Three steps of each optimiser on one parameter with fixed gradients.
template <class B>
Outputs optimisers() {
  Outputs out;
  // Tensors of several sizes, one empty, and a second group (its own lr) joining after the first
  // step: one step updates them all at once, with their own step counts.
  auto run = [&](const std::string& name, auto make) {
    Parameter<float, B> a("a", random<B>(Shape{4, 33}, 29)), empty("empty", Tensor<float, B>::zeros(Shape{0})),
        b("b", random<B>(Shape{7}, 28)), c("c", random<B>(Shape{3, 700}, 27));
    auto opt = make(std::vector<Parameter<float, B>*>{&a, &empty, &b});
    for (std::uint64_t step = 0; step < 3; ++step) {
      if (step == 1) opt.add_param_group({{&c}, 0.03, 0.01});
      for (auto* p : {&a, &b, &c}) p->grad = random<B>(p->value.shape(), 30 + step + std::uint64_t(p->value.numel()));
      opt.step();
    }
    for (auto* p : {&a, &b, &c}) out.emplace_back(name + " " + p->name, p->value.to_vector());
    opt.zero_grad();
    for (auto* p : {&a, &b, &c}) out.emplace_back(name + " " + p->name + " gradient after zero_grad", p->grad.to_vector());
  };
  run("adam", [](auto params) { return Adam<float, B>(params, AdamOptions{.lr = 0.01, .weight_decay = 0.1}); });
  run("adamw", [](auto params) { return AdamW<float, B>(params, AdamOptions{.lr = 0.01, .weight_decay = 0.1}); });
  run("sgd nesterov", [](auto params) {
    return Sgd<float, B>(params, SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
  });
  return out;
}

template <class T>
std::vector<float> as_float(const std::vector<T>& v) {
  return std::vector<float>(v.begin(), v.end());
}

// One training step of a network: logits, loss, every parameter's gradient, and the parameters
// after an Adam step.
template <class B, class T, class Net>
Outputs training_step(Net& net, const Shape& input) {
  Outputs out;
  Rng rng(31);
  const auto x = init::normal<T, B>(input, 0.0, 1.0, rng);
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < input[0]; ++i) labels.push_back(i % 7);
  const auto logits = net.forward(x);
  const auto r = cross_entropy(logits, Tensor<std::int64_t, cpu>::from(Shape{input[0]}, labels).to<B>());
  net.backward(r.grad);
  out.emplace_back("logits", as_float(logits.to_vector()));
  out.emplace_back("loss", std::vector<float>{float(r.loss)});
  std::vector<Parameter<T, B>*> params;
  net.for_each_parameter([&](std::string_view name, auto& p) {
    out.emplace_back(std::string("grad ") + std::string(name), as_float(p.grad.to_vector()));
    params.push_back(&p);
  });
  Adam<T, B> adam(params, AdamOptions{.lr = 1e-3});
  adam.step();
  net.for_each_parameter([&](std::string_view name, auto& p) {
    out.emplace_back(std::string("after ") + std::string(name), as_float(p.value.to_vector()));
  });
  return out;
}

// A training step of a whole network in double: in float, a ReLU whose input lies within rounding
// noise of its kink may pass its gradient on one backend and not the other, and with a few dozen
// values per channel in the deep layers one such element moves a BatchNorm gradient by a
// percent, hiding real differences. In double that does not happen, and the bounds are tight.
template <class B>
Outputs network(const std::string& which, Attention attention) {
  Rng rng(32);
  const NetworkOptions o{.in_channels = 1, .num_classes = 7, .attention = attention};
  if (which == "resnet18") {
    ResNet18<double, B> net(o, rng);
    return training_step<B, double>(net, Shape{4, 1, 64, 64});
  }
  MobileNetV2<double, B> net(o, rng);
  return training_step<B, double>(net, Shape{4, 1, 64, 64});
}

// The float networks' logits (forward only, in eval mode: no batch statistics).
template <class B>
Outputs network_float_logits() {
  Rng rng(33);
  ResNet18<float, B> resnet({.attention = Attention::hfc}, rng);
  MobileNetV2<float, B> mobilenet({.attention = Attention::hfc}, rng);
  resnet.eval();
  mobilenet.eval();
  NoGradGuard no_grad;
  const auto x = random<B>(Shape{2, 1, 64, 64}, 34);
  return {{"resnet18 + hfc logits", resnet.forward(x).to_vector()},
          {"mobilenet_v2 + hfc logits", mobilenet.forward(x).to_vector()}};
}

}  // namespace cases

// Every case by name. Both sides build the same table, so a name means the same code on each.
template <class B>
std::map<std::string, std::function<Outputs()>> all_cases() {
  using namespace cases;
  const auto g = [](std::int64_t s, std::int64_t p, std::int64_t d = 1, std::int64_t groups = 1) {
    return Conv2dGeometry::square(s, p, d, groups);
  };
  return {
      {"conv 3x3", [=] { return conv<B>(2, 6, 9, 11, 8, 3, g(1, 1), true); }},
      {"conv 3x3 stride 2, dx accumulated", [=] { return conv<B>(3, 5, 10, 9, 7, 3, g(2, 1), false, true); }},
      {"conv 1x1", [=] { return conv<B>(2, 16, 7, 7, 24, 1, g(1, 0), false); }},
      {"conv 1x1 with bias, dx accumulated", [=] { return conv<B>(3, 10, 5, 6, 7, 1, g(1, 0), true, true); }},
      {"conv 1x1 stride 2", [=] { return conv<B>(2, 8, 7, 8, 12, 1, g(2, 0), false); }},
      {"conv 7x7 stride 2 (stem)", [=] { return conv<B>(2, 3, 20, 18, 8, 7, g(2, 3), false); }},
      {"conv 7x7, 2 to 1 channel (HFC)", [=] { return conv<B>(3, 2, 14, 14, 1, 7, g(1, 3), false); }},
      {"conv 7x7 on a map smaller than the kernel", [=] { return conv<B>(2, 2, 4, 5, 1, 7, g(1, 3), true); }},
      {"conv grouped, dilated", [=] { return conv<B>(2, 8, 12, 11, 6, 3, g(1, 2, 2, 2), true); }},
      {"conv depthwise 3x3", [=] { return conv<B>(2, 12, 9, 10, 12, 3, g(1, 1, 1, 12), false); }},
      {"conv depthwise 3x3 stride 2, dx accumulated", [=] { return conv<B>(3, 8, 11, 9, 8, 3, g(2, 1, 1, 8), true, true); }},
      // More of the direct path (at most two channel pairs per group) than the networks take.
      {"conv 7x7, 1 to 1 channel, stride 2, dilated, dx accumulated", [=] { return conv<B>(3, 1, 15, 13, 1, 7, g(2, 4, 2), true, true); }},
      {"conv depthwise 5x5 with bias", [=] { return conv<B>(2, 6, 9, 8, 6, 5, g(1, 2, 1, 6), true); }},
      {"conv 3x3, groups of one input and two outputs", [=] { return conv<B>(2, 4, 7, 9, 8, 3, g(1, 1, 1, 4), false); }},
      {"conv 3x3, groups of two inputs and one output, stride 2", [=] { return conv<B>(2, 6, 9, 7, 3, 3, g(2, 1, 1, 3), false, true); }},
      {"conv 3x3 with bias, dx accumulated, GEMM chunks of 2 samples of 5", [=] { return conv_in_chunks<B>(2, 5, 6, 9, 11, 8, 3, g(1, 1), true, true); }},
      {"conv grouped, dilated, stride 2, GEMM chunks of 1 sample of 3", [=] { return conv_in_chunks<B>(1, 3, 8, 12, 11, 6, 3, g(2, 2, 2, 2), false); }},
      // A plain 1x1 whose [o x c] weights outnumber its planes takes the weight gradient through columns.
      {"conv 1x1 on a 2 x 3 map with bias, GEMM chunks of 2 samples of 3", [=] { return conv_in_chunks<B>(2, 3, 16, 2, 3, 24, 1, g(1, 0), true, true); }},
      // 14,400 columns: the weight gradient's GEMM in six segments of 2,058 and one of 2,052.
      {"conv 3x3 on 60 x 60 maps, weight gradient in k segments", [=] { return conv<B>(4, 6, 60, 60, 8, 3, g(1, 1), false); }},
      // 8,192 columns: four segments of 2,048, none shorter.
      {"conv 3x3 on 64 x 64 maps, weight gradient in whole k segments", [=] { return conv<B>(2, 6, 64, 64, 8, 3, g(1, 1), false); }},
      // Two groups, each 6,728 columns: two segments of 2,243 and one of 2,242.
      {"conv 3x3 in two groups on 58 x 58 maps, weight gradient in k segments", [=] { return conv<B>(2, 8, 58, 58, 6, 3, g(1, 1, 1, 2), false); }},
      {"conv 3x3 without bias, GEMM chunks of 2 samples of 3 (the last in place)", [=] { return conv_in_chunks<B>(2, 3, 6, 9, 11, 8, 3, g(1, 1), false); }},
      {"batch norm, training", [] { return batch_norm<B>(true); }},
      {"batch norm, eval", [] { return batch_norm<B>(false); }},
      {"batch norm with ReLU6 fused, training", [] { return batch_norm<B>(true, BatchNormActivation::relu6); }},
      {"batch norm with ReLU fused, eval", [] { return batch_norm<B>(false, BatchNormActivation::relu); }},
      {"batch norm, mean 100 std", [] { return batch_norm_offset<B>(); }},
      {"max pool 3x3/2 pad 1", [] { return max_pool<B>({3, 2, 1}, Shape{2, 3, 11, 12}); }},
      {"max pool 2x2/2", [] { return max_pool<B>({2, 2, 0}, Shape{2, 3, 8, 9}); }},
      {"relu, relu6, avg pool, linear, dropout", [] { return small_layers<B>(); }},
      {"bam gate, product", [] { return bam_gate_op<B>(BamCombine::product); }},
      {"bam gate, sum", [] { return bam_gate_op<B>(BamCombine::sum); }},
      {"hfc attention {HFC}, 56 x 56", [] { return hfc_attention<B>(QuerySet::hfc, FilterFamily::ideal, Shape{2, 16, 56, 56}); }},
      {"hfc attention {HFC, LFC, HL}, 14 x 10", [] { return hfc_attention<B>(QuerySet::hfc_lfc_hl, FilterFamily::gaussian, Shape{3, 8, 14, 10}); }},
      {"hfc attention {HFC}, 112 x 112", [] { return hfc_attention<B>(QuerySet::hfc, FilterFamily::butterworth, Shape{2, 4, 112, 112}); }},
      {"bam (official)", [] { return bam<B>(BamPreset::official); }},
      {"bam (paper)", [] { return bam<B>(BamPreset::paper); }},
      {"cross-entropy", [] { return loss<B>(); }},
      {"adam, adamw, sgd", [] { return optimisers<B>(); }},
      {"resnet18 + hfc, double", [] { return network<B>("resnet18", Attention::hfc); }},
      {"resnet18 + bam, double", [] { return network<B>("resnet18", Attention::bam_official); }},
      {"mobilenet_v2 + hfc, double", [] { return network<B>("mobilenet_v2", Attention::hfc); }},
      {"networks in float, eval logits", [] { return network_float_logits<B>(); }},
  };
}

}  // namespace hfc::test
