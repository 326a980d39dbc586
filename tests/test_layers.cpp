#include <limits>

#include "support.hpp"

using namespace hfc;

TEST_CASE("ReLU and ReLU6 clamp, and pass gradients only strictly inside the range") {
  Rng rng(51);
  auto x = test::random_tensor<double>(Shape{2, 3, 4, 5}, rng, -8, 8);
  x(0, 0, 0, 0) = 0.0;
  x(0, 0, 0, 1) = 6.0;
  ReLU<double> relu;
  ReLU6<double> relu6;
  const auto y = relu.forward(x), y6 = relu6.forward(x);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    CHECK(y.data()[i] == std::max(x.data()[i], 0.0));
    CHECK(y6.data()[i] == std::min(std::max(x.data()[i], 0.0), 6.0));
  }
  const auto dy = test::random_tensor<double>(x.shape(), rng);
  const auto dx = relu.backward(dy), dx6 = relu6.backward(dy);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data()[i];
    CHECK(dx.data()[i] == (v > 0 ? dy.data()[i] : 0.0));
    CHECK(dx6.data()[i] == (v > 0 && v < 6 ? dy.data()[i] : 0.0));
  }
  CHECK_THROWS_WITH_AS(relu.backward(dy), doctest::Contains("without a forward pass"), Error);
}

namespace {
// BatchNorm2d by its definition in double: batch statistics with the biased variance.
Tensor<double> reference_batch_norm(const Tensor<double>& x, const Tensor<double>& gamma, const Tensor<double>& beta,
                                    std::vector<double>& mean, std::vector<double>& var) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  Tensor<double> y(x.shape());
  mean.assign(std::size_t(c), 0);
  var.assign(std::size_t(c), 0);
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double s = 0, s2 = 0;
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) s += x(b, ch, i, j);
    const double m = s / double(n * h * w);
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) s2 += (x(b, ch, i, j) - m) * (x(b, ch, i, j) - m);
    const double v = s2 / double(n * h * w);
    mean[std::size_t(ch)] = m;
    var[std::size_t(ch)] = v;
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j)
          y(b, ch, i, j) = (x(b, ch, i, j) - m) / std::sqrt(v + 1e-5) * gamma(ch) + beta(ch);
  }
  return y;
}
}  // namespace

// The cpu backend takes planes of up to 64 values a channel share at a time (backend/cpu/batch_norm.hpp),
// larger ones a (sample, channel) plane at a time: the BatchNorm cases run one plane of each kind.
constexpr std::pair<std::int64_t, std::int64_t> kBatchNormPlanes[] = {{5, 2}, {9, 8}};

TEST_CASE("BatchNorm2d training: batch statistics, PyTorch's running-stat update and counter") {
  for (const auto& [h, w] : kBatchNormPlanes) {
    INFO("plane ", h, " x ", w);
    Rng rng(52);
    BatchNorm2d<double> bn(3);
    bn.weight.value = test::random_tensor<double>(Shape{3}, rng, 0.5, 1.5);
    bn.bias.value = test::random_tensor<double>(Shape{3}, rng);
    const auto x = test::random_tensor<double>(Shape{4, 3, h, w}, rng, -2, 5);
    std::vector<double> mean, var;
    const auto ref = reference_batch_norm(x, bn.weight.value, bn.bias.value, mean, var);
    CHECK(test::max_rel_error(bn.forward(x), ref) < 1e-12);
    const double unbiased = double(4 * h * w) / double(4 * h * w - 1);
    for (std::int64_t c = 0; c < 3; ++c) {
      CHECK(bn.running_mean(c) == doctest::Approx(0.1 * mean[std::size_t(c)]).epsilon(1e-12));
      CHECK(bn.running_var(c) == doctest::Approx(0.9 + 0.1 * var[std::size_t(c)] * unbiased).epsilon(1e-12));
    }
    CHECK(bn.num_batches_tracked.data()[0] == 1);
    std::vector<std::string> buffers;
    bn.for_each_buffer([&](std::string_view name, auto&) { buffers.emplace_back(name); });
    CHECK(buffers == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(parameter_count(bn) == 6);
  }
}

TEST_CASE("BatchNorm2d eval uses the running statistics and leaves them alone") {
  Rng rng(53);
  BatchNorm2d<double> bn(2);
  bn.running_mean = test::random_tensor<double>(Shape{2}, rng);
  bn.running_var = test::random_tensor<double>(Shape{2}, rng, 0.5, 2.0);
  bn.eval();
  for (const auto& [h, w] : kBatchNormPlanes) {
    const auto x = test::random_tensor<double>(Shape{2, 2, h, w}, rng);
    const auto y = bn.forward(x);
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t i = 0; i < h; ++i)
          CHECK(y(b, c, i, 1) ==
                doctest::Approx((x(b, c, i, 1) - bn.running_mean(c)) / std::sqrt(bn.running_var(c) + 1e-5)));
  }
  CHECK(bn.num_batches_tracked.data()[0] == 0);
  // A single value per channel is fine in eval, an error in training (as in PyTorch).
  CHECK_NOTHROW(bn.forward(test::random_tensor<double>(Shape{1, 2, 1, 1}, rng)));
  bn.train();
  CHECK_THROWS_WITH_AS(bn.forward(test::random_tensor<double>(Shape{1, 2, 1, 1}, rng)),
                       doctest::Contains("more than 1 value per channel"), Error);
  CHECK_THROWS_WITH_AS(bn.forward(Tensor<double>({2, 3, 2, 2})), doctest::Contains("has 3 channels"), Error);
}

TEST_CASE("BatchNorm2d gradients match finite differences in training and eval modes") {
  for (const auto& [h, w] : kBatchNormPlanes)
  for (bool training : {true, false}) {
    INFO("training = ", training, ", plane ", h, " x ", w);
    Rng rng(54);
    BatchNorm2d<double> bn(3);
    bn.weight.value = test::random_tensor<double>(Shape{3}, rng, 0.5, 1.5);
    bn.bias.value = test::random_tensor<double>(Shape{3}, rng);
    bn.running_var = test::random_tensor<double>(Shape{3}, rng, 0.5, 2.0);
    bn.train(training);
    auto x = test::random_tensor<double>(Shape{3, 3, h, w}, rng);
    const auto r = test::random_tensor<double>(x.shape(), rng);
    bn.forward(x);
    const auto dx = bn.backward(r);
    // In training the re-runs move the running statistics, which the output does not read.
    auto loss = [&] { NoGradGuard g; return test::dot(bn.forward(x), r); };
    test::check_gradient("x", x, dx, loss, rng, 30, 1e-6);
    test::check_gradient("weight", bn.weight.value, bn.weight.grad, loss, rng);
    test::check_gradient("bias", bn.bias.value, bn.bias.grad, loss, rng);
  }
}

TEST_CASE("BatchNorm2d with a fused ReLU or ReLU6 is BatchNorm2d then the activation: output and every gradient") {
  for (const auto& [h, w] : kBatchNormPlanes)
    for (const auto activation : {BatchNormActivation::relu, BatchNormActivation::relu6})
      for (const bool training : {true, false}) {
        const bool relu6 = activation == BatchNormActivation::relu6;
        INFO("relu6 = ", relu6, ", training = ", training, ", plane ", h, " x ", w);
        Rng rng(56);
        BatchNorm2d<double> fused(3, activation), plain(3);
        // x-hat reaches about +-1.7 in training, so every channel's outputs pass both of ReLU6's bounds.
        plain.weight.value = fused.weight.value = test::random_tensor<double>(Shape{3}, rng, 4, 6);
        plain.bias.value = fused.bias.value = test::random_tensor<double>(Shape{3}, rng, 1, 4);
        plain.running_var = fused.running_var = test::random_tensor<double>(Shape{3}, rng, 0.5, 2.0);
        fused.train(training), plain.train(training);
        ReLU<double> relu;
        ReLU6<double> relu_6;
        const auto x = test::random_tensor<double>(Shape{4, 3, h, w}, rng, -2, 3);
        const auto y = fused.forward(x);
        const auto expected = relu6 ? relu_6.forward(plain.forward(x)) : relu.forward(plain.forward(x));
        CHECK(test::max_rel_error(y, expected) == 0.0);
        std::int64_t at_zero = 0, at_six = 0;
        for (const double v : y.span()) at_zero += v == 0.0, at_six += v == 6.0;
        CHECK(at_zero > 10);
        if (relu6) CHECK(at_six > 10);
        const auto dy = test::random_tensor<double>(x.shape(), rng);
        const auto dx = fused.backward(dy);
        const auto dx_expected = plain.backward(relu6 ? relu_6.backward(dy) : relu.backward(dy));
        CHECK(test::max_rel_error(dx, dx_expected) < 1e-12);
        CHECK(test::max_rel_error(fused.weight.grad, plain.weight.grad) < 1e-12);
        CHECK(test::max_rel_error(fused.bias.grad, plain.bias.grad) < 1e-12);
        CHECK(fused.activation() == activation);
      }
}

TEST_CASE("Linear: y = x W^T + b with PyTorch's init bounds, gradients by finite differences") {
  Rng rng(55);
  Linear<double> fc(6, 4, true, rng);
  for (double v : fc.weight.value.span()) CHECK(std::abs(v) <= 1 / std::sqrt(6.0));
  for (double v : fc.bias.value.span()) CHECK(std::abs(v) <= 1 / std::sqrt(6.0));
  auto x = test::random_tensor<double>(Shape{5, 6}, rng);
  const auto y = fc.forward(x);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t o = 0; o < 4; ++o) {
      double s = fc.bias.value(o);
      for (std::int64_t k = 0; k < 6; ++k) s += x(i, k) * fc.weight.value(o, k);
      CHECK(y(i, o) == doctest::Approx(s).epsilon(1e-13));
    }
  const auto r = test::random_tensor<double>(y.shape(), rng);
  const auto dx = fc.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(fc.forward(x), r); };
  test::check_gradient("x", x, dx, loss, rng);
  test::check_gradient("weight", fc.weight.value, fc.weight.grad, loss, rng);
  test::check_gradient("bias", fc.bias.value, fc.bias.grad, loss, rng);
  CHECK_THROWS_WITH_AS(fc.forward(Tensor<double>({5, 7})), doctest::Contains("has 7 features"), Error);
  CHECK_THROWS_WITH_AS(fc.forward(Tensor<double>({5, 6, 1})), doctest::Contains("rank 2"), Error);
}

// ResNet18's pool runs separably (rows, then columns) on planes without NaN: the same values and
// the same first maximum in row-major order as a window-at-a-time reference, at odd and even
// sizes, with many ties and with -inf.
TEST_CASE("MaxPool2d(3, 2, 1), float: ties and -inf at odd and even sizes go to the first maximum") {
  Rng rng(57);
  const float inf = std::numeric_limits<float>::infinity();
  for (std::int64_t h : {1, 2, 3, 6, 7, 112})
    for (std::int64_t w : {1, 2, 5, 8, 9, 112}) {
      INFO(h, "x", w);
      auto x = Tensor<float>::empty(Shape{1, 2, h, w});
      auto ints = test::random_tensor<double>(x.shape(), rng);
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        const int level = int(std::floor(std::abs(ints.data()[i]) * 2));  // small integers: ties everywhere
        x.data()[i] = level == 3 ? -inf : float(level);
      }
      MaxPool2d<float> pool;
      const auto y = pool.forward(x);
      auto dy = Tensor<float>::empty(y.shape());
      for (std::int64_t i = 0; i < dy.numel(); ++i) dy.data()[i] = float(i + 1);
      const auto dx = pool.backward(dy);
      std::vector<float> expected(std::size_t(x.numel()), 0.0f);
      const std::int64_t oh = y.size(2), ow = y.size(3);
      bool values_match = true;
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t oy = 0; oy < oh; ++oy)
          for (std::int64_t ox = 0; ox < ow; ++ox) {
            std::int64_t at = -1;
            for (std::int64_t i = oy * 2 - 1; i <= oy * 2 + 1; ++i)
              for (std::int64_t j = ox * 2 - 1; j <= ox * 2 + 1; ++j)
                if (i >= 0 && i < h && j >= 0 && j < w && (at < 0 || x(0, c, i, j) > x.data()[c * h * w + at]))
                  at = i * w + j;
            values_match = values_match && y(0, c, oy, ox) == x.data()[c * h * w + at];
            expected[std::size_t(c * h * w + at)] += dy(0, c, oy, ox);
          }
      CHECK(values_match);
      bool gradient_match = true;
      for (std::int64_t i = 0; i < x.numel(); ++i) gradient_match = gradient_match && dx.data()[i] == expected[std::size_t(i)];
      CHECK(gradient_match);
    }
}

TEST_CASE("MaxPool2d(3, 2, 1) matches the direct definition, with gradients to the first maximum") {
  Rng rng(56);
  MaxPool2d<double> pool;
  auto x = test::random_tensor<double>(Shape{2, 2, 7, 6}, rng);
  x(0, 0, 0, 0) = x(0, 0, 0, 1) = 5.0;  // a tie: the first in row-major order takes the gradient
  const auto y = pool.forward(x);
  REQUIRE(y.shape() == Shape{2, 2, 4, 3});
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t oy = 0; oy < 4; ++oy)
        for (std::int64_t ox = 0; ox < 3; ++ox) {
          double best = -1e300;
          for (std::int64_t i = oy * 2 - 1; i <= oy * 2 + 1; ++i)
            for (std::int64_t j = ox * 2 - 1; j <= ox * 2 + 1; ++j)
              if (i >= 0 && i < 7 && j >= 0 && j < 6) best = std::max(best, x(b, c, i, j));
          CHECK(y(b, c, oy, ox) == best);
        }
  Tensor<double> dy = Tensor<double>::full(y.shape(), 1.0);
  const auto dx = pool.backward(dy);
  // Window (0, 0) holds both 5s and gives its gradient to the first; (0, 1) holds only the second.
  CHECK(dx(0, 0, 0, 0) == 1.0);
  CHECK(dx(0, 0, 0, 1) == 1.0);
  double total = 0;
  for (double v : dx.span()) total += v;
  CHECK(total == doctest::Approx(double(y.numel())));
  // Away from ties the gradient is the derivative.
  auto z = test::random_tensor<double>(Shape{1, 2, 5, 5}, rng);
  const auto r = test::random_tensor<double>(Shape{1, 2, 3, 3}, rng);
  pool.forward(z);
  const auto dz = pool.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(pool.forward(z), r); };
  test::check_gradient("x", z, dz, loss, rng, 50, 1e-6, 1e-7);
  CHECK_THROWS_WITH_AS(MaxPool2d<double>({.kernel = 3, .stride = 2, .padding = 2}).forward(z),
                       doctest::Contains("at most half the kernel"), Error);
  // NaN wins every window it is in, as in PyTorch: (3, 3) is in windows (1..2, 1..2) only.
  auto with_nan = x.clone();
  with_nan(1, 1, 3, 3) = std::numeric_limits<double>::quiet_NaN();
  NoGradGuard no_grad;
  const auto yn = pool.forward(with_nan);
  for (std::int64_t oy = 0; oy < 4; ++oy)
    for (std::int64_t ox = 0; ox < 3; ++ox)
      CHECK(std::isnan(yn(1, 1, oy, ox)) == (oy >= 1 && oy <= 2 && ox >= 1 && ox <= 2));
}

TEST_CASE("AdaptiveAvgPool2d(1) and Flatten: means of planes, and their gradients") {
  Rng rng(57);
  AdaptiveAvgPool2d<double> gap;
  Flatten<double> flat;
  auto x = test::random_tensor<double>(Shape{3, 4, 5, 6}, rng);
  const auto y = flat.forward(gap.forward(x));
  REQUIRE(y.shape() == Shape{3, 4});
  double s = 0;
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 6; ++j) s += x(2, 1, i, j);
  CHECK(y(2, 1) == doctest::Approx(s / 30));
  const auto r = test::random_tensor<double>(y.shape(), rng);
  const auto dx = gap.backward(flat.backward(r));
  auto loss = [&] { NoGradGuard g; return test::dot(flat.forward(gap.forward(x)), r); };
  test::check_gradient("x", x, dx, loss, rng);
}

TEST_CASE("Dropout: scaled Bernoulli mask in training, identity in eval, the same mask in backward") {
  Rng rng(58);
  Dropout<double> drop(0.25, rng);
  const auto x = Tensor<double>::full(Shape{100, 100}, 1.0);
  const auto y = drop.forward(x);
  std::int64_t kept = 0;
  for (double v : y.span()) {
    CHECK((v == 0.0 || v == doctest::Approx(1 / 0.75)));
    kept += v != 0.0;
  }
  CHECK(std::abs(double(kept) / 1e4 - 0.75) < 0.02);
  const auto dx = drop.backward(Tensor<double>::full(x.shape(), 2.0));
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(dx.data()[i] == 2.0 * y.data()[i]);
  drop.eval();
  CHECK(drop.forward(x).shares_storage_with(x));
  CHECK_THROWS_AS(Dropout<double>(1.5), Error);
}
