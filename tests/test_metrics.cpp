#include "support.hpp"

using namespace hfc;

TEST_CASE("ConfusionMatrix: counts, per-class and overall accuracy by hand") {
  // Logits whose argmax gives the predictions 0 0 1 2 2 2 1 (the tie in row 3 goes to class 1).
  const auto logits = Tensor<float>::from(Shape{7, 3}, std::vector<float>{
      5, 1, 0,  2, 1, 1,  0, 3, 1,  0, 1, 4,  1, 1, 2,  0, 0, 1,  0, 2, 2});
  const auto labels = Tensor<std::int64_t>::from(Shape{7}, std::vector<std::int64_t>{0, 0, 0, 1, 2, 2, 2});
  CHECK(argmax_rows(logits) == std::vector<std::int64_t>{0, 0, 1, 2, 2, 2, 1});
  ConfusionMatrix m(3);
  m.add(logits, labels);
  // class 0: 2 of 3 right (one as 1); class 1: 0 of 1 (as 2); class 2: 2 of 3 (one as 1).
  CHECK(m.count(0, 0) == 2);
  CHECK(m.count(0, 1) == 1);
  CHECK(m.count(1, 2) == 1);
  CHECK(m.count(2, 1) == 1);
  CHECK(m.count(2, 2) == 2);
  CHECK(m.total() == 7);
  CHECK(m.correct() == 4);
  CHECK(m.accuracy() == doctest::Approx(4.0 / 7));
  CHECK(m.class_accuracy(0) == doctest::Approx(2.0 / 3));
  CHECK(m.class_accuracy(1) == 0.0);
  CHECK(m.mean_class_accuracy() == doctest::Approx((2.0 / 3 + 0 + 2.0 / 3) / 3));

  ConfusionMatrix absent(3);  // a class without samples is left out of the mean
  absent.add(0, 0), absent.add(1, 0);
  CHECK(std::isnan(absent.class_accuracy(2)));
  CHECK(absent.mean_class_accuracy() == doctest::Approx(0.5));
  CHECK(std::isnan(ConfusionMatrix(2).accuracy()));
  CHECK_THROWS_WITH_AS(m.add(3, 0), doctest::Contains("outside 0..2"), Error);
}

TEST_CASE("softmax_rows: exp over the row's sum, stable for huge logits") {
  const auto logits = Tensor<double>::from(Shape{2, 3}, std::vector<double>{0, std::log(2.0), std::log(5.0), 1000, 1000, 0});
  const auto p = softmax_rows(logits);
  CHECK(p(0, 0) == doctest::Approx(1.0 / 8));
  CHECK(p(0, 1) == doctest::Approx(2.0 / 8));
  CHECK(p(0, 2) == doctest::Approx(5.0 / 8));
  CHECK(p(1, 0) == doctest::Approx(0.5));
  CHECK(p(1, 2) == doctest::Approx(0.0));
}

TEST_CASE("grad_cam_map: relu of the gradient-weighted channel sum, by hand") {
  // Two channels of 2 x 2. alpha = mean gradient: channel 0 -> 1, channel 1 -> -0.5.
  const auto a = Tensor<double>::from(Shape{1, 2, 2, 2}, std::vector<double>{1, 2, 3, 4, 2, 2, 10, 0});
  const auto g = Tensor<double>::from(Shape{1, 2, 2, 2}, std::vector<double>{1, 1, 2, 0, -1, 0, -1, 0});
  const auto cam = grad_cam_map(a, g);
  REQUIRE(cam.shape() == Shape{1, 1, 2, 2});
  // 1*A0 - 0.5*A1 = {0, 1, -2, 4}, then relu.
  CHECK(cam.to_vector() == std::vector<double>{0, 1, 0, 4});
}

namespace {
// forward == head(features), and backward == backward_features(backward_head(.)): same logits,
// same input gradient, same parameter gradients.
template <class Net>
void check_feature_split(Net& net, const Tensor<double>& x, const Tensor<double>& r) {
  const auto logits = net.forward(x);
  const auto dx = net.backward(r);
  std::vector<Tensor<double>> grads;
  net.for_each_parameter([&](std::string_view, auto& p) { grads.push_back(p.grad.clone()); });
  zero_grad(net);
  const auto features = net.forward_features(x);
  CHECK(test::max_rel_error(net.forward_head(features), logits) == 0.0);
  const auto dx_split = net.backward_features(net.backward_head(r));
  CHECK(test::max_rel_error(dx_split, dx) == 0.0);
  std::size_t k = 0;
  net.for_each_parameter([&](std::string_view name, auto& p) {
    INFO(name);
    CHECK(test::max_rel_error(p.grad, grads[k++]) == 0.0);
  });
}
}  // namespace

TEST_CASE("ResNet18 and MobileNetV2: forward is the head over forward_features, backward agrees") {
  Rng rng(81);
  ResNet18<double> resnet({.num_classes = 5, .attention = Attention::hfc, .width = 4}, rng);
  check_feature_split(resnet, test::random_tensor<double>(Shape{2, 1, 64, 64}, rng),
                      test::random_tensor<double>(Shape{2, 5}, rng));
  MobileNetV2<double> mobilenet({.num_classes = 3, .attention = Attention::hfc}, rng);
  mobilenet.eval();  // dropout draws its mask from the rng: eval makes both passes alike
  check_feature_split(mobilenet, test::random_tensor<double>(Shape{2, 1, 32, 32}, rng),
                      test::random_tensor<double>(Shape{2, 3}, rng));
}

TEST_CASE("grad_cam on ResNet18: alpha_c is fc.weight[class, c] / (h w), the head being linear") {
  Rng rng(82);
  ResNet18<double> net({.num_classes = 4, .attention = Attention::hfc, .width = 4}, rng);
  net.eval();
  const auto x = test::random_tensor<double>(Shape{2, 1, 64, 64}, rng);
  const auto result = grad_cam(net, x, {2, -1});
  Tensor<double> features;
  {
    NoGradGuard g;
    features = net.forward_features(x);
    CHECK(test::max_rel_error(result.logits, net.forward(x)) < 1e-12);
  }
  const std::int64_t c = features.size(1), h = features.size(2), w = features.size(3);
  REQUIRE(result.cam.shape() == Shape{2, 1, h, w});
  CHECK(result.classes[0] == 2);
  CHECK(result.classes[1] == argmax_rows(result.logits)[1]);
  double largest = 0;
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t xx = 0; xx < w; ++xx) {
        double s = 0;
        for (std::int64_t k = 0; k < c; ++k)
          s += net.fc.weight.value(result.classes[std::size_t(i)], k) / double(h * w) * features(i, k, y, xx);
        CHECK(result.cam(i, 0, y, xx) == doctest::Approx(std::max(s, 0.0)).epsilon(1e-12));
        largest = std::max(largest, s);
      }
  CHECK(largest > 0);  // the map is not trivially zero
}
