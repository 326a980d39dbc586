// The cuda SVD against a double-precision reference, and its backward against the formula
// computed on the host. Every case prints "SKIPPED: no CUDA device" and returns where there is no
// GPU; ctest reports those as skipped.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <hfc/cuda.cuh>

#include "gpu.hpp"

#include "reference.hpp"

using namespace hfc;

namespace {

// Singular values within tol * s_max of the reference; A = U diag(s) V^T; U^T U = V^T V = I on the
// columns with s_i > 1e-3 s_max, to a few times the Jacobi stopping threshold rows * epsilon
// (columns pass it orthogonal to that relative tolerance).
void check_cuda_svd(const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n,
                    double tol = 1e-5) {
  INFO(batch, " matrices ", m, "x", n);
  const std::int64_t k = std::min(m, n);
  const auto a = Tensor<float, cuda>::from(Shape{batch, m, n}, host);
  const auto r = svd(a);
  const auto s = r.S.to_vector(), u = r.U.to_vector(), v = r.V.to_vector();
  const auto ref = test::reference_singular_values(host, batch, m, n);
  for (std::int64_t b = 0; b < batch; ++b) {
    const double smax = std::max(ref[std::size_t(b * k)], 1e-30);
    double err = 0, recon = 0, ortho = 0;
    for (std::int64_t i = 0; i < k; ++i) err = std::max(err, std::abs(s[std::size_t(b * k + i)] - ref[std::size_t(b * k + i)]));
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t c = 0; c < k; ++c)
          sum += double(u[std::size_t((b * m + i) * k + c)]) * s[std::size_t(b * k + c)] * v[std::size_t((b * n + j) * k + c)];
        recon = std::max(recon, std::abs(sum - host[std::size_t((b * m + i) * n + j)]));
      }
    for (std::int64_t c1 = 0; c1 < k; ++c1)
      for (std::int64_t c2 = 0; c2 < k; ++c2) {
        if (s[std::size_t(b * k + c1)] < 1e-3 * smax || s[std::size_t(b * k + c2)] < 1e-3 * smax) continue;
        double du = 0, dv = 0;
        for (std::int64_t i = 0; i < m; ++i) du += double(u[std::size_t((b * m + i) * k + c1)]) * u[std::size_t((b * m + i) * k + c2)];
        for (std::int64_t i = 0; i < n; ++i) dv += double(v[std::size_t((b * n + i) * k + c1)]) * v[std::size_t((b * n + i) * k + c2)];
        ortho = std::max({ortho, std::abs(du - (c1 == c2)), std::abs(dv - (c1 == c2))});
      }
    CHECK(err <= tol * smax);
    CHECK(recon <= 1e-5 * smax);
    CHECK(ortho <= 4.0 * double(std::max(m, n)) * 1.2e-7);
    for (std::int64_t i = 1; i < k; ++i) CHECK(s[std::size_t(b * k + i)] <= s[std::size_t(b * k + i - 1)]);
  }
}

}  // namespace

TEST_CASE("cuda svd: random matrices at n = 7, 14, 28, 32, 56, 112, and rectangular ones") {
  if (test::no_gpu()) return;
  Rng rng(5);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{7, 7}, {14, 14}, {28, 28}, {32, 32}, {56, 56}, {112, 112}, {9, 5}, {5, 9}, {1, 6}}) {
    std::vector<float> host(static_cast<std::size_t>(4 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    check_cuda_svd(host, 4, m, n);
  }
}

TEST_CASE("cuda svd: rank-deficient, repeated and graded singular values") {
  if (test::no_gpu()) return;
  for (std::int64_t n : {7, 14, 28, 32, 56, 112}) {
    std::vector<double> rank3 = {5.0, 2.0, 1.0};
    check_cuda_svd(test::matrices_with_singular_values(2, n, n, rank3, 1), 2, n, n);
    check_cuda_svd(test::matrices_with_singular_values(2, n, n, std::vector<double>(std::size_t(n), 1.0), 2), 2, n, n);
    std::vector<double> graded;
    for (std::int64_t i = 0; i < n; ++i) graded.push_back(std::pow(10.0, -6.0 * double(i) / double(n)));
    check_cuda_svd(test::matrices_with_singular_values(2, n, n, graded, 3), 2, n, n);
  }
}

TEST_CASE("cuda svd_backward equals U diag(dS) V^T") {
  if (test::no_gpu()) return;
  Rng rng(6);
  const std::int64_t b = 3, m = 20, n = 12, k = 12;
  std::vector<float> host(std::size_t(b * m * n)), ds(std::size_t(b * k));
  for (auto& x : host) x = static_cast<float>(rng.normal());
  for (auto& x : ds) x = static_cast<float>(rng.normal());
  const auto r = svd(Tensor<float, cuda>::from(Shape{b, m, n}, host));
  const auto da = svd_backward(r, Tensor<float, cuda>::from(Shape{b, k}, ds)).to_vector();
  const auto u = r.U.to_vector(), v = r.V.to_vector();
  double worst = 0;
  for (std::int64_t bb = 0; bb < b; ++bb)
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t c = 0; c < k; ++c)
          sum += double(u[std::size_t((bb * m + i) * k + c)]) * ds[std::size_t(bb * k + c)] * v[std::size_t((bb * n + j) * k + c)];
        worst = std::max(worst, std::abs(sum - da[std::size_t((bb * m + i) * n + j)]));
      }
  CHECK(worst < 1e-5);
}

TEST_CASE("cuda svd: singular values only, and errors are hfc::Error") {
  if (test::no_gpu()) return;
  Rng rng(7);
  std::vector<float> host(2 * 30 * 30);
  for (auto& x : host) x = static_cast<float>(rng.normal());
  const auto a = Tensor<float, cuda>::from(Shape{2, 30, 30}, host);
  const auto values = svd(a, false), full = svd(a);
  CHECK_FALSE(values.U.defined());
  const auto s1 = values.S.to_vector(), s2 = full.S.to_vector();
  for (std::size_t i = 0; i < s1.size(); ++i) CHECK(s1[i] == doctest::Approx(s2[i]).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(svd(Tensor<float, cuda>::zeros(Shape{1, 400, 400})), doctest::Contains("shared memory"), Error);
  CHECK_THROWS_WITH_AS(svd(Tensor<float, cuda>::zeros(Shape{4})), doctest::Contains("rank >= 2"), Error);
}
