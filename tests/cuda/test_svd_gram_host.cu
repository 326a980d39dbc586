// The Gram-Jacobi SVD's block program (backend/cuda/svd_gram.cuh) run on the host, where its
// phases are loops: the same matrices and checks as the GPU test of the SVD, so that CI (no GPU)
// tests the algorithm; test_svd_cuda.cu runs it on the GPU.
#include <doctest/doctest.h>

#include <vector>

#include <hfc/cuda.cuh>

#include "svd_checks.hpp"

using namespace hfc;

namespace {

// `reversed`: each phase's items last to first (BlockThreads).
test::SvdVectors gram_jacobi_on_host(const std::vector<float>& a, std::int64_t batch, std::int64_t m, std::int64_t n,
                                     bool reversed = false) {
  const int rows = int(std::max(m, n)), cols = int(std::min(m, n));
  std::vector<double> memory(cuda_backend::GramJacobiWork::bytes(rows, cols) / sizeof(double) + 1);
  const auto work = cuda_backend::GramJacobiWork::carve(memory.data(), rows, cols);
  test::SvdVectors r{std::vector<float>(std::size_t(batch * cols)), std::vector<float>(std::size_t(batch * m * cols)),
            std::vector<float>(std::size_t(batch * n * cols))};
  for (std::int64_t b = 0; b < batch; ++b)
    cuda_backend::gram_jacobi_svd(cuda_backend::detail::BlockThreads{reversed}, work, a.data() + b * m * n, int(m),
                                  int(n), cuda_backend::detail::kMaxJacobiSweeps, r.s.data() + b * cols,
                                  r.u.data() + b * m * cols, r.v.data() + b * n * cols);
  return r;
}

}  // namespace

TEST_CASE("the Gram-Jacobi SVD, run on the host: random, rectangular, rank-deficient, repeated and graded matrices") {
  test::for_each_svd_case([](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    const auto r = gram_jacobi_on_host(host, batch, m, n);
    test::check_svd_results(host, batch, m, n, r.s, r.u, r.v);
  });
}

TEST_CASE("the Gram-Jacobi SVD, run on the host: a NaN or an infinity gives NaN, entries of 1e30 and 1e-38 stay accurate") {
  const auto on_host = [](const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n) {
    return gram_jacobi_on_host(host, batch, m, n);
  };
  test::check_nonfinite_matrices(on_host);
  test::check_scaled_matrices(on_host);
}

TEST_CASE("the Gram-Jacobi SVD, run on the host with each phase backwards: the same results, bit for bit") {
  // A phase's items run side by side on the GPU; had one depended on another, the order would show.
  Rng rng(21);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{56, 56}, {9, 5}, {5, 9}, {13, 13}}) {
    std::vector<float> host(std::size_t(2 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    const auto forward = gram_jacobi_on_host(host, 2, m, n), backward = gram_jacobi_on_host(host, 2, m, n, true);
    CHECK(forward.s == backward.s);
    CHECK(forward.u == backward.u);
    CHECK(forward.v == backward.v);
  }
}
