// The cuda filter, correlation and gate against the cpu backend and direct loops, on random inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include <hfc/cuda.cuh>

#include "gpu.hpp"

#include "reference.hpp"

using namespace hfc;

namespace {

std::vector<float> randn(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

}  // namespace

TEST_CASE("cuda frequency filter matches the cpu backend (cuFFT against FFTW), 1e-5 absolute on unit data") {
  if (test::no_gpu()) return;
  for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {14, 14}, {9, 12}, {7, 5}}) {
    INFO(h, "x", w);
    const std::int64_t maps = 6;
    const auto x = randn(std::size_t(maps * h * w), 1);
    const auto dev = Tensor<float, cuda>::from(Shape{maps, 1, h, w}, x);
    CHECK(max_abs_diff(frequency_filter(dev, IdealHighPass{0.25}).to_vector(),
                       test::reference_ideal_filter(x, maps, h, w, true, 0.25)) < 1e-5);
    CHECK(max_abs_diff(frequency_filter(dev, IdealLowPass{0.4}).to_vector(),
                       test::reference_ideal_filter(x, maps, h, w, false, 0.4)) < 1e-5);
  }
}

TEST_CASE("cuda frequency filter on views at an odd float offset (cuFFT's alignment), into a view too") {
  if (test::no_gpu()) return;
  const std::int64_t h = 7, w = 7;  // 49 floats a map: the second map starts 4 bytes off alignment
  const auto x = randn(std::size_t(3 * h * w), 13);
  const auto all = Tensor<float, cuda>::from(Shape{3, h, w}, x);
  auto out = Tensor<float, cuda>::zeros(Shape{3, h, w});
  auto rows = out.narrow(1, 2);
  frequency_filter(all.narrow(1, 2), IdealHighPass{0.25}, rows);
  const std::vector<float> tail(x.begin() + h * w, x.end());
  const auto got = out.to_vector();
  CHECK(max_abs_diff(std::vector<float>(got.begin() + h * w, got.end()),
                     test::reference_ideal_filter(tail, 2, h, w, true, 0.25)) < 1e-5);
  for (std::int64_t i = 0; i < h * w; ++i) CHECK(got[std::size_t(i)] == 0.0f);  // the first map untouched
}

TEST_CASE("cuda correlation and its backward match direct loops") {
  if (test::no_gpu()) return;
  const std::int64_t n = 3, h = 6, w = 5, lq = 5, lk = 5;
  const auto q = randn(std::size_t(n * lq), 2), k = randn(std::size_t(n * lk), 3), dm = randn(std::size_t(n * h * w), 4);
  const std::vector<SigmaPair<float, cuda>> pairs = {
      {Tensor<float, cuda>::from(Shape{n, lq}, q), Tensor<float, cuda>::from(Shape{n, lk}, k)}};
  const auto m = correlation(pairs, h, w).to_vector();
  const auto grads = correlation_backward(Tensor<float, cuda>::from(Shape{n, 1, h, w}, dm), pairs);
  const auto dq = grads[0].query.to_vector(), dk = grads[0].key.to_vector();
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t i = 0; i < h; ++i)
      for (std::int64_t j = 0; j < w; ++j) {
        const float expected = (i < lq && j < lk) ? q[std::size_t(b * lq + i)] * k[std::size_t(b * lk + j)] : 0.0f;
        CHECK(m[std::size_t((b * h + i) * w + j)] == doctest::Approx(expected).epsilon(1e-6));
      }
    for (std::int64_t i = 0; i < lq; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j < lk; ++j) s += dm[std::size_t((b * h + i) * w + j)] * k[std::size_t(b * lk + j)];
      CHECK(dq[std::size_t(b * lq + i)] == doctest::Approx(s).epsilon(1e-5));
    }
    for (std::int64_t j = 0; j < lk; ++j) {
      double s = 0;
      for (std::int64_t i = 0; i < lq; ++i) s += dm[std::size_t((b * h + i) * w + j)] * q[std::size_t(b * lq + i)];
      CHECK(dk[std::size_t(b * lk + j)] == doctest::Approx(s).epsilon(1e-5));
    }
  }
}

TEST_CASE("cuda sigmoid gate and its backward match direct loops") {
  if (test::no_gpu()) return;
  const std::int64_t n = 2, c = 5, plane = 7 * 9;
  const auto z = randn(std::size_t(n * plane), 5), x = randn(std::size_t(n * c * plane), 6),
             dy = randn(std::size_t(n * c * plane), 7);
  const auto zt = Tensor<float, cuda>::from(Shape{n, 1, 7, 9}, z), xt = Tensor<float, cuda>::from(Shape{n, c, 7, 9}, x);
  const auto r = sigmoid_gate(zt, xt);
  const auto g = sigmoid_gate_backward(Tensor<float, cuda>::from(xt.shape(), dy), xt, r.gate);
  const auto y = r.y.to_vector(), a = r.gate.to_vector(), dx = g.dx.to_vector(), dz = g.dz.to_vector();
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = 0; p < plane; ++p) {
      const double s = 1 / (1 + std::exp(-double(z[std::size_t(b * plane + p)])));
      CHECK(a[std::size_t(b * plane + p)] == doctest::Approx(s).epsilon(1e-6));
      double sum = 0;
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const auto i = std::size_t((b * c + ch) * plane + p);
        CHECK(y[i] == doctest::Approx(s * x[i]).epsilon(1e-5));
        CHECK(dx[i] == doctest::Approx(s * dy[i]).epsilon(1e-5));
        sum += double(dy[i]) * x[i];
      }
      CHECK(dz[std::size_t(b * plane + p)] == doctest::Approx(s * (1 - s) * sum).epsilon(1e-4));
    }
  CHECK_THROWS_WITH_AS(sigmoid_gate(Tensor<float, cuda>::zeros(Shape{n, 2, 7, 9}), xt), doctest::Contains("broadcast"), Error);
}

TEST_CASE("cuda gated_projection_backward and the dz-only gate backward match direct loops") {
  if (test::no_gpu()) return;
  const std::int64_t n = 3, c = 6, plane = 5 * 7;
  const auto x = randn(std::size_t(n * c * plane), 8), dy = randn(x.size(), 9), w = randn(std::size_t(c), 10),
             dk = randn(std::size_t(n * plane), 11), z = randn(std::size_t(n * plane), 12);
  const Shape shape{n, c, 5, 7}, map{n, 1, 5, 7};
  const auto xt = Tensor<float, cuda>::from(shape, x), dyt = Tensor<float, cuda>::from(shape, dy);
  const auto gate = sigmoid_gate(Tensor<float, cuda>::from(map, z), xt).gate;
  auto dx = Tensor<float, cuda>::empty(shape);
  auto dw = Tensor<float, cuda>::full(Shape{1, c, 1, 1}, 0.25f);
  gated_projection_backward(dyt, xt, gate, Tensor<float, cuda>::from(Shape{1, c, 1, 1}, w),
                            Tensor<float, cuda>::from(map, dk), dx, dw);
  GateGradients<float, cuda> dz_only{Tensor<float, cuda>(), Tensor<float, cuda>::empty(map)};
  sigmoid_gate_backward(dyt, xt, gate, dz_only);
  const auto a = gate.to_vector(), dxv = dx.to_vector(), dwv = dw.to_vector(), dz = dz_only.dz.to_vector();
  const auto dz_full = sigmoid_gate_backward(dyt, xt, gate).dz.to_vector();
  CHECK(max_abs_diff(dz, dz_full) == 0.0);
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double dw_ref = 0.25;
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t p = 0; p < plane; ++p) {
        const auto i = std::size_t((b * c + ch) * plane + p), m = std::size_t(b * plane + p);
        CHECK(dxv[i] == doctest::Approx(double(a[m]) * dy[i] + double(w[std::size_t(ch)]) * dk[m]).epsilon(1e-5));
        dw_ref += double(x[i]) * dk[m];
      }
    CHECK(dwv[std::size_t(ch)] == doctest::Approx(dw_ref).epsilon(1e-4));
  }
}
