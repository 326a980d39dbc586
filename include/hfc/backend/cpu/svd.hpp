#pragma once
// Batched thin SVD of small dense matrices, A = U diag(s) V^T, singular values descending.
//
// float: the k x k Gram matrix (k = min(m, n)) is formed in double, where the products of float
// inputs are exact, and diagonalised: up to k = 128 eight matrices at a time, one per SIMD lane
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

// sqrt(max(lambda, 0)), keeping a NaN (non-finite input) a NaN rather than a zero.
inline double singular_value(double lambda) { return lambda > 0.0 ? std::sqrt(lambda) : lambda == lambda ? 0.0 : lambda; }

// Where s_i >= 1e-4 s_max, A v_i (norm s_i up to rounding) is already orthogonal to the others to
// about 1e-8 (the eigenvectors' residual is 1e-16 * s_max^2 / s_i^2 relative): normalising it is
// enough.
inline bool normalising_suffices(double s_i, double s_max, double norm) { return s_i >= 1e-4 * s_max && norm > 0.0; }

// Makes the columns of `q` (rows x k, column i = s_i u_i up to rounding) orthonormal: normalised
// where normalising_suffices; the others orthogonalised against all earlier columns by modified
// Gram-Schmidt, twice, and a column with a negligible orthogonal part (s_i numerically zero)
// replaced by the first unit vector e_j that completes the basis.
inline void orthonormalise_columns(MatrixD& q, const Eigen::VectorXd& s) {
  const auto rows = q.rows();
  const double s_max = s.size() ? s(0) : 0.0;
  Eigen::VectorXd x(rows);
  for (Eigen::Index i = 0; i < q.cols(); ++i) {
    const double before = q.col(i).norm();
    if (normalising_suffices(s(i), s_max, before)) {
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
  const Eigen::VectorXd sigma = lambda.unaryExpr(&singular_value);
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

// out(a, b) = sum_i x(i, a) y(i, b) for a < rows, b < cols (b <= a's block only when lower_only),
// on lane matrices (element (i, a) of x at x[(i * x_step_i + a * x_step_a) * kLanes + lane]).
// Blocks of 4 x 4 outputs: sixteen independent FMA chains, eight loads per sixteen FMAs. A block
// at an edge repeats its last row or column instead of reading past it, and stores only its own.
inline void lane_product(const double* x, std::int64_t x_step_i, std::int64_t x_step_a, const double* y,
                         std::int64_t y_step_i, std::int64_t y_step_b, std::int64_t rows, std::int64_t cols,
                         std::int64_t depth, double* out, std::int64_t out_step_a, std::int64_t out_step_b,
                         bool lower_only) {
  constexpr int kBlock = 4;
  for (std::int64_t a0 = 0; a0 < rows; a0 += kBlock) {
    const std::int64_t b_end = lower_only ? std::min(a0 + kBlock, cols) : cols;
    for (std::int64_t b0 = 0; b0 < b_end; b0 += kBlock) {
      const std::int64_t na = std::min<std::int64_t>(kBlock, rows - a0), nb = std::min<std::int64_t>(kBlock, cols - b0);
      const double* xa[kBlock];
      const double* yb[kBlock];
      for (int q = 0; q < kBlock; ++q) {
        xa[q] = x + (a0 + std::min<std::int64_t>(q, na - 1)) * x_step_a * kLanes;
        yb[q] = y + (b0 + std::min<std::int64_t>(q, nb - 1)) * y_step_b * kLanes;
      }
      LaneVector acc[kBlock][kBlock];
      for (auto& row : acc)
        for (auto& v : row) v = zero_lanes();
      for (std::int64_t i = 0; i < depth; ++i) {
        const std::int64_t xo = i * x_step_i * kLanes, yo = i * y_step_i * kLanes;
        LaneVector xv[kBlock], yv[kBlock];
        for (int q = 0; q < kBlock; ++q) {
          xv[q] = load_lanes(xa[q] + xo);
          yv[q] = load_lanes(yb[q] + yo);
        }
        for (int qa = 0; qa < kBlock; ++qa)
          for (int qb = 0; qb < kBlock; ++qb) acc[qa][qb] = fma_lanes(xv[qa], yv[qb], acc[qa][qb]);
      }
      for (std::int64_t qa = 0; qa < na; ++qa)
        for (std::int64_t qb = 0; qb < nb; ++qb) store_lanes(out + ((a0 + qa) * out_step_a + (b0 + qb) * out_step_b) * kLanes, acc[qa][qb]);
    }
  }
}

// Writes columns order[0..k) of one lane of a rows x ? lane matrix (column-major, column stride
// `rows`), each times scale[j], as the row-major rows x k float matrix dst.
template <class T>
void write_lane_columns(const double* src, std::int64_t rows, int lane, const std::int64_t* order, const double* scale,
                        std::int64_t k, T* dst) {
  for (std::int64_t r = 0; r < rows; ++r)  // row by row: dst's stores are contiguous
    for (std::int64_t j = 0; j < k; ++j) dst[r * k + j] = static_cast<T>(src[(order[j] * rows + r) * kLanes + lane] * scale[j]);
}

// Up to kLanes float matrices at once, matrix l in lane l from start to end: its tall orientation
// B (p x k, p = max(m, n)) and Gram matrix B^T B in double, the eigen-decomposition
// (symmetric_eigen.hpp), and B times the eigenvectors, lane products all.
template <class T>
void svd_lanes(const T* a, std::int64_t count, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  const std::int64_t k = std::min(m, n), p = std::max(m, n);
  const bool vectors = u != nullptr;
  struct Workspace {
    LaneBuffer tall, left;  // p x k lane matrices, column-major
    SymmetricLanes gram;
    TridiagonalLanes eigen;
  };
  thread_local Workspace ws;  // kept: its ~1 MB would otherwise be faulted in and zeroed per call
  const auto lane_size = static_cast<std::size_t>(p * k * kLanes);
  if (ws.tall.size() < lane_size) ws.tall.resize(lane_size), ws.left.resize(lane_size);
  ws.gram.resize(k);
  ws.eigen.resize(k, vectors);

  double* HFC_RESTRICT tall = ws.tall.data();
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t r = 0; r < p; ++r) {
      double* to = tall + (c * p + r) * kLanes;
      const std::int64_t at = m >= n ? r * n + c : c * n + r;  // B = A, or A^T when m < n
      for (std::int64_t l = 0; l < count; ++l) to[l] = static_cast<double>(a[l * m * n + at]);
      for (std::int64_t l = count; l < kLanes; ++l) to[l] = 0.0;  // unused lanes stay zero matrices
    }
  lane_product(tall, 1, p, tall, 1, p, k, k, p, ws.gram.a.data(), 1, k, true);
  tridiagonalise(ws.gram, ws.eigen);
  tridiagonal_eigen(ws.eigen);

  const double* z = ws.eigen.vector_data();  // k x k, the eigenvectors as columns
  if (vectors) lane_product(tall, p, 1, z, 1, k, p, k, k, ws.left.data(), 1, p, false);
  std::vector<std::int64_t> order(static_cast<std::size_t>(k));
  Eigen::VectorXd sigma(k);
  std::vector<double> unit(static_cast<std::size_t>(k), 1.0), inverse_norm(static_cast<std::size_t>(k));
  for (int l = 0; l < count; ++l) {
    auto lambda = [&](std::int64_t j) { return ws.eigen.diagonal[j * kLanes + l]; };
    for (std::int64_t j = 0; j < k; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return lambda(x) > lambda(y); });
    for (std::int64_t j = 0; j < k; ++j) {
      sigma(j) = singular_value(lambda(order[j]));
      s[l * k + j] = static_cast<T>(sigma(j));
    }
    if (!vectors) continue;
    // U or V is B's image of the eigenvectors, normalised; orthonormalise_columns takes the
    // columns whose normalisation alone is not enough (small or zero singular values).
    bool normalise_only = true;
    for (std::int64_t j = 0; j < k; ++j) {
      const double* col = ws.left.data() + order[j] * p * kLanes + l;
      double norm = 0;
      for (std::int64_t r = 0; r < p; ++r) norm += col[r * kLanes] * col[r * kLanes];
      norm = std::sqrt(norm);
      normalise_only = normalise_only && normalising_suffices(sigma(j), sigma(0), norm);
      inverse_norm[j] = 1.0 / norm;
    }
    T* image = m >= n ? u + l * m * k : v + l * n * k;  // p x k
    T* eigenvectors = m >= n ? v + l * n * k : u + l * m * k;  // k x k
    write_lane_columns(z, k, l, order.data(), unit.data(), k, eigenvectors);
    if (normalise_only) {
      write_lane_columns(ws.left.data(), p, l, order.data(), inverse_norm.data(), k, image);
    } else {
      MatrixD q(p, k);
      for (std::int64_t j = 0; j < k; ++j)
        for (std::int64_t r = 0; r < p; ++r) q(r, j) = ws.left[(order[j] * p + r) * kLanes + l];
      orthonormalise_columns(q, sigma);
      using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      Eigen::Map<MatrixR>(image, p, k) = q.template cast<T>();
    }
  }
}

}  // namespace detail

// Measured up to 112, where the lanes beat Eigen's solver by 1.2x with vectors and 2.3x without
// (docs/module.md); beyond this size Eigen's solver runs, one matrix per thread.
inline constexpr std::int64_t kMaxLaneSvd = 128;

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
