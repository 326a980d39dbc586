// BAM: the gate against a direct loop, gradients by finite differences, the presets' parameter
// counts (the paper's +23,808 / +11,192 and the authors' code's +24,164 / +11,485).
#include "support.hpp"

using namespace hfc;

namespace {
double sigmoid_ref(double z) { return 1.0 / (1.0 + std::exp(-z)); }

Tensor<double> bam_gate_reference(const Tensor<double>& x, const Tensor<double>& mc, const Tensor<double>& ms,
                                  BamCombine combine) {
  Tensor<double> y(x.shape());
  for (std::int64_t b = 0; b < x.size(0); ++b)
    for (std::int64_t c = 0; c < x.size(1); ++c)
      for (std::int64_t i = 0; i < x.size(2); ++i)
        for (std::int64_t j = 0; j < x.size(3); ++j) {
          const double z = combine == BamCombine::product ? mc(b, c) * ms(b, 0, i, j) : mc(b, c) + ms(b, 0, i, j);
          y(b, c, i, j) = (1 + sigmoid_ref(z)) * x(b, c, i, j);
        }
  return y;
}
}  // namespace

TEST_CASE("bam_gate: forward against a direct loop, backward by finite differences") {
  for (const auto combine : {BamCombine::product, BamCombine::sum}) {
    const std::string combine_name = combine == BamCombine::product ? "product" : "sum";
    INFO("combine ", combine_name);
    Rng rng(91);
    auto x = test::random_tensor<double>(Shape{2, 3, 4, 5}, rng);
    auto mc = test::random_tensor<double>(Shape{2, 3}, rng, -2, 2);
    auto ms = test::random_tensor<double>(Shape{2, 1, 4, 5}, rng, -2, 2);
    CHECK(test::max_rel_error(bam_gate(x, mc, ms, combine), bam_gate_reference(x, mc, ms, combine)) < 1e-14);

    const auto r = test::random_tensor<double>(x.shape(), rng);
    const auto g = bam_gate_backward(r, x, mc, ms, combine);
    auto loss = [&] { return test::dot(bam_gate(x, mc, ms, combine), r); };
    test::check_gradient("x", x, g.dx, loss, rng, 40);
    test::check_gradient("mc", mc, g.dmc, loss, rng, 40);
    test::check_gradient("ms", ms, g.dms, loss, rng, 40);
  }
  Tensor<float> x({2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(bam_gate(x, Tensor<float>({2, 4}), Tensor<float>({2, 1, 4, 4}), BamCombine::sum),
                       doctest::Contains("channel attention of shape [2, 4]"), Error);
  CHECK_THROWS_WITH_AS(bam_gate(x, Tensor<float>({2, 3}), Tensor<float>({2, 1, 4, 3}), BamCombine::sum),
                       doctest::Contains("expected [2, 1, 4, 4]"), Error);
}

TEST_CASE("Bam: layer names, buffers and parameters of both presets") {
  Bam<float> official(64);
  std::vector<std::string> names;
  official.for_each_parameter([&](std::string_view n, auto&) { names.emplace_back(n); });
  CHECK(names == std::vector<std::string>{
                     "channel_gate.fc_0.weight", "channel_gate.fc_0.bias", "channel_gate.bn_0.weight",
                     "channel_gate.bn_0.bias", "channel_gate.fc_final.weight", "channel_gate.fc_final.bias",
                     "spatial_gate.conv_reduce.weight", "spatial_gate.conv_reduce.bias",
                     "spatial_gate.bn_reduce.weight", "spatial_gate.bn_reduce.bias",
                     "spatial_gate.conv_di_0.weight", "spatial_gate.conv_di_0.bias", "spatial_gate.bn_di_0.weight",
                     "spatial_gate.bn_di_0.bias", "spatial_gate.conv_di_1.weight", "spatial_gate.conv_di_1.bias",
                     "spatial_gate.bn_di_1.weight", "spatial_gate.bn_di_1.bias", "spatial_gate.conv_final.weight",
                     "spatial_gate.conv_final.bias"});
  // Hidden width 4: channel 64*4+4 + 2*4 + 4*64+64, spatial 64*4+4 + 2*4 + 2*(9*16+4 + 2*4) + 4+1.
  CHECK(parameter_count(official) == 1173);
  std::vector<std::string> buffers;
  official.for_each_buffer([&](std::string_view n, auto&) { buffers.emplace_back(n); });
  CHECK(buffers.size() == 4 * 3);
  CHECK(buffers.front() == "channel_gate.bn_0.running_mean");
  CHECK(official.spatial[1].conv.options().geometry.dilation_h == 4);

  Bam<float> paper(64, {.preset = BamPreset::paper});
  CHECK(parameter_count(paper) == 1173 - 11 * 4 - 1);  // no BatchNorm (8h), no spatial biases (3h + 1)
  buffers.clear();
  paper.for_each_buffer([&](std::string_view n, auto&) { buffers.emplace_back(n); });
  CHECK(buffers.empty());
  CHECK_THROWS_WITH_AS(Bam<float>(8), doctest::Contains("leave no hidden width"), Error);
  CHECK_THROWS_WITH_AS(official.forward(Tensor<float>({2, 32, 5, 5})), doctest::Contains("built for 64"), Error);
}

TEST_CASE("Bam: gradients of input and weights by finite differences, both presets") {
  for (const auto preset : {BamPreset::official, BamPreset::paper}) {
    const std::string preset_name = preset == BamPreset::official ? "official" : "paper";
    INFO("preset ", preset_name);
    Rng rng(92);
    Bam<double> bam(8, {.preset = preset, .reduction = 4, .dilation = 2}, rng);
    auto x = test::random_tensor<double>(Shape{3, 8, 6, 5}, rng);
    const auto r = test::random_tensor<double>(x.shape(), rng);
    bam.forward(x);
    const auto dx = bam.backward(r);
    // Train-mode BatchNorm updates running stats on every call; the loss does not depend on them.
    auto loss = [&] { NoGradGuard g; return test::dot(bam.forward(x), r); };
    test::check_gradient("x", x, dx, loss, rng, 30, 1e-6);
    // A bias before BatchNorm has a zero gradient: differences see only rounding, hence 1e-5.
    bam.for_each_parameter([&](std::string_view name, Parameter<double>& p) {
      test::check_gradient(std::string(name), p.value, p.grad, loss, rng, 12, 1e-5);
    });
  }
}

TEST_CASE("Networks with BAM: the parameter counts of the authors' code and of the paper") {
  const auto plain_resnet = parameter_count(*std::make_unique<ResNet18<float>>());
  CHECK(parameter_count(*std::make_unique<ResNet18<float>>(NetworkOptions{.attention = Attention::bam_official})) -
            plain_resnet == 24164);
  CHECK(parameter_count(*std::make_unique<ResNet18<float>>(NetworkOptions{.attention = Attention::bam_paper})) -
            plain_resnet == 23808);
  const auto plain_mbv2 = parameter_count(*std::make_unique<MobileNetV2<float>>());
  auto mbv2 = std::make_unique<MobileNetV2<float>>(NetworkOptions{.attention = Attention::bam_official});
  CHECK(parameter_count(*mbv2) - plain_mbv2 == 11485);
  CHECK(parameter_count(*std::make_unique<MobileNetV2<float>>(NetworkOptions{.attention = Attention::bam_paper})) -
            plain_mbv2 == 11192);
  std::vector<std::string> buffers;
  mbv2->for_each_buffer([&](std::string_view n, auto&) {
    if (n.starts_with("attention.")) buffers.emplace_back(n);
  });
  CHECK(buffers.size() == 7 * 4 * 3);
  CHECK(buffers.back() == "attention.6.spatial_gate.bn_di_1.num_batches_tracked");
  CHECK(mbv2->attention[2]->bam().hidden() == 1);  // 24 channels / 16
  CHECK_THROWS_WITH_AS(mbv2->attention[0]->hfc_attention(), doctest::Contains("not an HfcAttention"), Error);
}

TEST_CASE("ResNet18 (reduced width) with BAM: end-to-end gradients by finite differences") {
  Rng rng(93);
  ResNet18<double> net({.num_classes = 3, .attention = Attention::bam_official, .bam = {.reduction = 4}, .width = 4}, rng);
  auto x = test::random_tensor<double>(Shape{3, 1, 64, 64}, rng);
  const auto r = test::random_tensor<double>(Shape{3, 3}, rng);
  net.forward(x);
  const auto dx = net.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(net.forward(x), r); };
  test::check_gradient("input", x, dx, loss, rng, 12, 1e-5);
  auto& bam = net.attention[1]->bam();
  test::check_gradient("attention.1.channel_gate.fc_0.weight", bam.fc_0.weight.value, bam.fc_0.weight.grad, loss, rng,
                       8, 1e-5);
  test::check_gradient("attention.1.spatial_gate.conv_di_0.weight", bam.spatial[1].conv.weight.value,
                       bam.spatial[1].conv.weight.grad, loss, rng, 8, 1e-5);
}
