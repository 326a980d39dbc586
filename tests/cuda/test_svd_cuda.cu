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

constexpr cuda_backend::SvdAlgorithm kEveryAlgorithm[] = {cuda_backend::SvdAlgorithm::one_sided_jacobi,
                                                         cuda_backend::SvdAlgorithm::gram_jacobi,
                                                         cuda_backend::SvdAlgorithm::register_jacobi};

void check_cuda_svd(const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n,
                    double tol = 1e-5) {
  const auto r = svd(Tensor<float, cuda>::from(Shape{batch, m, n}, host));
  test::check_svd_results(host, batch, m, n, r.S.to_vector(), r.U.to_vector(), r.V.to_vector(), tol);
}

}  // namespace

TEST_CASE("cuda svd (one-sided Jacobi): random, rectangular, rank-deficient, repeated and graded matrices") {
  if (test::no_gpu()) return;
  const cuda_backend::ScopedSetting one_sided(cuda_backend::Context::get().svd_algorithm,
                                              cuda_backend::SvdAlgorithm::one_sided_jacobi);
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    check_cuda_svd(host, batch, m, n);
  });
}

TEST_CASE("cuda svd (Gram matrix, two-sided Jacobi): the same matrices") {
  if (test::no_gpu()) return;
  const cuda_backend::ScopedSetting gram(cuda_backend::Context::get().svd_algorithm,
                                         cuda_backend::SvdAlgorithm::gram_jacobi);
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    check_cuda_svd(host, batch, m, n);
  });
}

TEST_CASE("cuda svd (one-sided Jacobi in registers): the same matrices, and every number of lanes per pair") {
  if (test::no_gpu()) return;
  auto& context = cuda_backend::Context::get();
  const cuda_backend::ScopedSetting registers(context.svd_algorithm, cuda_backend::SvdAlgorithm::register_jacobi);
  // 1e-6 s_max, as on the host (test_svd_registers_host.cu): Rutishauser's rotations.
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    check_cuda_svd(host, batch, m, n, 1e-6);
  });
  Rng rng(12);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {112, 112}, {13, 30}, {33, 17}}) {
    std::vector<float> host(std::size_t(3 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    for (const int lanes : {4, 8, 16, 32}) {
      if (!cuda_backend::register_jacobi_plan(m, n, lanes, std::size_t(cuda_backend::max_shared_bytes_per_block())).fits())
        continue;
      INFO(lanes, " lanes per pair");
      const cuda_backend::ScopedSetting lanes_setting(context.svd_lanes_per_pair, lanes);
      check_cuda_svd(host, 3, m, n, 1e-6);
    }
  }
  const cuda_backend::ScopedSetting too_few(context.svd_lanes_per_pair, 4);  // 112 rows: 28 a lane
  CHECK_THROWS_WITH_AS(svd(Tensor<float, cuda>::zeros(Shape{1, 112, 112})), doctest::Contains("svd_lanes_per_pair"),
                       Error);
}

TEST_CASE("cuda svd, every algorithm: a NaN or an infinity gives NaN, and entries of 1e30 and 1e-38 stay accurate") {
  if (test::no_gpu()) return;
  const auto on_gpu = [](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    const auto r = svd(Tensor<float, cuda>::from(Shape{batch, m, n}, host));
    return test::SvdVectors{r.S.to_vector(), r.U.to_vector(), r.V.to_vector()};
  };
  for (const auto algorithm : kEveryAlgorithm) {
    INFO("algorithm ", int(algorithm));
    const cuda_backend::ScopedSetting chosen(cuda_backend::Context::get().svd_algorithm, algorithm);
    test::check_nonfinite_matrices(on_gpu);
    test::check_scaled_matrices(on_gpu);
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
  for (const auto algorithm : kEveryAlgorithm) {
    INFO("algorithm ", int(algorithm));
    const cuda_backend::ScopedSetting chosen(cuda_backend::Context::get().svd_algorithm, algorithm);
    const auto values = svd(a, false), full = svd(a);
    CHECK_FALSE(values.U.defined());
    const auto s1 = values.S.to_vector(), s2 = full.S.to_vector();
    for (std::size_t i = 0; i < s1.size(); ++i) CHECK(s1[i] == doctest::Approx(s2[i]).epsilon(1e-6));
  }
  CHECK_THROWS_WITH_AS(svd(Tensor<float, cuda>::zeros(Shape{1, 400, 400})), doctest::Contains("shared memory"), Error);
  CHECK_THROWS_WITH_AS(svd(Tensor<float, cuda>::zeros(Shape{4})), doctest::Contains("rank >= 2"), Error);
}
