#include "support.hpp"
#include <mutex>

using namespace hfc;

TEST_CASE("correlation: outer products of zero-padded vectors, pairs stacked as channels") {
  Rng rng(31);
  const std::int64_t n = 2, h = 5, w = 4;
  std::vector<SigmaPair<double, cpu>> pairs = {
      {test::random_tensor<double>(Shape{n, 4}, rng), test::random_tensor<double>(Shape{n, 4}, rng)},
      {test::random_tensor<double>(Shape{n, 5}, rng), test::random_tensor<double>(Shape{n, 2}, rng)},
  };
  const auto m = correlation(pairs, h, w);
  REQUIRE(m.shape() == Shape{n, 2, h, w});
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = 0; p < 2; ++p)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) {
          const auto& [q, k] = pairs[std::size_t(p)];
          const double expected = (i < q.size(1) && j < k.size(1)) ? q(b, i) * k(b, j) : 0.0;
          CHECK(m(b, p, i, j) == expected);
        }
}

TEST_CASE("correlation_backward matches finite differences") {
  Rng rng(32);
  std::vector<SigmaPair<double, cpu>> pairs = {
      {test::random_tensor<double>(Shape{3, 6}, rng), test::random_tensor<double>(Shape{3, 6}, rng)},
      {test::random_tensor<double>(Shape{3, 6}, rng), test::random_tensor<double>(Shape{3, 3}, rng)},
  };
  const auto r = test::random_tensor<double>(Shape{3, 2, 7, 6}, rng);
  auto loss = [&] { return test::dot(correlation(pairs, 7, 6), r); };
  const auto grads = correlation_backward(r, pairs);
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    test::check_gradient("query", pairs[p].query, grads[p].query, loss, rng);
    test::check_gradient("key", pairs[p].key, grads[p].key, loss, rng);
  }
}

TEST_CASE("correlation rejects vectors longer than the map and mismatched batches") {
  Tensor<float> q({2, 5}), k({2, 4});
  using Pairs = std::vector<SigmaPair<float, cpu>>;
  const Pairs too_long{{q, k}}, mismatched{{q, Tensor<float>({3, 4})}}, none;
  CHECK_THROWS_WITH_AS(correlation(too_long, 4, 4), doctest::Contains("longer than the 4x4 map"), Error);
  CHECK_THROWS_WITH_AS(correlation(mismatched, 5, 4), doctest::Contains("batch sizes"), Error);
  CHECK_THROWS_AS(correlation(none, 5, 4), Error);
}

TEST_CASE("sigmoid_gate: y = sigmoid(z) x broadcast over channels, stable for large |z|") {
  Rng rng(33);
  auto z = test::random_tensor<double>(Shape{2, 1, 3, 4}, rng, -3, 3);
  z(0, 0, 0, 0) = 800.0;
  z(0, 0, 0, 1) = -800.0;
  const auto x = test::random_tensor<double>(Shape{2, 5, 3, 4}, rng);
  const auto r = sigmoid_gate(z, x);
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t c = 0; c < 5; ++c)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 4; ++j) {
          const double a = 1 / (1 + std::exp(-z(b, 0, i, j)));
          CHECK(r.gate(b, 0, i, j) == doctest::Approx(a).epsilon(1e-15));
          CHECK(r.y(b, c, i, j) == doctest::Approx(a * x(b, c, i, j)).epsilon(1e-15));
        }
  CHECK(r.gate(0, 0, 0, 0) == 1.0);
  CHECK(r.gate(0, 0, 0, 1) == 0.0);
  CHECK(std::isfinite(r.gate(0, 0, 0, 1)));
}

TEST_CASE("sigmoid_gate_backward matches finite differences for both inputs") {
  Rng rng(34);
  auto z = test::random_tensor<double>(Shape{2, 1, 4, 3}, rng, -2, 2);
  auto x = test::random_tensor<double>(Shape{2, 3, 4, 3}, rng);
  const auto r = test::random_tensor<double>(x.shape(), rng);
  auto loss = [&] { return test::dot(sigmoid_gate(z, x).y, r); };
  const auto g = sigmoid_gate_backward(r, x, sigmoid_gate(z, x).gate);
  test::check_gradient("x", x, g.dx, loss, rng);
  test::check_gradient("z", z, g.dz, loss, rng);
}

TEST_CASE("sigmoid_gate_backward without dx gives the same dz") {
  Rng rng(35);
  const auto z = test::random_tensor<double>(Shape{2, 1, 5, 3}, rng, -2, 2);
  const auto x = test::random_tensor<double>(Shape{2, 4, 5, 3}, rng), dy = test::random_tensor<double>(x.shape(), rng);
  const auto gate = sigmoid_gate(z, x).gate;
  const auto full = sigmoid_gate_backward(dy, x, gate);
  GateGradients<double, cpu> dz_only{Tensor<double>(), Tensor<double>::empty(gate.shape())};
  sigmoid_gate_backward(dy, x, gate, dz_only);
  CHECK_FALSE(dz_only.dx.defined());
  CHECK(test::max_rel_error(dz_only.dz, full.dz) == 0.0);
}

// x feeds a gate and a 1x1 conv C -> 1: loss = <gate * x, R> + <conv1x1(x, w), K>.
TEST_CASE("gated_projection_backward matches finite differences for x and the weight") {
  Rng rng(36);
  auto x = test::random_tensor<double>(Shape{2, 3, 4, 5}, rng);
  auto w = test::random_tensor<double>(Shape{1, 3, 1, 1}, rng);
  const auto z = test::random_tensor<double>(Shape{2, 1, 4, 5}, rng, -2, 2);
  const auto gate = sigmoid_gate(z, x).gate;  // depends on z alone
  const auto r = test::random_tensor<double>(x.shape(), rng), k = test::random_tensor<double>(gate.shape(), rng);
  auto loss = [&] {
    return test::dot(sigmoid_gate(z, x).y, r) + test::dot(conv2d(x, w, Tensor<double>(), Conv2dGeometry::square(1, 0)), k);
  };
  auto dx = Tensor<double>::empty(x.shape());
  auto dw = Tensor<double>::full(w.shape(), 0.5);  // added to, as parameter gradients are
  gated_projection_backward(r, x, gate, w, k, dx, dw);
  auto dw_added = dw.clone();
  for (std::int64_t c = 0; c < 3; ++c) dw_added.data()[c] -= 0.5;
  test::check_gradient("x", x, dx, loss, rng);
  test::check_gradient("w", w, dw_added, loss, rng);
  CHECK_THROWS_WITH_AS(gated_projection_backward(r, x, gate, Tensor<double>(Shape{1, 2, 1, 1}), k, dx, dw),
                       doctest::Contains("gated_projection_backward: weight"), Error);
}

// Large enough (over 4 MiB of y and dx) for the streaming stores, with planes of 61 values so that
// every channel's row starts at another alignment; against direct loops in double.
TEST_CASE("sigmoid_gate and gated_projection_backward with streaming stores match direct loops") {
  Rng rng(37);
  const std::int64_t n = 2, c = 9000, plane = 61;
  const auto x = test::random_tensor<float>(Shape{n, c, 1, plane}, rng), dy = test::random_tensor<float>(x.shape(), rng);
  const auto w = test::random_tensor<float>(Shape{1, c, 1, 1}, rng);
  const auto gate = test::random_tensor<float>(Shape{n, 1, 1, plane}, rng, 0, 1);
  const auto dk = test::random_tensor<float>(gate.shape(), rng);
  auto dx = Tensor<float>::empty(x.shape());
  auto dw = Tensor<float>::zeros(w.shape());
  gated_projection_backward(dy, x, gate, w, dk, dx, dw);
  REQUIRE(cpu_backend::streams(std::size_t(x.numel()) * sizeof(float)));
  const auto z = test::random_tensor<float>(gate.shape(), rng, -3, 3);
  const auto gated = sigmoid_gate(z, x);
  double y_err = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const std::int64_t b = i / (c * plane), p = i % plane;
    const double a = 1 / (1 + std::exp(-double(z.data()[b * plane + p])));
    y_err = std::max(y_err, std::abs(gated.y.data()[i] - a * x.data()[i]));
  }
  CHECK(y_err < 1e-6);
  double dx_err = 0, dw_err = 0;
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double dw_ref = 0;
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t p = 0; p < plane; ++p) {
        const auto i = (b * c + ch) * plane + p;
        const double ref = double(gate.data()[b * plane + p]) * dy.data()[i] + double(w.data()[ch]) * dk.data()[b * plane + p];
        dx_err = std::max(dx_err, std::abs(dx.data()[i] - ref));
        dw_ref += double(x.data()[i]) * dk.data()[b * plane + p];
      }
    dw_err = std::max(dw_err, std::abs(dw.data()[ch] - dw_ref));
  }
  CHECK(dx_err < 1e-6);
  CHECK(dw_err < 1e-4);
}

TEST_CASE("sigmoid_gate rejects a gate that does not broadcast") {
  Tensor<float> x({2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(sigmoid_gate(Tensor<float>({2, 2, 4, 4}), x), doctest::Contains("does not broadcast"), Error);
  CHECK_THROWS_WITH_AS(sigmoid_gate(Tensor<float>({2, 1, 4, 5}), x), doctest::Contains("expected [2, 1, 4, 4]"), Error);
  CHECK_THROWS_AS(sigmoid_gate_backward(Tensor<float>({2, 3, 4, 5}), x, Tensor<float>({2, 1, 4, 4})), Error);
}

namespace {
// A map gradient for the chained gated_projection_backward that depends on the sample's index,
// so rows handed over at the wrong offset show: dk = dz * (b + 1) + 0.25 for sample b. It records
// the ranges it was called with.
struct IndexedMapGradient {
  std::mutex mutex;
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;  // (first, rows)

  template <class T>
  void operator()(const Tensor<T>& dz, Tensor<T>& dk, std::int64_t first) {
    {
      std::lock_guard lock(mutex);
      calls.emplace_back(first, dz.size(0));
    }
    const std::int64_t plane = dz.numel() / dz.size(0);
    for (std::int64_t i = 0; i < dz.numel(); ++i) dk.data()[i] = dz.data()[i] * T(first + i / plane + 1) + T(0.25);
  }
};
}  // namespace

// Whole for a small batch; a few samples at a time for one whose dy and x exceed the cache
// (6 x 16 x 300 x 300 floats, 69 MB), each against the three steps run one after the other.
TEST_CASE("gated_projection_backward with a map gradient equals the gate, map and projection steps in turn") {
  Rng rng(38);
  for (const Shape& shape : {Shape{3, 4, 5, 6}, Shape{6, 16, 300, 300}}) {
    INFO("shape ", shape);
    const auto x = test::random_tensor<float>(shape, rng), dy = test::random_tensor<float>(shape, rng);
    const auto w = test::random_tensor<float>(Shape{1, shape[1], 1, 1}, rng);
    const Shape gate_shape{shape[0], 1, shape[2], shape[3]};
    const auto gate = test::random_tensor<float>(gate_shape, rng, 0, 1);

    const auto steps = sigmoid_gate_backward(dy, x, gate);
    auto dk_ref = Tensor<float>::empty(gate_shape);
    IndexedMapGradient{}(steps.dz, dk_ref, 0);
    auto dx_ref = Tensor<float>::empty(shape);
    auto dw_ref = Tensor<float>::full(w.shape(), 0.5f);
    gated_projection_backward(dy, x, gate, w, dk_ref, dx_ref, dw_ref);

    IndexedMapGradient map_gradient;
    auto dz = Tensor<float>::empty(gate_shape), dx = Tensor<float>::empty(shape);
    auto dw = Tensor<float>::full(w.shape(), 0.5f);
    gated_projection_backward(dy, x, gate, w, map_gradient, dz, dx, dw);
    CHECK(test::max_rel_error(dz, steps.dz) < 1e-6);
    CHECK(test::max_rel_error(dx, dx_ref) < 1e-6);
    CHECK(test::max_rel_error(dw, dw_ref) < 1e-5);

    // The ranges cover the batch once; the large batch went a few samples at a time.
    auto calls = map_gradient.calls;
    std::sort(calls.begin(), calls.end());
    std::int64_t next = 0;
    for (const auto& [first, rows] : calls) {
      CHECK(first == next);
      next = first + rows;
    }
    CHECK(next == shape[0]);
    CHECK((calls.size() > 1) == (shape[0] == 6));
  }
}

TEST_CASE("gated_projection_backward with a map gradient: its exception comes out, its rows stay its own, bad shapes are named") {
  Rng rng(39);
  for (const Shape& shape : {Shape{3, 4, 5, 6}, Shape{6, 16, 300, 300}}) {
    INFO("shape ", shape);
    const auto x = test::random_tensor<float>(shape, rng);
    const auto w = test::random_tensor<float>(Shape{1, shape[1], 1, 1}, rng);
    const Shape gate_shape{shape[0], 1, shape[2], shape[3]};
    const auto gate = test::random_tensor<float>(gate_shape, rng, 0, 1);
    auto dz = Tensor<float>::empty(gate_shape), dx = Tensor<float>::empty(shape);
    auto dw = Tensor<float>::zeros(w.shape());
    auto throwing = [](const Tensor<float>& rows, Tensor<float>&, std::int64_t first) {
      if (first + rows.size(0) > 2) fail("map gradient failed at sample ", first);
    };
    CHECK_THROWS_WITH_AS(gated_projection_backward(x, x, gate, w, throwing, dz, dx, dw),
                         doctest::Contains("map gradient failed at sample"), Error);
    auto replacing = [](const Tensor<float>& rows, Tensor<float>& dk, std::int64_t) { dk = Tensor<float>::zeros(rows.shape()); };
    CHECK_THROWS_WITH_AS(gated_projection_backward(x, x, gate, w, replacing, dz, dx, dw),
                         doctest::Contains("must write into the dk rows it is given"), Error);
    CHECK_THROWS_WITH_AS(gated_projection_backward(x, x, gate, w, replacing, dx, dx, dw),
                         doctest::Contains("gated_projection_backward: dz must have shape"), Error);
  }
}
