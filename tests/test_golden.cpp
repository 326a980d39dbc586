// Golden tests against torchvision: tests/golden/make_golden.py builds the same networks in
// PyTorch (1 input channel, 7 classes, fixed seed) and writes their float32 weights, an input
// batch, eval-mode logits and one train-mode step. We load those weights and must agree:
//   float:  eval and train logits, the loss and the BatchNorm running statistics, to 1e-4;
//   double: the same step with gradients (1e-4 at the classifier, 1e-3 deeper) and the weights
//           after one Adam step (1e-4). make_golden.py says why gradients are compared in double
//           (ReLU kinks); there both sides agree to ~1e-10, so the bounds are loose on purpose.
// Relative error is max |ours - theirs| / max(max |theirs|, floor) over the tensor. The floor
// (1e-3 for buffers and weights, 1e-8 for gradients) covers tensors that are zero in exact
// arithmetic and hold only rounding noise: the mean of a 1x1 conv of a BatchNorm output, the
// gradient of a BatchNorm bias whose shift the next train-mode BatchNorm removes.
#include <filesystem>
#include <iostream>

#include "support.hpp"

using namespace hfc;

#ifndef HFC_GOLDEN_DIR
#error "HFC_GOLDEN_DIR must name the folder make_golden.py writes"
#endif

namespace {

std::filesystem::path golden_file(const std::string& variant, const char* kind) {
  return std::filesystem::path(HFC_GOLDEN_DIR) / (variant + "." + kind + ".safetensors");
}

bool is_classifier(std::string_view name) { return name.starts_with("fc.") || name.starts_with("classifier."); }

template <class Net>
void train_mode(Net& net) {
  net.train();
  if constexpr (requires { net.dropout; }) net.dropout.eval();  // its mask is random in both frameworks
}

// Every buffer against `prefix`<name>; returns how many were compared.
template <class Net>
int check_buffers(Net& net, const SafetensorsFile& golden, const std::string& prefix) {
  int compared = 0;
  net.for_each_buffer([&](std::string_view name, auto& b) {
    using E = typename std::remove_cvref_t<decltype(b)>::value_type;
    INFO("buffer ", name, " after the step");
    const auto theirs = golden.tensor<E>(prefix + std::string(name));
    if constexpr (std::is_integral_v<E>) CHECK(b.data()[0] == theirs.data()[0]);
    else CHECK(test::max_rel_error(b, theirs, 1e-3) < 1e-4);
    ++compared;
  });
  return compared;
}

template <template <class, class> class Net>
void check_against_pytorch(const std::string& variant, const NetworkOptions& options) {
  if (!std::filesystem::exists(golden_file(variant, "golden"))) {
    std::cout << "SKIPPED: no golden files in " << HFC_GOLDEN_DIR
              << " (ctest runs tests/golden/make_golden.py first; it needs python3-torch and python3-torchvision)\n";
    return;
  }
  INFO("variant ", variant);
  const auto weights = read_safetensors(golden_file(variant, "weights"));
  const auto golden = read_safetensors(golden_file(variant, "golden"));
  const auto names = golden.names();
  const auto buffer_count = std::count_if(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("after."); });

  {  // float
    auto net = std::make_unique<Net<float, cpu>>(options);
    CHECK(load_safetensors(*net, weights).complete());  // strict: every key and shape matches
    const auto x = golden.tensor<float>("input");
    net->eval();
    NoGradGuard no_grad;
    CHECK(test::max_rel_error(net->forward(x), golden.tensor<float>("eval.logits")) < 1e-4);
    train_mode(*net);
    const auto logits = net->forward(x);
    CHECK(test::max_rel_error(logits, golden.tensor<float>("train.logits")) < 1e-4);
    CHECK(double(cross_entropy(logits, golden.tensor<std::int64_t>("labels")).loss) ==
          doctest::Approx(golden.values<float>("train.loss")[0]).epsilon(1e-5));
    CHECK(check_buffers(*net, golden, "after.") == buffer_count);
  }

  // double: one training step
  auto net = std::make_unique<Net<double, cpu>>(options);
  load_safetensors(*net, weights);
  train_mode(*net);
  const auto logits = net->forward(golden.tensor<double>("input"));
  CHECK(test::max_rel_error(logits, golden.tensor<double>("double.train.logits")) < 1e-4);
  const auto ce = cross_entropy(logits, golden.tensor<std::int64_t>("labels"));
  CHECK(ce.loss == doctest::Approx(golden.values<double>("double.train.loss")[0]).epsilon(1e-6));
  zero_grad(*net);
  net->backward(ce.grad);
  int compared = 0;
  net->for_each_parameter([&](std::string_view name, Parameter<double>& p) {
    const std::string key = "double.grad." + std::string(name);
    if (!golden.contains(key)) return;
    INFO("gradient of ", name);
    CHECK(test::max_rel_error(p.grad, golden.tensor<double>(key), 1e-8) < (is_classifier(name) ? 1e-4 : 1e-3));
    ++compared;
  });
  CHECK(compared >= 40);
  CHECK(check_buffers(*net, golden, "double.after.") == buffer_count);

  Adam<double> adam(parameters(*net), {.lr = 1e-3});
  adam.step();
  net->for_each_parameter([&](std::string_view name, Parameter<double>& p) {
    const std::string key = "double.adam." + std::string(name);
    if (!golden.contains(key)) return;
    INFO("weights after Adam: ", name);
    CHECK(test::max_rel_error(p.value, golden.tensor<double>(key), 1e-3) < 1e-4);
  });
}

}  // namespace

TEST_CASE("golden: ResNet18 matches torchvision") {
  check_against_pytorch<ResNet18>("resnet18", {});
}
TEST_CASE("golden: ResNet18 + HFC matches the PyTorch module") {
  check_against_pytorch<ResNet18>("resnet18_hfc", {.attention = Attention::hfc});
}
TEST_CASE("golden: ResNet18 + BAM (authors' code) matches the PyTorch module") {
  check_against_pytorch<ResNet18>("resnet18_bam_official", {.attention = Attention::bam_official});
}
TEST_CASE("golden: MobileNetV2 matches torchvision") {
  check_against_pytorch<MobileNetV2>("mobilenet_v2", {});
}
TEST_CASE("golden: MobileNetV2 + HFC matches the PyTorch module") {
  check_against_pytorch<MobileNetV2>("mobilenet_v2_hfc", {.attention = Attention::hfc});
}
TEST_CASE("golden: MobileNetV2 + BAM (paper preset) matches the PyTorch module") {
  check_against_pytorch<MobileNetV2>("mobilenet_v2_bam_paper", {.attention = Attention::bam_paper});
}
