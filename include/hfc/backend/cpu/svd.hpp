#pragma once
// Batched thin SVD of small dense matrices, A = U diag(s) V^T, singular values descending.
//
// float: the k x k Gram matrix (k = min(m, n)) is formed in double, where the products of float
// inputs are exact, and diagonalised: up to k = 64 eight matrices at a time, one per SIMD lane
// (symmetric_eigen.hpp), beyond that by Eigen's SelfAdjointEigenSolver. The eigenvalues carry an
// absolute error of about 1e-16 * s_max^2, so every singular value is within about 1e-8 * s_max
// of the exact one, well inside float's own 1e-5 * s_max budget, rank-deficient and repeated
// values included, and about 2x faster than LAPACK's sgesdd at 56x56 and 112x112 (docs/module.md).
// double: Eigen's JacobiSVD, accurate to double's precision (the Gram route would lose half).
//
// The other factor comes from A v_i (or A^T u_i), orthonormalised in order of descending s.
// Where s_i is numerically zero it is completed to an orthonormal basis, so U and V always have
// orthonormal columns.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <omp.h>

#include <Eigen/Dense>

#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/cpu/symmetric_eigen.hpp"

namespace hfc::cpu_backend {

namespace detail {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

// Makes the columns of `q` (rows x k, column i = s_i u_i up to rounding) orthonormal.
// Where s_i >= 1e-4 s_max, A v_i is already orthogonal to the others to about 1e-8 (the
// eigenvectors' residual is 1e-16 * s_max^2 / s_i^2 relative), so normalising is enough. The
// smaller ones are orthogonalised against all earlier columns by modified Gram-Schmidt, twice;
// a column with a negligible orthogonal part (s_i numerically zero) is replaced by the first
// unit vector e_j that completes the basis.
inline void orthonormalise_columns(MatrixD& q, const Eigen::VectorXd& s) {
  const auto rows = q.rows();
  const double s_max = s.size() ? s(0) : 0.0;
  Eigen::VectorXd x(rows);
  for (Eigen::Index i = 0; i < q.cols(); ++i) {
    const double before = q.col(i).norm();
    if (s(i) >= 1e-4 * s_max && before > 0.0) {
      q.col(i) /= before;
      continue;
    }
    x = q.col(i);
    for (int pass = 0; pass < 2; ++pass)
      for (Eigen::Index j = 0; j < i; ++j) x -= q.col(j).dot(x) * q.col(j);
    double after = x.norm();
    if (!(before > 1e-13 * s_max) || !(after > 1e-3 * before)) {
      for (Eigen::Index e = 0; e < rows; ++e) {
        x.setZero();
        x(e) = 1.0;
        for (int pass = 0; pass < 2; ++pass)
          for (Eigen::Index j = 0; j < i; ++j) x -= q.col(j).dot(x) * q.col(j);
        after = x.norm();
        if (after > 0.5) break;
      }
    }
    q.col(i) = x / after;
  }
}

// The tall orientation B (rows >= k) of one m x n row-major matrix, in double: A, or A^T if m < n.
template <class T>
MatrixD tall_orientation(const T* a, std::int64_t m, std::int64_t n) {
  using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const MatrixR> A(a, m, n);
  return m >= n ? MatrixD(A.template cast<double>()) : MatrixD(A.transpose().template cast<double>());
}

// s, U and V of A from the eigenpairs of its Gram matrix B^T B, eigenvalues descending.
// right: the eigenvectors as columns (k x k), or null for singular values only.
template <class T>
void from_gram_eigenpairs(const MatrixD& b, const Eigen::VectorXd& lambda, const MatrixD* right, std::int64_t m,
                          std::int64_t n, T* s, T* u, T* v) {
  using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::int64_t k = lambda.size();
  // sqrt(max(lambda, 0)), keeping a NaN (non-finite input) a NaN rather than a zero.
  const Eigen::VectorXd sigma = lambda.unaryExpr([](double l) { return l > 0.0 ? std::sqrt(l) : l == l ? 0.0 : l; });
  for (std::int64_t i = 0; i < k; ++i) s[i] = static_cast<T>(sigma(i));
  if (!right) return;
  MatrixD left = b * *right;  // rows x k, columns s_i * u_i
  orthonormalise_columns(left, sigma);
  Eigen::Map<MatrixR> U(u, m, k), V(v, n, k);
  if (m >= n) {
    U = left.template cast<T>();
    V = right->template cast<T>();
  } else {
    U = right->template cast<T>();
    V = left.template cast<T>();
  }
}

// One m x n row-major matrix. u: m x k, v: n x k (row-major), both optional.
template <class T>
void svd_one(const T* a, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  const std::int64_t k = std::min(m, n);
  const bool vectors = u != nullptr;
  if constexpr (std::is_same_v<T, double>) {
    using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const MatrixR> A(a, m, n);
    Eigen::JacobiSVD<MatrixD> svd(A, vectors ? (Eigen::ComputeThinU | Eigen::ComputeThinV) : 0);
    Eigen::Map<Eigen::VectorXd>(s, k) = svd.singularValues();
    if (vectors) {
      Eigen::Map<MatrixR>(u, m, k) = svd.matrixU();
      Eigen::Map<MatrixR>(v, n, k) = svd.matrixV();
    }
  } else {
    const MatrixD b = tall_orientation(a, m, n);
    MatrixD gram = MatrixD::Zero(k, k);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(b.transpose());
    Eigen::SelfAdjointEigenSolver<MatrixD> eig;
    eig.compute(gram.selfadjointView<Eigen::Lower>(), vectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
    const Eigen::VectorXd lambda = eig.eigenvalues().reverse();  // descending
    if (!vectors) return from_gram_eigenpairs<T>(b, lambda, nullptr, m, n, s, u, v);
    const MatrixD right = eig.eigenvectors().rowwise().reverse();
    from_gram_eigenpairs(b, lambda, &right, m, n, s, u, v);
  }
}

// Up to kLanes float matrices at once: the Gram matrices go through symmetric_eigen.hpp's lanes.
template <class T>
void svd_lanes(const T* a, std::int64_t count, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  const std::int64_t k = std::min(m, n);
  const bool vectors = u != nullptr;
  SymmetricLanes grams(k);
  TridiagonalLanes eigen(k, vectors);
  std::vector<MatrixD> b(static_cast<std::size_t>(count));
  MatrixD gram(k, k);
  for (std::int64_t i = 0; i < count; ++i) {
    b[i] = tall_orientation(a + i * m * n, m, n);
    gram.setZero();
    gram.selfadjointView<Eigen::Lower>().rankUpdate(b[i].transpose());
    for (std::int64_t c = 0; c < k; ++c)
      for (std::int64_t r = c; r < k; ++r) grams.at(r, c)[i] = gram(r, c);  // the lower triangle is all it reads
  }
  tridiagonalise(grams, eigen);
  tridiagonal_eigen(eigen);
  std::vector<std::int64_t> order(static_cast<std::size_t>(k));
  Eigen::VectorXd lambda(k);
  MatrixD right(k, k);
  for (std::int64_t i = 0; i < count; ++i) {
    auto value = [&](std::int64_t j) { return eigen.diagonal[j * kLanes + i]; };
    for (std::int64_t j = 0; j < k; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return value(x) > value(y); });
    for (std::int64_t j = 0; j < k; ++j) lambda(j) = value(order[j]);
    if (vectors)
      for (std::int64_t j = 0; j < k; ++j)
        for (std::int64_t r = 0; r < k; ++r) right(r, j) = eigen.vectors[(order[j] * k + r) * kLanes + i];
    T* ui = vectors ? u + i * m * k : nullptr;
    T* vi = vectors ? v + i * n * k : nullptr;
    from_gram_eigenpairs(b[i], lambda, vectors ? &right : nullptr, m, n, s + i * k, ui, vi);
  }
}

}  // namespace detail

// Up to this size the lanes beat Eigen's solver (at 56, 1.4x with vectors and 2.2-2.7x without;
// at 112 they lose: the eight matrices no longer fit in L2). docs/module.md.
inline constexpr std::int64_t kMaxLaneSvd = 64;

// `batch` matrices m x n, row-major and contiguous. s: batch x k. u: batch x m x k and
// v: batch x n x k, or both null for singular values only.
template <class T>
void svd_kernel(cpu, const T* a, std::int64_t batch, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  const std::int64_t k = std::min(m, n);
  if constexpr (std::is_same_v<T, float>) {
    if (k <= kMaxLaneSvd) {
      // Groups of up to kLanes matrices, as many groups as threads where the batch allows.
      const std::int64_t threads = omp_get_max_threads();
      const std::int64_t group = std::clamp<std::int64_t>((batch + threads - 1) / threads, 1, kLanes);
      const std::int64_t groups = (batch + group - 1) / group;
#pragma omp parallel for schedule(dynamic, 1)
      for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t first = g * group, count = std::min(group, batch - first);
        detail::svd_lanes(a + first * m * n, count, m, n, s + first * k, u ? u + first * m * k : nullptr,
                          v ? v + first * n * k : nullptr);
      }
      return;
    }
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t b = 0; b < batch; ++b)
    detail::svd_one(a + b * m * n, m, n, s + b * k, u ? u + b * m * k : nullptr, v ? v + b * n * k : nullptr);
}

// dA = U diag(ds) V^T for each matrix of the batch.
template <class T>
void svd_backward_kernel(cpu, const T* u, const T* v, const T* ds, std::int64_t batch, std::int64_t m,
                         std::int64_t n, T* da) {
  const std::int64_t k = std::min(m, n);
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    struct Scaled;
    T* scaled = scratch<T, Scaled>(static_cast<std::size_t>(m * k));
    const T* ub = u + b * m * k;
    const T* dsb = ds + b * k;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < k; ++j) scaled[i * k + j] = ub[i * k + j] * dsb[j];
    gemm(Trans::no, Trans::yes, m, n, k, T(1), scaled, k, v + b * n * k, k, T(0), da + b * m * n, n);
  }
}

}  // namespace hfc::cpu_backend
