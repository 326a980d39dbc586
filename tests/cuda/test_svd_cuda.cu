// The cuda SVD against a double-precision reference, and its backward against the formula
// computed on the host. Every case prints "SKIPPED: no CUDA device" and returns where there is no
// GPU; ctest reports those as skipped.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <hfc/cuda.cuh>

#include "gpu.hpp"

#include "reference.hpp"
#include "svd_checks.hpp"

using namespace hfc;

namespace {

void check_cuda_svd(const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n,
                    double tol = 1e-5) {
  const auto r = svd(Tensor<float, cuda>::from(Shape{batch, m, n}, host));
  test::check_svd_results(host, batch, m, n, r.S.to_vector(), r.U.to_vector(), r.V.to_vector(), tol);
}

}  // namespace

TEST_CASE("cuda svd (one-sided Jacobi): random, rectangular, rank-deficient, repeated and graded matrices") {
  if (test::no_gpu()) return;
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    check_cuda_svd(host, batch, m, n);
  });
}

TEST_CASE("cuda svd (Gram matrix, two-sided Jacobi): the same matrices") {
  if (test::no_gpu()) return;
  auto& context = cuda_backend::Context::get();
  context.svd_algorithm = cuda_backend::SvdAlgorithm::gram_jacobi;
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    check_cuda_svd(host, batch, m, n);
  });
  context.svd_algorithm = cuda_backend::SvdAlgorithm::one_sided_jacobi;
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
      for (std::int64_t j = 0; j < n; ++j)
        worst = std::max(worst, std::abs(test::u_diag_vt(u, ds, v, bb, m, n, k, i, j) - da[std::size_t((bb * m + i) * n + j)]));
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
