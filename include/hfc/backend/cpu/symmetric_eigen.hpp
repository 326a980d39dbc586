#pragma once
// Eigenvalues, and optionally eigenvectors, of up to kLanes small symmetric matrices at once, each
// matrix in one SIMD lane (double): Householder reduction to tridiagonal form (LAPACK's dsytd2),
// the orthogonal factor accumulated from the last reflector back, and the implicit QR algorithm
// with Wilkinson shifts (Golub & Van Loan, Algorithm 8.3.3).
//
// Why lanes: at the HFC module's sizes (7 to 112) every step of these algorithms is short, and a
// QR sweep is a chain of Givens rotations, each a square root and two divisions after the
// previous one, so one matrix at a time leaves the vector units idle. Eigen's
// SelfAdjointEigenSolver spent about 250 us on a 56x56 matrix here, half of it in that QR stage.
// Eight matrices in the lanes of one AVX-512 register share each instruction (at 56: the QR
// stage without vectors 280 against about 1000 us for eight matrices; the whole SVD with U and V
// 1.4x faster, docs/module.md). In the QR stage each lane keeps its own active block and shift; a rotation outside
// a lane's block is the identity there (c = 1, s = 0), so a lane that converges early waits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "hfc/backend/cpu/memory.hpp"
#include "hfc/core/error.hpp"

namespace hfc::cpu_backend {

inline constexpr int kLanes = 8;

namespace detail {
// Square roots of one lane vector. Spelled with intrinsics: compilers vectorise std::sqrt only
// under -fno-math-errno, which a header cannot ask for.
inline void lane_sqrt(const double* in, double* out) {
#if defined(__AVX512F__)
  _mm512_storeu_pd(out, _mm512_sqrt_pd(_mm512_loadu_pd(in)));
#elif defined(__AVX__)
  for (int h = 0; h < kLanes; h += 4) _mm256_storeu_pd(out + h, _mm256_sqrt_pd(_mm256_loadu_pd(in + h)));
#elif defined(__SSE2__)
  for (int h = 0; h < kLanes; h += 2) _mm_storeu_pd(out + h, _mm_sqrt_pd(_mm_loadu_pd(in + h)));
#else
  for (int l = 0; l < kLanes; ++l) out[l] = std::sqrt(in[l]);
#endif
}
}  // namespace detail

// Lane-interleaved storage: element i of lane l at [i * kLanes + l].
struct TridiagonalLanes {
  std::int64_t n = 0;
  std::vector<double> diagonal;     // n x kLanes
  std::vector<double> subdiagonal;  // n x kLanes, entry n - 1 unused (kept zero)
  std::vector<double> vectors;      // n x n x kLanes, column-major per lane: [(col * n + row) * kLanes + l]; empty: values only

  explicit TridiagonalLanes(std::int64_t size, bool with_vectors)
      : n(size),
        diagonal(static_cast<std::size_t>(size * kLanes), 0.0),
        subdiagonal(static_cast<std::size_t>(size * kLanes), 0.0),
        vectors(with_vectors ? static_cast<std::size_t>(size * size * kLanes) : 0, 0.0) {}
};

// A symmetric n x n matrix per lane, column-major: entry (r, c) of lane l at [(c * n + r) * kLanes + l].
// Only the lower triangle (r >= c) is read. Unused lanes hold zeros.
struct SymmetricLanes {
  std::int64_t n = 0;
  std::vector<double> a;
  explicit SymmetricLanes(std::int64_t size) : n(size), a(static_cast<std::size_t>(size * size * kLanes), 0.0) {}
  double* at(std::int64_t row, std::int64_t col) { return a.data() + (col * n + row) * kLanes; }
};

// Reduces every lane of m to tridiagonal form T = Q^T M Q (Householder reflectors from the left
// column by column, as LAPACK's dsytd2 with uplo = 'L'), writing T's diagonals into t and, when
// t.vectors is allocated, Q into it. m is overwritten.
inline void tridiagonalise(SymmetricLanes& m, TridiagonalLanes& t) {
  const std::int64_t n = m.n;
  check(t.n == n, "tridiagonalise: sizes differ (", n, " and ", t.n, ")");
  std::vector<double> tau(static_cast<std::size_t>(std::max<std::int64_t>(n, 1) * kLanes), 0.0);
  std::vector<double> p(static_cast<std::size_t>(n * kLanes));
  for (std::int64_t j = 0; j + 2 < n; ++j) {
    // The reflector H = I - tau v v^T (v_0 = 1) that maps x = M[j+1:, j] onto beta e_0.
    const std::int64_t len = n - j - 1;
    double* x = m.at(j + 1, j);  // len lane vectors, contiguous; becomes v
    double sigma[kLanes] = {}, beta[kLanes], scale[kLanes];
    for (std::int64_t i = 1; i < len; ++i)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) sigma[l] += x[i * kLanes + l] * x[i * kLanes + l];
    double norm[kLanes];
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) norm[l] = x[l] * x[l] + sigma[l];
    detail::lane_sqrt(norm, norm);
    double* tj = tau.data() + j * kLanes;
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const bool reflect = sigma[l] > 0.0;  // else x is beta e_0 already: H = I
      const double alpha = x[l];
      beta[l] = reflect ? (alpha >= 0.0 ? -norm[l] : norm[l]) : alpha;
      tj[l] = reflect ? (beta[l] - alpha) / beta[l] : 0.0;
      scale[l] = reflect ? 1.0 / (alpha - beta[l]) : 0.0;
      t.diagonal[j * kLanes + l] = *(m.at(j, j) + l);
      t.subdiagonal[j * kLanes + l] = beta[l];
      x[l] = 1.0;
    }
    for (std::int64_t i = 1; i < len; ++i)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) x[i * kLanes + l] *= scale[l];

    // Two-sided update of the trailing block A = M[j+1:, j+1:], lower triangle only: p = tau A v,
    // w = p - (tau / 2)(p^T v) v, A -= v w^T + w v^T.
    double* HFC_RESTRICT w = p.data();
    const double* HFC_RESTRICT v = x;
    std::fill(w, w + len * kLanes, 0.0);
    for (std::int64_t c = 0; c < len; ++c) {
      // Column c below the diagonal feeds w[r] (as A[r, c]) and w[c] (as A[c, r]).
      const double* HFC_RESTRICT col = m.at(j + 1, j + 1 + c);
      double vc[kLanes], wc[kLanes];
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        vc[l] = v[c * kLanes + l];
        wc[l] = col[c * kLanes + l] * vc[l];
      }
      for (std::int64_t r = (c + 1) * kLanes; r < len * kLanes; r += kLanes)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
          w[r + l] += col[r + l] * vc[l];
          wc[l] += col[r + l] * v[r + l];
        }
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) w[c * kLanes + l] += wc[l];
    }
    double pv[kLanes] = {};
    for (std::int64_t r = 0; r < len * kLanes; r += kLanes)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        w[r + l] *= tj[l];
        pv[l] += w[r + l] * v[r + l];
      }
    for (int l = 0; l < kLanes; ++l) pv[l] *= 0.5 * tj[l];
    for (std::int64_t r = 0; r < len * kLanes; r += kLanes)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) w[r + l] -= pv[l] * v[r + l];
    for (std::int64_t c = 0; c < len; ++c) {
      double* HFC_RESTRICT col = m.at(j + 1, j + 1 + c);
      double vc[kLanes], wc[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        vc[l] = v[c * kLanes + l];
        wc[l] = w[c * kLanes + l];
      }
      for (std::int64_t r = c * kLanes; r < len * kLanes; r += kLanes)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) col[r + l] -= v[r + l] * wc[l] + w[r + l] * vc[l];
    }
  }
  // The last 2x2 block (or 1x1) is tridiagonal already.
  for (std::int64_t j = std::max<std::int64_t>(n - 2, 0); j < n; ++j)
    for (int l = 0; l < kLanes; ++l) {
      t.diagonal[j * kLanes + l] = *(m.at(j, j) + l);
      t.subdiagonal[j * kLanes + l] = j + 1 < n ? *(m.at(j + 1, j) + l) : 0.0;
    }
  if (t.vectors.empty()) return;

  // Q = H_0 H_1 ... H_{n-3}, applied to the identity from the last reflector back, so each step
  // touches only the trailing block where Q differs from the identity.
  std::fill(t.vectors.begin(), t.vectors.end(), 0.0);
  auto q = [&](std::int64_t row, std::int64_t col) { return t.vectors.data() + (col * n + row) * kLanes; };
  for (std::int64_t i = 0; i < n; ++i)
    for (int l = 0; l < kLanes; ++l) q(i, i)[l] = 1.0;
  for (std::int64_t j = n - 3; j >= 0; --j) {
    const std::int64_t len = n - j - 1;
    const double* HFC_RESTRICT v = m.at(j + 1, j);
    const double* tj = tau.data() + j * kLanes;
    for (std::int64_t c = j + 1; c < n; ++c) {
      double* HFC_RESTRICT col = q(j + 1, c);
      double y[kLanes] = {};  // tau v^T Q[:, c]
      for (std::int64_t r = 0; r < len * kLanes; r += kLanes)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) y[l] += v[r + l] * col[r + l];
      for (int l = 0; l < kLanes; ++l) y[l] *= tj[l];
      for (std::int64_t r = 0; r < len * kLanes; r += kLanes)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) col[r + l] -= y[l] * v[r + l];
    }
  }
}

// Diagonalises every lane in place: diagonal becomes the eigenvalues (unsorted), and vectors,
// when present, is multiplied on the right by the rotations (start it from the identity, or from
// the orthogonal matrix that made the tridiagonal form, to get the eigenvectors as columns).
// Unused lanes must hold zeros (they are diagonal already). A lane with a non-finite entry, or
// one that does not converge in 30 n sweeps, gets NaN eigenvalues.
inline void tridiagonal_eigen(TridiagonalLanes& t) {
  const std::int64_t n = t.n;
  if (n <= 1) return;
  double* HFC_RESTRICT d = t.diagonal.data();
  double* HFC_RESTRICT e = t.subdiagonal.data();
  double* z = t.vectors.empty() ? nullptr : t.vectors.data();
  constexpr double eps = std::numeric_limits<double>::epsilon();

  // Absolute floor of the deflation test: eps times each lane's largest entry. A lane holding a
  // NaN or an infinity would never deflate: its eigenvalues become NaN at once, as a diverging
  // training run needs to see them (the callers run inside OpenMP regions, where a throw aborts).
  // A lane given up on is zeroed while the others iterate (its rotations must stay the identity,
  // and 0 * NaN is not 0) and gets its NaNs at the end.
  double floor[kLanes];
  bool failed[kLanes] = {};
  auto give_up = [&](int l) {
    failed[l] = true;
    for (std::int64_t i = 0; i < n; ++i) d[i * kLanes + l] = e[i * kLanes + l] = 0.0;
  };
  for (int l = 0; l < kLanes; ++l) {
    double m = 0;
    bool finite = true;  // checked apart: std::max passes over a NaN
    for (std::int64_t i = 0; i < n; ++i) {
      const double di = d[i * kLanes + l], ei = e[i * kLanes + l];
      finite = finite && std::isfinite(di) && std::isfinite(ei);
      m = std::max({m, std::abs(di), std::abs(ei)});
    }
    floor[l] = eps * m;
    if (!finite) give_up(l);
  }
  std::int64_t start[kLanes], end[kLanes];
  double none[kLanes] = {};  // stands in for the coupling above row 0
  const std::int64_t max_sweeps = 30 * n;
  for (std::int64_t sweep = 0;; ++sweep) {
    // Deflate: a negligible off-diagonal entry splits its lane's matrix.
    for (std::int64_t i = 0; i + 1 < n; ++i)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const double a = std::abs(e[i * kLanes + l]);
        if (a <= eps * (std::abs(d[i * kLanes + l]) + std::abs(d[(i + 1) * kLanes + l])) || a <= floor[l])
          e[i * kLanes + l] = 0.0;
      }
    // Each lane works on the last unreduced block [start, end] of its matrix.
    std::int64_t first = n, last = 0;
    for (int l = 0; l < kLanes; ++l) {
      std::int64_t hi = n - 1;
      while (hi > 0 && e[(hi - 1) * kLanes + l] == 0.0) --hi;
      std::int64_t lo = hi;
      while (lo > 0 && e[(lo - 1) * kLanes + l] != 0.0) --lo;
      start[l] = lo;
      end[l] = hi;
      if (hi > lo) {
        first = std::min(first, lo);
        last = std::max(last, hi);
      }
    }
    if (sweep == max_sweeps)  // never seen with finite input (LAPACK's dsteqr allows 30 n too)
      for (int l = 0; l < kLanes; ++l)
        if (end[l] > start[l]) give_up(l);
    if (first >= last || sweep == max_sweeps) break;

    // Wilkinson shift from each lane's trailing 2x2 block.
    double x[kLanes], bulge[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const std::int64_t hi = end[l];
      double mu = 0;
      if (hi > start[l]) {
        const double dn = d[hi * kLanes + l], en = e[(hi - 1) * kLanes + l];
        const double td = 0.5 * (d[(hi - 1) * kLanes + l] - dn);
        const double h = std::hypot(td, en);
        mu = td == 0.0 ? dn - std::abs(en) : dn - en * (en / (td + std::copysign(h, td)));
      }
      x[l] = d[start[l] * kLanes + l] - mu;
      bulge[l] = e[start[l] * kLanes + l];
    }
    // Chase the bulge down every active lane at once.
    for (std::int64_t k = first; k < last; ++k) {
      double* dk = d + k * kLanes;
      double* ek = e + k * kLanes;
      double* above = k > 0 ? ek - kLanes : none;  // coupling of k - 1 and k
      double c[kLanes], s[kLanes], r[kLanes];
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) r[l] = x[l] * x[l] + bulge[l] * bulge[l];
      detail::lane_sqrt(r, r);
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const bool active = k >= start[l] && k < end[l];
        const bool rotate = active && r[l] > 0.0;
        const double inverse = 1.0 / (rotate ? r[l] : 1.0);  // one division, not two: the divider is the bottleneck
        c[l] = rotate ? x[l] * inverse : 1.0;
        s[l] = rotate ? -bulge[l] * inverse : 0.0;
        const double a = dk[l], b = ek[l], cc = dk[kLanes + l];
        const double cs = c[l] * s[l], c2 = c[l] * c[l], s2 = s[l] * s[l];
        dk[l] = a * c2 - 2.0 * b * cs + cc * s2;
        dk[kLanes + l] = a * s2 + 2.0 * b * cs + cc * c2;
        ek[l] = (a - cc) * cs + b * (c2 - s2);
        above[l] = k > start[l] && rotate ? c[l] * above[l] - s[l] * bulge[l] : above[l];
        const double next = ek[kLanes + l];  // coupling of k + 1 and k + 2 (zero past the end)
        bulge[l] = rotate ? -s[l] * next : bulge[l];
        ek[kLanes + l] = rotate ? c[l] * next : next;
        x[l] = rotate ? ek[l] : x[l];
      }
      if (z) {
        // Z <- Z R on columns k and k + 1, each contiguous.
        double* HFC_RESTRICT zk = z + k * n * kLanes;
        double* HFC_RESTRICT zk1 = zk + n * kLanes;
        for (std::int64_t row = 0; row < n * kLanes; row += kLanes)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) {
            const double p = zk[row + l], q = zk1[row + l];
            zk[row + l] = c[l] * p - s[l] * q;
            zk1[row + l] = s[l] * p + c[l] * q;
          }
      }
    }
  }
  for (int l = 0; l < kLanes; ++l)
    if (failed[l])
      for (std::int64_t i = 0; i < n; ++i) d[i * kLanes + l] = std::numeric_limits<double>::quiet_NaN();
}

}  // namespace hfc::cpu_backend
