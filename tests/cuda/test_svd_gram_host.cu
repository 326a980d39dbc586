// The Gram-Jacobi SVD's block program (backend/cuda/svd_gram.cuh) run on the host, where its
// phases are loops: the same matrices and checks as the GPU test of the SVD, so that CI (no GPU)
// tests the algorithm; test_svd_cuda.cu runs it on the GPU.
#include <doctest/doctest.h>

#include <vector>

#include <hfc/cuda.cuh>

#include "svd_checks.hpp"

using namespace hfc;

namespace {

test::SvdVectors gram_jacobi_on_host(const std::vector<float>& a, std::int64_t batch, std::int64_t m, std::int64_t n) {
  const int rows = int(std::max(m, n)), cols = int(std::min(m, n));
  std::vector<double> memory(cuda_backend::GramJacobiWork::bytes(rows, cols) / sizeof(double) + 1);
  const auto work = cuda_backend::GramJacobiWork::carve(memory.data(), rows, cols);
  test::SvdVectors r{std::vector<float>(std::size_t(batch * cols)), std::vector<float>(std::size_t(batch * m * cols)),
            std::vector<float>(std::size_t(batch * n * cols))};
  for (std::int64_t b = 0; b < batch; ++b)
    cuda_backend::gram_jacobi_svd(cuda_backend::detail::BlockThreads{}, work, a.data() + b * m * n, int(m), int(n), 30,
                                  r.s.data() + b * cols, r.u.data() + b * m * cols, r.v.data() + b * n * cols);
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
