#include "support.hpp"

using namespace hfc;

namespace {

// The convolution by its definition, in double.
Tensor<double> direct_conv2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& bias,
                             const Conv2dGeometry& g) {
  const auto d = conv2d_dims(x, w, g);
  Tensor<double> y({d.n, d.o, d.oh, d.ow});
  for (std::int64_t n = 0; n < d.n; ++n)
    for (std::int64_t o = 0; o < d.o; ++o) {
      const std::int64_t group = o / d.o_per_group();
      for (std::int64_t oy = 0; oy < d.oh; ++oy)
        for (std::int64_t ox = 0; ox < d.ow; ++ox) {
          double acc = bias.defined() ? bias(o) : 0.0;
          for (std::int64_t c = 0; c < d.c_per_group(); ++c)
            for (std::int64_t i = 0; i < d.kh; ++i)
              for (std::int64_t j = 0; j < d.kw; ++j) {
                const std::int64_t yy = oy * g.stride_h - g.pad_h + i * g.dilation_h;
                const std::int64_t xx = ox * g.stride_w - g.pad_w + j * g.dilation_w;
                if (yy < 0 || yy >= d.h || xx < 0 || xx >= d.w) continue;
                acc += w(o, c, i, j) * x(n, group * d.c_per_group() + c, yy, xx);
              }
          y(n, o, oy, ox) = acc;
        }
    }
  return y;
}

struct Case {
  const char* name;
  Shape x, w;
  Conv2dGeometry g;
  bool bias;
};

const Case kCases[] = {
    {"3x3 pad 1", {2, 3, 6, 5}, {4, 3, 3, 3}, Conv2dGeometry::square(1, 1), true},
    {"stride 2 (downsampling)", {2, 4, 7, 8}, {6, 4, 3, 3}, Conv2dGeometry::square(2, 1), false},
    {"pointwise", {3, 5, 4, 6}, {2, 5, 1, 1}, {}, false},
    {"pointwise stride 2", {2, 4, 5, 5}, {3, 4, 1, 1}, Conv2dGeometry::square(2, 0), true},
    {"7x7 pad 3 on a 4x5 map", {2, 2, 4, 5}, {1, 2, 7, 7}, Conv2dGeometry::square(1, 3), false},
    {"dilation 2", {1, 2, 9, 9}, {2, 2, 3, 3}, Conv2dGeometry::square(1, 2, 2), true},
    {"groups 2", {2, 4, 5, 6}, {6, 2, 3, 3}, Conv2dGeometry::square(1, 1, 1, 2), true},
    {"depthwise stride 2", {2, 3, 7, 6}, {3, 1, 3, 3}, Conv2dGeometry::square(2, 1, 1, 3), false},
    {"rectangular kernel", {1, 2, 6, 7}, {3, 2, 2, 3}, {1, 2, 1, 0, 1, 1, 1}, true},
    // Groups with at most two output channels take the direct path: padded planes at stride 1,
    // row by row otherwise. The cases above with more take the GEMM path.
    {"direct, rectangular, stride (1, 2)", {1, 2, 6, 7}, {2, 2, 2, 3}, {1, 2, 1, 0, 1, 1, 1}, true},
    {"direct, stride (2, 1), padding (0, 2)", {2, 3, 7, 5}, {1, 3, 3, 3}, {2, 1, 0, 2, 1, 1, 1}, false},
    {"direct, two groups of two", {2, 4, 5, 6}, {4, 2, 3, 3}, Conv2dGeometry::square(1, 1, 1, 2), true},
    {"direct, dilated 3x3 with asymmetric padding", {1, 1, 8, 6}, {1, 1, 3, 3}, {1, 1, 2, 1, 2, 1, 1}, false},
    // Kernel rows go in one pass each: widths 3, 5 and 7 unrolled, others tap by tap.
    {"direct, 2x4 kernel, padding (1, 2)", {1, 2, 6, 7}, {2, 2, 2, 4}, {1, 1, 1, 2, 1, 1, 1}, true},
    {"direct, 5x5 dilated (1, 2), padding (2, 4)", {2, 1, 9, 10}, {1, 1, 5, 5}, {1, 1, 2, 4, 1, 2, 1}, false},
    {"direct, 2x4 kernel, stride 2, dilation (1, 2)", {1, 2, 9, 11}, {2, 2, 2, 4}, {2, 2, 1, 2, 1, 2, 1}, false},
    {"direct, dilated 3x3 at stride 3", {2, 1, 10, 10}, {1, 1, 3, 3}, {3, 3, 1, 1, 2, 2, 1}, true},
    {"GEMM pointwise", {2, 5, 4, 6}, {4, 5, 1, 1}, {}, true},
    // Five samples with small maps: the GEMM path puts several samples side by side in one GEMM
    // (chunks of 3 and 2 with two threads).
    {"GEMM, samples side by side", {5, 3, 4, 5}, {4, 3, 3, 3}, Conv2dGeometry::square(1, 1), true},
    {"GEMM pointwise, samples side by side", {5, 4, 3, 3}, {3, 4, 1, 1}, {}, true},
    // Winograd F(2x2, 3x3): 3x3, stride 1, at least 49 outputs; odd sizes cut the last tiles.
    {"Winograd, pad 1, odd map", {2, 3, 9, 11}, {4, 3, 3, 3}, Conv2dGeometry::square(1, 1), true},
    {"Winograd, pad 0 (backward pads 2)", {1, 3, 10, 12}, {5, 3, 3, 3}, Conv2dGeometry::square(1, 0), false},
    {"Winograd, pad 2 (backward pads 0)", {2, 4, 8, 9}, {3, 4, 3, 3}, Conv2dGeometry::square(1, 2), true},
    {"Winograd, samples side by side", {6, 3, 8, 8}, {4, 3, 3, 3}, Conv2dGeometry::square(1, 1), false},
    // F(4x4, 3x3) on maps of 28 and more, with tiles cut at the right and bottom edges.
    {"Winograd 4x4, pad 1, ragged tiles", {1, 3, 29, 30}, {4, 3, 3, 3}, Conv2dGeometry::square(1, 1), true},
    {"Winograd 4x4, pad 0 (backward pads 2)", {1, 2, 30, 33}, {3, 2, 3, 3}, Conv2dGeometry::square(1, 0), false},
    {"Winograd 4x4, pad 2 (backward pads 0)", {2, 2, 28, 29}, {3, 2, 3, 3}, Conv2dGeometry::square(1, 2), false},
    {"GEMM grouped stride 2, samples side by side", {5, 4, 6, 6}, {6, 2, 3, 3}, Conv2dGeometry::square(2, 1, 1, 2), false},
    // Depthwise with at most 64 outputs a plane: channels last (depthwise.hpp; "depthwise stride 2"
    // above too). 17 channels leave a vector tail; a 3x3 map at stride 2 gives MobileNetV2's 2x2.
    {"depthwise channels last, 17 channels, bias", {3, 17, 3, 3}, {17, 1, 3, 3}, Conv2dGeometry::square(1, 1, 1, 17), true},
    {"depthwise channels last, 3x3 to 2x2", {2, 5, 3, 3}, {5, 1, 3, 3}, Conv2dGeometry::square(2, 1, 1, 5), false},
    {"depthwise channels last, 2x3 kernel, dilation (2, 1)", {2, 4, 5, 4}, {4, 1, 2, 3}, {1, 2, 1, 0, 2, 1, 4}, true},
    // 81 outputs a plane: plane by plane (the direct path).
    {"depthwise plane by plane", {2, 3, 9, 9}, {3, 1, 3, 3}, Conv2dGeometry::square(1, 1, 1, 3), true},
};

}  // namespace

TEST_CASE("conv2d matches the direct definition (float and double)") {
  Rng rng(21);
  for (const auto& c : kCases) {
    INFO(c.name);
    const auto x = test::random_tensor<double>(c.x, rng), w = test::random_tensor<double>(c.w, rng);
    const auto b = c.bias ? test::random_tensor<double>(Shape{c.w[0]}, rng) : Tensor<double>();
    const auto ref = direct_conv2d(x, w, b, c.g);
    CHECK(test::max_rel_error(conv2d(x, w, b, c.g), ref) < 1e-13);
    const auto yf = conv2d(test::cast<float>(x), test::cast<float>(w), c.bias ? test::cast<float>(b) : Tensor<float>(), c.g);
    CHECK(test::max_rel_error(yf, ref) < 1e-5);
  }
}

TEST_CASE("conv2d_backward matches finite differences for input, weight and bias") {
  Rng rng(22);
  for (const auto& c : kCases) {
    INFO(c.name);
    auto x = test::random_tensor<double>(c.x, rng), w = test::random_tensor<double>(c.w, rng);
    auto b = c.bias ? test::random_tensor<double>(Shape{c.w[0]}, rng) : Tensor<double>();
    const auto r = test::random_tensor<double>(conv2d(x, w, b, c.g).shape(), rng);
    auto loss = [&] { return test::dot(conv2d(x, w, b, c.g), r); };
    Tensor<double> dx, dw(w.shape()), db(Shape{c.w[0]});
    conv2d_backward(r, x, w, c.g, Conv2dGradients<double, cpu>{&dx, false, &dw, c.bias ? &db : nullptr});
    test::check_gradient("x", x, dx, loss, rng);
    test::check_gradient("weight", w, dw, loss, rng);
    if (c.bias) test::check_gradient("bias", b, db, loss, rng);
    // Gradients accumulate: a second call adds the same amount again.
    Tensor<double> dx2 = dx.clone(), dw2 = dw.clone();
    conv2d_backward(r, x, w, c.g, Conv2dGradients<double, cpu>{&dx2, true, &dw2, nullptr});
    add_(dx, dx, 1.0);
    add_(dw, dw, 1.0);
    CHECK(test::max_rel_error(dx2, dx) < 1e-13);
    CHECK(test::max_rel_error(dw2, dw) < 1e-13);
    // Accumulating into an undefined gradient starts from zero.
    Tensor<double> fresh;
    conv2d_backward(r, x, w, c.g, Conv2dGradients<double, cpu>{&fresh, true, nullptr, nullptr});
    add_(fresh, fresh, 1.0);
    CHECK(test::max_rel_error(fresh, dx) < 1e-13);
  }
}

TEST_CASE("conv2d_backward in float agrees with double (Winograd's transforms amplify rounding)") {
  Rng rng(24);
  for (const auto& c : kCases) {
    INFO(c.name);
    const auto x = test::random_tensor<double>(c.x, rng), w = test::random_tensor<double>(c.w, rng);
    const auto r = test::random_tensor<double>(conv2d(x, w, {}, c.g).shape(), rng);
    Tensor<double> dx, dw(w.shape());
    conv2d_backward(r, x, w, c.g, Conv2dGradients<double, cpu>{&dx, false, &dw, nullptr});
    Tensor<float> dxf, dwf(w.shape());
    conv2d_backward(test::cast<float>(r), test::cast<float>(x), test::cast<float>(w), c.g,
                    Conv2dGradients<float, cpu>{&dxf, false, &dwf, nullptr});
    CHECK(test::max_rel_error(dxf, dx) < 1e-5);
    CHECK(test::max_rel_error(dwf, dw) < 1e-5);
  }
}

TEST_CASE("Conv2d layer: torchvision default init, names, and gradient through the layer") {
  Rng rng(23);
  Conv2d<double> conv(Conv2dOptions::square(4, 6, 3, 1, 1, true), rng);
  std::vector<std::string> names;
  conv.for_each_parameter([&](std::string_view name, auto& p) { names.emplace_back(name); CHECK(p.grad.shape() == p.value.shape()); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  CHECK(parameter_count(conv) == 6 * 4 * 9 + 6);
  const double bound = 1 / std::sqrt(36.0);
  for (double v : conv.weight.value.span()) CHECK(std::abs(v) <= bound);
  for (double v : conv.bias.value.span()) CHECK(std::abs(v) <= bound);

  auto x = test::random_tensor<double>(Shape{2, 4, 5, 5}, rng);
  const auto r = test::random_tensor<double>(Shape{2, 6, 5, 5}, rng);
  conv.forward(x);
  const auto dx = conv.backward(r);
  auto loss = [&] { NoGradGuard g; return test::dot(conv.forward(x), r); };
  test::check_gradient("x", x, dx, loss, rng);
  test::check_gradient("weight", conv.weight.value, conv.weight.grad, loss, rng);
  CHECK_THROWS_WITH_AS(conv.backward(r), doctest::Contains("without a forward pass"), Error);
}

TEST_CASE("conv2d rejects mismatched shapes and bad geometry with named errors") {
  Tensor<float> x({2, 3, 8, 8}), w({4, 3, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(Tensor<float>({3, 8, 8}), w, {}), doctest::Contains("conv2d: input must have rank 4"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Tensor<float>({2, 5, 8, 8}), w, {}), doctest::Contains("expects 3 input channels"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor<float>({3})), doctest::Contains("bias must have shape [4]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, {}, Conv2dGeometry::square(0, 1)), doctest::Contains("stride"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, {}, Conv2dGeometry::square(1, 1, 1, 2)), doctest::Contains("groups=2"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Tensor<float>({1, 3, 2, 2}), w, {}), doctest::Contains("smaller than the dilated kernel"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Tensor<float>({0, 3, 8, 8}), w, {}), doctest::Contains("zero-size"), Error);
  CHECK_THROWS_AS(Conv2d<float>(Conv2dOptions::square(3, 4, 3, 1, 1, true, 2)), Error);
}
