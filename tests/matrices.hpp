#pragma once
// Test matrices with prescribed singular values, for the cpu and cuda SVD tests.
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include <hfc/core/rng.hpp>

namespace hfc::test {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Q1 diag(sigma, zero-padded) Q2^T with random orthogonal Q1 (m x m) and Q2 (n x n).
inline MatrixD with_singular_values(std::int64_t m, std::int64_t n, const std::vector<double>& sigma, Rng& rng) {
  auto orthogonal = [&](std::int64_t k) {
    MatrixD g(k, k);
    for (auto& v : g.reshaped()) v = rng.normal();
    return MatrixD(Eigen::HouseholderQR<MatrixD>(g).householderQ());
  };
  MatrixD s = MatrixD::Zero(m, n);
  for (std::size_t i = 0; i < sigma.size(); ++i) s(Eigen::Index(i), Eigen::Index(i)) = sigma[i];
  return orthogonal(m) * s * orthogonal(n).transpose();
}

}  // namespace hfc::test
