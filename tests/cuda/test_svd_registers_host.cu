// The register Jacobi SVD's program (backend/cuda/svd_registers.cuh) run on the host, every lane's
// registers in memory: the same matrices and checks as the GPU test of the SVD, so that CI (no GPU)
// tests the ordering, the mailboxes, the padding and the sorting; test_svd_cuda.cu runs it on the
// GPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <hfc/cuda.cuh>

#include "register_svd_host.hpp"
#include "svd_checks.hpp"

using namespace hfc;

namespace {

// With `lanes` lanes per pair (0: as svd_kernel chooses them); without vectors, u and v stay zero;
// `reversed`: each phase's groups and lanes last to first.
test::SvdVectors register_jacobi_on_host(const std::vector<float>& a, std::int64_t batch, std::int64_t m, std::int64_t n,
                                         int lanes = 0, bool vectors = true, bool reversed = false) {
  const std::int64_t k = std::min(m, n);
  test::SvdVectors r{std::vector<float>(std::size_t(batch * k)), std::vector<float>(std::size_t(batch * m * k)),
                     std::vector<float>(std::size_t(batch * n * k))};
  REQUIRE(test::register_jacobi_svd_on_host(a.data(), batch, m, n, r.s.data(), vectors ? r.u.data() : nullptr,
                                            r.v.data(), lanes, reversed));
  return r;
}

}  // namespace

TEST_CASE("the register Jacobi SVD, run on the host: random, rectangular, rank-deficient, repeated and graded matrices") {
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    const auto r = register_jacobi_on_host(host, batch, m, n);
    // Tighter than the 1e-5 s_max every kernel meets: with Rutishauser's rotations (svd_common.cuh)
    // this kernel stays near 2e-7 at 112 x 112; plain float rotations drift to 1.1e-5.
    test::check_svd_results(host, batch, m, n, r.s, r.u, r.v, 1e-6);
  });
}

TEST_CASE("the register Jacobi SVD, run on the host, with every number of lanes per column pair that fits") {
  Rng rng(11);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {112, 112}, {13, 30}, {33, 17}, {2, 2}}) {
    std::vector<float> host(std::size_t(2 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    for (const int lanes : {4, 8, 16, 32}) {
      if (!cuda_backend::register_jacobi_plan(m, n, lanes, test::kDeviceSharedLimit).fits()) continue;
      INFO(lanes, " lanes per pair");
      const auto r = register_jacobi_on_host(host, 2, m, n, lanes);
      test::check_svd_results(host, 2, m, n, r.s, r.u, r.v);
    }
  }
}

TEST_CASE("register Jacobi SVD: sizes, lanes and shared memory") {
  const auto shape = cuda_backend::RegisterJacobiShape::make(56, 56, 8);
  CHECK(shape.rows_per_lane == 7);
  CHECK(shape.pairs == 28);
  CHECK(shape.threads() == 224);
  CHECK(shape.ld % 32 == 8);
  CHECK(shape.ld >= 56);
  const auto odd = cuda_backend::RegisterJacobiShape::make(9, 5, 4);  // W = A, 9 x 5: a zero sixth column
  CHECK(odd.count == 6);
  CHECK(odd.threads() == 32);  // 3 groups of 4 lanes, padded to a warp
  const auto plan = [](std::int64_t m, std::int64_t n, int lanes) {
    return cuda_backend::register_jacobi_plan(m, n, lanes, test::kDeviceSharedLimit);
  };
  CHECK(plan(56, 56, 0).shape.lanes == 8);
  CHECK(plan(56, 56, 0).rows_per_lane == 8);
  CHECK(plan(112, 112, 0).shape.lanes == 16);
  CHECK(plan(7, 7, 0).shape.lanes == 4);
  CHECK(plan(112, 112, 8).rows_per_lane == 16);     // 14 rows a lane
  CHECK_FALSE(plan(112, 112, 32).fits());          // 56 x 32 threads
  CHECK_FALSE(plan(400, 400, 0).fits());           // the shared-memory kernel's
  CHECK_THROWS_WITH_AS(plan(56, 56, 6), doctest::Contains("4, 8, 16 or 32"), Error);
}

TEST_CASE("the register Jacobi SVD, run on the host: a NaN or an infinity gives NaN, the other matrices as if alone") {
  test::check_nonfinite_matrices([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    return register_jacobi_on_host(host, batch, m, n);
  });
}

TEST_CASE("the register Jacobi SVD, run on the host: entries of 1e30 and 1e-38 (its float sums are scaled)") {
  test::check_scaled_matrices([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    return register_jacobi_on_host(host, batch, m, n);
  });
}

TEST_CASE("the register Jacobi SVD, run on the host: singular values alone are the same values, bit for bit") {
  Rng rng(19);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {9, 5}, {5, 9}}) {
    std::vector<float> host(std::size_t(3 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    const auto full = register_jacobi_on_host(host, 3, m, n);
    const auto values = register_jacobi_on_host(host, 3, m, n, 0, false);
    CHECK(values.s == full.s);
    CHECK(std::all_of(values.u.begin(), values.u.end(), [](float x) { return x == 0; }));
    CHECK(std::all_of(values.v.begin(), values.v.end(), [](float x) { return x == 0; }));
  }
}

TEST_CASE("the register Jacobi SVD, run on the host: edge shapes, each with a zero column or row") {
  // One row or column, counts either side of a warp and of 64 and 128 rows, very tall and wide.
  Rng rng(20);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{1, 6}, {6, 1}, {2, 2}, {3, 64}, {65, 33}, {33, 65},
                      {129, 64}, {256, 31}, {500, 2}}) {
    std::vector<float> host(std::size_t(2 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    for (std::int64_t i = 0; i < 2 * m; ++i) host[std::size_t(i * n)] = 0;
    const auto r = register_jacobi_on_host(host, 2, m, n);
    test::check_svd_results(host, 2, m, n, r.s, r.u, r.v, 1e-6);
  }
}

TEST_CASE("the register Jacobi SVD, run on the host with each phase's groups backwards: the same results, bit for bit") {
  // A phase's groups run side by side on the GPU; had one depended on another, the order would show.
  Rng rng(22);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {9, 5}, {5, 9}, {13, 13}}) {
    std::vector<float> host(std::size_t(2 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    const auto forward = register_jacobi_on_host(host, 2, m, n);
    const auto backward = register_jacobi_on_host(host, 2, m, n, 0, true, true);
    CHECK(forward.s == backward.s);
    CHECK(forward.u == backward.u);
    CHECK(forward.v == backward.v);
  }
}
