#include "support.hpp"

using namespace hfc;

TEST_CASE("ResNet18: torchvision's parameter count, names and shapes, +708 with HFC attention") {
  auto net = resnet18<float>({.in_channels = 1, .num_classes = 7});
  CHECK(parameter_count(net) == 11173831);
  std::vector<std::string> names;
  net.for_each_parameter([&](std::string_view name, auto&) { names.emplace_back(name); });
  CHECK(names.front() == "conv1.weight");
  CHECK(names.back() == "fc.bias");
  CHECK(std::find(names.begin(), names.end(), "layer2.0.downsample.0.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "layer4.1.bn2.bias") != names.end());
  CHECK(std::find(names.begin(), names.end(), "layer1.0.downsample.0.weight") == names.end());
  std::vector<std::string> buffers;
  net.for_each_buffer([&](std::string_view name, auto&) { buffers.emplace_back(name); });
  CHECK(buffers.size() == 3 * 20);  // running_mean, running_var and num_batches_tracked of the 20 BatchNorms
  CHECK(net.conv1.weight.value.shape() == Shape{64, 1, 7, 7});
  CHECK(net.fc.weight.value.shape() == Shape{7, 512});

  auto with_hfc = resnet18<float>({.attention = Attention::hfc});
  CHECK(parameter_count(with_hfc) - parameter_count(net) == 708);
  std::vector<std::string> att;
  with_hfc.for_each_parameter([&](std::string_view name, auto&) {
    if (name.starts_with("attention.")) att.emplace_back(name);
  });
  CHECK(att == std::vector<std::string>{"attention.0.pointwise.weight", "attention.0.conv.weight",
                                        "attention.1.pointwise.weight", "attention.1.conv.weight",
                                        "attention.2.pointwise.weight", "attention.2.conv.weight",
                                        "attention.3.pointwise.weight", "attention.3.conv.weight"});
  CHECK(parameter_count(*std::make_unique<ResNet18<float>>(NetworkOptions{.attention = Attention::hfc_lfc_hl})) -
            parameter_count(net) == 708 + 4 * 2 * 49);
}

TEST_CASE("ResNet18: torchvision's init statistics (kaiming normal, fan_out) and logits' shape") {
  auto net = resnet18<float>({.in_channels = 3, .num_classes = 10});
  double s2 = 0;
  for (float v : net.layers[2].conv1.weight.value.span()) s2 += double(v) * v;
  const auto& w = net.layers[2].conv1.weight.value;  // layer2.0.conv1: 128 x 64 x 3 x 3
  CHECK(std::sqrt(s2 / double(w.numel())) == doctest::Approx(std::sqrt(2.0 / (128 * 9))).epsilon(0.03));
  for (float v : net.bn1.weight.value.span()) CHECK(v == 1.f);
  Rng rng(71);
  net.eval();
  NoGradGuard g;
  const auto logits = net.forward(init::normal<float>(Shape{2, 3, 40, 36}, 0, 1, rng));
  CHECK(logits.shape() == Shape{2, 10});
  for (float v : logits.span()) CHECK(std::isfinite(v));
  CHECK_THROWS_WITH_AS(net.forward(Tensor<float>({2, 1, 32, 32})), doctest::Contains("has 1 channels"), Error);
}

TEST_CASE("ResNet18 (reduced width) with HFC attention: end-to-end gradients by finite differences") {
  Rng rng(72);
  ResNet18<double> net({.in_channels = 1, .num_classes = 3, .attention = Attention::hfc, .hfc = {.filter = FilterFamily::gaussian}, .width = 4}, rng);
  // 64 x 64 leaves layer4 2 x 2 maps: BatchNorm over 8 values a channel. (At 32 x 32 it normalises
  // 2 values to +-1, a function so curved that finite differences cannot follow it.)
  auto x = test::random_tensor<double>(Shape{2, 1, 64, 64}, rng);
  const auto r = test::random_tensor<double>(Shape{2, 3}, rng);
  net.forward(x);
  const auto dx = net.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(net.forward(x), r); };
  // A small step keeps the perturbations from crossing ReLU and max-pool kinks.
  const double step = 1e-7;
  test::check_gradient("input", x, dx, loss, rng, 12, 1e-5, step);
  test::check_gradient("conv1.weight", net.conv1.weight.value, net.conv1.weight.grad, loss, rng, 12, 1e-5, step);
  test::check_gradient("layer2.0.downsample.0.weight", net.layers[2].down_conv->weight.value,
                       net.layers[2].down_conv->weight.grad, loss, rng, 12, 1e-5, step);
  test::check_gradient("attention.1.pointwise.weight", net.attention[1]->hfc_attention().pointwise.weight.value,
                       net.attention[1]->hfc_attention().pointwise.weight.grad, loss, rng, 12, 1e-5, step);
  test::check_gradient("attention.3.conv.weight", net.attention[3]->hfc_attention().conv.weight.value, net.attention[3]->hfc_attention().conv.weight.grad,
                       loss, rng, 12, 1e-5, step);
  test::check_gradient("layer4.1.bn2.weight", net.layers[7].bn2.weight.value, net.layers[7].bn2.weight.grad, loss, rng,
                       12, 1e-5, step);
  test::check_gradient("fc.weight", net.fc.weight.value, net.fc.weight.grad, loss, rng, 12, 1e-5, step);
}
