#include <Eigen/Dense>

#include "support.hpp"

using namespace hfc;

namespace {

// The module by the paper's equations, in double, from naive loops, the direct DFT and
// Eigen's JacobiSVD: an implementation that shares no code path with HfcAttention.
Tensor<double> reference_forward(const Tensor<double>& x, const Tensor<double>& pointwise_w,
                                 const Tensor<double>& conv_w, const HfcOptions& o,
                                 const std::vector<std::pair<int, int>>& pairs) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), k = std::min(h, w);
  const auto P = static_cast<std::int64_t>(pairs.size());
  Tensor<double> y(x.shape());
  for (std::int64_t b = 0; b < n; ++b) {
    std::vector<double> xt(std::size_t(h * w), 0.0);
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t p = 0; p < h * w; ++p) xt[std::size_t(p)] += pointwise_w(0, ch, 0, 0) * x.data()[(b * c + ch) * h * w + p];
    std::vector<std::vector<double>> maps = {
        xt, std::visit([&](const auto& f) { return test::filter_by_direct_dft(xt.data(), h, w, f); }, o.high_pass()),
        std::visit([&](const auto& f) { return test::filter_by_direct_dft(xt.data(), h, w, f); }, o.low_pass())};
    std::vector<Eigen::VectorXd> sigma;
    for (const auto& m : maps) {
      const Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> A(m.data(), h, w);
      sigma.push_back(Eigen::JacobiSVD<Eigen::MatrixXd>(A).singularValues());
    }
    // M[p][i][j] = sigma_q[i] sigma_k[j], zero-padded; then the 7x7 conv (padding 3) and sigmoid.
    auto corr = [&](std::int64_t p, std::int64_t i, std::int64_t j) {
      if (i < 0 || j < 0 || i >= h || j >= w || i >= k || j >= k) return 0.0;
      return sigma[std::size_t(pairs[std::size_t(p)].first)](i) * sigma[std::size_t(pairs[std::size_t(p)].second)](j);
    };
    for (std::int64_t i = 0; i < h; ++i)
      for (std::int64_t j = 0; j < w; ++j) {
        double z = 0;
        for (std::int64_t p = 0; p < P; ++p)
          for (std::int64_t u = 0; u < 7; ++u)
            for (std::int64_t v = 0; v < 7; ++v) z += conv_w(0, p, u, v) * corr(p, i + u - 3, j + v - 3);
        const double a = 1 / (1 + std::exp(-z));
        for (std::int64_t ch = 0; ch < c; ++ch) y(b, ch, i, j) = a * x(b, ch, i, j);
      }
  }
  return y;
}

std::vector<std::pair<int, int>> as_ints(const std::vector<HfcAttention<double>::Pair>& pairs) {
  std::vector<std::pair<int, int>> out;
  for (auto [q, k] : pairs) out.emplace_back(int(q), int(k));
  return out;
}

const QuerySet kAllQuerySets[] = {QuerySet::hfc, QuerySet::lfc, QuerySet::hfc_lfc, QuerySet::hfc_lfc_hl};

// Finite-difference check of dL/dx and both weight gradients for L = <att(x), r>, r random.
void check_module_gradients(HfcAttention<double>& att, const Shape& shape, Rng& rng) {
  auto x = test::random_tensor<double>(shape, rng);
  const auto r = test::random_tensor<double>(x.shape(), rng);
  att.forward(x);
  const auto dx = att.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(att.forward(x), r); };
  test::check_gradient("x", x, dx, loss, rng, 24, 1e-6);
  test::check_gradient("pointwise.weight", att.pointwise.weight.value, att.pointwise.weight.grad, loss, rng, 24, 1e-6);
  test::check_gradient("conv.weight", att.conv.weight.value, att.conv.weight.grad, loss, rng, 24, 1e-6);
}

}  // namespace

TEST_CASE("HfcAttention has C + 49 parameters per pair, with torchvision-style names") {
  for (std::int64_t c : {1, 16, 64, 256}) {
    HfcAttention<float> att(c);
    CHECK(parameter_count(att) == c + 49);
  }
  // The paper's counts: +708 on ResNet18 (64, 64, 128, 256) and +767 on MobileNetV2.
  std::int64_t resnet = 0, mobilenet = 0;
  for (std::int64_t c : {64, 64, 128, 256}) resnet += HfcAttention<float>(c).pointwise.weight.value.numel() + 49;
  for (std::int64_t c : {32, 16, 24, 32, 64, 96, 160}) mobilenet += parameter_count(*std::make_unique<HfcAttention<float>>(c));
  CHECK(resnet == 708);
  CHECK(mobilenet == 767);
  HfcAttention<float> three(64, {.queries = QuerySet::hfc_lfc_hl});
  CHECK(parameter_count(three) == 64 + 3 * 49);
  CHECK(parameter_count(*std::make_unique<HfcAttention<float>>(64, HfcOptions{.queries = QuerySet::hfc_lfc})) == 64 + 2 * 49);
  std::vector<std::string> names;
  three.for_each_parameter([&](std::string_view name, auto& p) {
    names.emplace_back(name);
    CHECK(p.grad.shape() == p.value.shape());
  });
  CHECK(names == std::vector<std::string>{"pointwise.weight", "conv.weight"});
  CHECK(three.conv.weight.value.shape() == Shape{1, 3, 7, 7});
  CHECK(three.pointwise.weight.value.shape() == Shape{1, 64, 1, 1});
}

TEST_CASE("HfcAttention forward matches the paper's equations computed independently") {
  struct Shape4 { std::int64_t n, c, h, w; };
  const HfcOptions filters[] = {{}, {.filter = FilterFamily::gaussian, .cutoff = 0.4}, {.filter = FilterFamily::butterworth, .cutoff = 0.3, .order = 3}};
  Rng rng(41);
  for (auto s : {Shape4{2, 3, 9, 11}, Shape4{1, 4, 8, 8}, Shape4{2, 2, 5, 4}, Shape4{1, 2, 12, 6}})
    for (auto queries : kAllQuerySets)
      for (auto o : filters) {
        o.queries = queries;
        INFO("shape ", s.n, "x", s.c, "x", s.h, "x", s.w, " queries ", int(queries), " filter ", int(o.filter));
        HfcAttention<double> att(s.c, o, rng);
        const auto x = test::random_tensor<double>(Shape{s.n, s.c, s.h, s.w}, rng);
        const auto ref = reference_forward(x, att.pointwise.weight.value, att.conv.weight.value, o, as_ints(att.pairs()));
        CHECK(test::max_rel_error(att.forward(x), ref) < 1e-10);
        HfcAttention<float> attf(s.c, o);
        attf.pointwise.weight.value = test::cast<float>(att.pointwise.weight.value);
        attf.conv.weight.value = test::cast<float>(att.conv.weight.value);
        CHECK(test::max_rel_error(attf.forward(test::cast<float>(x)), ref) < 2e-5);
      }
}

TEST_CASE("HfcAttention gradients match finite differences (double), for input and both weights") {
  struct Shape4 { std::int64_t n, c, h, w; };
  Rng rng(42);
  for (auto s : {Shape4{2, 3, 9, 11}, Shape4{1, 4, 8, 8}, Shape4{2, 2, 5, 4}})
    for (auto queries : kAllQuerySets) {
      INFO("shape ", s.n, "x", s.c, "x", s.h, "x", s.w, " queries ", int(queries));
      // The Gaussian family keeps every map full rank, where singular values are differentiable.
      HfcAttention<double> att(s.c, {.filter = FilterFamily::gaussian, .cutoff = 0.3, .queries = queries}, rng);
      check_module_gradients(att, Shape{s.n, s.c, s.h, s.w}, rng);
    }
}

TEST_CASE("HfcAttention with the ideal filter: gradients where the filtered maps stay full rank") {
  Rng rng(43);
  HfcAttention<double> att(3, {}, rng);
  check_module_gradients(att, Shape{2, 3, 10, 12}, rng);
}

// 8 x 48 x 120 x 100 floats: dy and x (37 MB together) exceed the cache, so the cpu backward takes
// the batch a few samples at a time (gated_projection_backward with a map gradient); each sample
// alone (4.6 MB) goes through whole. Every map and pair in use, H != W.
TEST_CASE("HfcAttention: a batch backward in pieces gives each sample's gradients, as the sample alone does") {
  Rng rng(45);
  const Shape shape{8, 48, 120, 100};
  HfcAttention<float> att(shape[1], {.filter = FilterFamily::gaussian, .queries = QuerySet::hfc_lfc_hl}, rng);
  const auto x = init::normal<float>(shape, 0, 1, rng), dy = init::normal<float>(shape, 0, 1, rng);
  att.forward(x);
  const auto dx = att.backward(dy);
  const auto pointwise_grad = att.pointwise.weight.grad.clone(), conv_grad = att.conv.weight.grad.clone();

  att.pointwise.weight.grad.fill(0.0f);
  att.conv.weight.grad.fill(0.0f);
  double dx_err = 0;
  for (std::int64_t b = 0; b < shape[0]; ++b) {
    att.forward(x.narrow(b, 1));
    dx_err = std::max(dx_err, test::max_rel_error(att.backward(dy.narrow(b, 1)), dx.narrow(b, 1)));
  }
  CHECK(dx_err < 1e-5);
  CHECK(test::max_rel_error(att.pointwise.weight.grad, pointwise_grad) < 1e-4);
  CHECK(test::max_rel_error(att.conv.weight.grad, conv_grad) < 1e-4);
}

TEST_CASE("HfcAttention: inference without gradient recording gives the same output and keeps nothing") {
  Rng rng(44);
  HfcAttention<float> att(8, {}, rng);
  const auto x = init::normal<float>(Shape{2, 8, 14, 14}, 0, 1, rng);
  const auto y = att.forward(x);
  att.eval();
  Tensor<float> y2;
  {
    NoGradGuard guard;
    y2 = att.forward(x);
  }
  CHECK(test::max_rel_error(y2, y) < 1e-6);
  CHECK(att.attention_map().shape() == Shape{2, 1, 14, 14});
  CHECK_THROWS_WITH_AS(att.backward(y), doctest::Contains("without a forward pass"), Error);
}

TEST_CASE("HfcAttention rejects bad input with messages that name it") {
  HfcAttention<float> att(4);
  CHECK_THROWS_WITH_AS(att.forward(Tensor<float>({4, 8, 8})), doctest::Contains("HfcAttention: input must have rank 4"), Error);
  CHECK_THROWS_WITH_AS(att.forward(Tensor<float>({2, 3, 8, 8})), doctest::Contains("has 3 channels, the module was built for 4"), Error);
  CHECK_THROWS_WITH_AS(att.forward(Tensor<float>({2, 4, 0, 8})), doctest::Contains("zero-size"), Error);
  CHECK_THROWS_WITH_AS(att.forward(Tensor<float>({0, 4, 8, 8})), doctest::Contains("zero-size"), Error);
  CHECK_THROWS_WITH_AS(att.backward(Tensor<float>({2, 4, 8, 8})), doctest::Contains("backward called without a forward"), Error);
  att.forward(Tensor<float>({2, 4, 8, 8}));
  CHECK_THROWS_WITH_AS(att.backward(Tensor<float>({2, 4, 8, 9})), doctest::Contains("grad must have shape [2, 4, 8, 8]"), Error);
  CHECK_THROWS_WITH_AS(HfcAttention<float>(4, {.cutoff = 0.0}), doctest::Contains("cutoff must be in (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(HfcAttention<float>(4, {.cutoff = 1.2}), doctest::Contains("got 1.2"), Error);
  CHECK_THROWS_WITH_AS(HfcAttention<float>(0), doctest::Contains("channels must be positive"), Error);
  CHECK_THROWS_WITH_AS(HfcAttention<float>(4, {.filter = FilterFamily::butterworth, .order = 0}), doctest::Contains("order"), Error);
}
