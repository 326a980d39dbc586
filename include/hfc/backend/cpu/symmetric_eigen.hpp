#pragma once
// Eigenvalues, and optionally eigenvectors, of up to kLanes small symmetric matrices at once, each
// matrix in one SIMD lane (double): Householder reduction to tridiagonal form (LAPACK's dsytd2),
// the orthogonal factor accumulated from the last reflector back, and the implicit QR algorithm
// with Wilkinson shifts (Golub & Van Loan, Algorithm 8.3.3).
//
// Why lanes: at the HFC module's sizes (7 to 112) every step of these algorithms is short, and a
// QR sweep is a chain of Givens rotations, each a square root and a division after the previous
// one, so one matrix at a time leaves the vector units idle. Eigen's SelfAdjointEigenSolver spent
// about 250 us on a 56x56 matrix here, half of it in that QR stage. Eight matrices in the lanes of
// one AVX-512 register share each instruction. In the QR stage each lane keeps its own active
// block and shift; a rotation outside a lane's block is the identity there (c = 1, s = 0), so a
// lane that converges early waits. The rotations are recorded and applied to the eigenvectors
// after the last sweep, a few rows at a time through all sweeps (see apply_sweeps).
// Numbers: docs/module.md.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "hfc/backend/cpu/lanes.hpp"
#include "hfc/backend/cpu/memory.hpp"
#include "hfc/core/error.hpp"

namespace hfc::cpu_backend {

namespace detail {

// Column blocks: at the module's sizes these loops are short, and a dot product over one column
// waits on each FMA's latency (4 cycles) at every row. Cols columns at a time run Cols
// independent chains and load v once for all of them.

// w += A v for columns c0 .. c0 + Cols - 1 of a symmetric block stored as its lower triangle
// (column q's entries from row c0 + q down): an entry A[r, c] below the diagonal adds to w[r]
// (as itself) and to w[c] (as A[c, r]).
template <int Cols>
void symmetric_matvec_columns(const double* const* col, const double* HFC_RESTRICT v, double* HFC_RESTRICT w,
                              std::int64_t c0, std::int64_t len) {
  LaneVector vc[Cols], wc[Cols];
  for (int q = 0; q < Cols; ++q) {
    const std::int64_t c = (c0 + q) * kLanes;
    vc[q] = load_lanes(v + c);
    wc[q] = mul_lanes(load_lanes(col[q] + c), vc[q]);
    for (std::int64_t r = c + kLanes; r < (c0 + Cols) * kLanes; r += kLanes) {  // inside the block's triangle
      const LaneVector a = load_lanes(col[q] + r);
      store_lanes(w + r, fma_lanes(a, vc[q], load_lanes(w + r)));
      wc[q] = fma_lanes(a, load_lanes(v + r), wc[q]);
    }
  }
  for (std::int64_t r = (c0 + Cols) * kLanes; r < len * kLanes; r += kLanes) {
    const LaneVector vr = load_lanes(v + r);
    LaneVector sum = load_lanes(w + r);
    for (int q = 0; q < Cols; ++q) {
      const LaneVector a = load_lanes(col[q] + r);
      sum = fma_lanes(a, vc[q], sum);
      wc[q] = fma_lanes(a, vr, wc[q]);
    }
    store_lanes(w + r, sum);
  }
  for (int q = 0; q < Cols; ++q) store_lanes(w + (c0 + q) * kLanes, add_lanes(load_lanes(w + (c0 + q) * kLanes), wc[q]));
}

// col_q -= tau v (v^T col_q) for Cols columns of len rows.
template <int Cols>
void reflect_columns(double* const* col, const double* HFC_RESTRICT v, const double* tau, std::int64_t len) {
  LaneVector y[Cols];
  for (auto& yq : y) yq = zero_lanes();
  for (std::int64_t r = 0; r < len * kLanes; r += kLanes) {
    const LaneVector vr = load_lanes(v + r);
    for (int q = 0; q < Cols; ++q) y[q] = fma_lanes(vr, load_lanes(col[q] + r), y[q]);
  }
  const LaneVector t = load_lanes(tau);
  for (auto& yq : y) yq = mul_lanes(yq, t);
  for (std::int64_t r = 0; r < len * kLanes; r += kLanes) {
    const LaneVector vr = load_lanes(v + r);
    for (int q = 0; q < Cols; ++q) store_lanes(col[q] + r, fnma_lanes(y[q], vr, load_lanes(col[q] + r)));
  }
}

// col_q <- H_lo H_hi col_q for Cols columns whose rows start at row j (col_q[0]), H_hi = I -
// tau_hi v_hi v_hi^T acting on the len rows from j + 1 and H_lo = I - tau_lo v_lo v_lo^T on the
// len + 1 rows from j (v_lo[0] = 1). Row j of the columns is zero before (Q is the identity above
// its trailing block). overlap = v_lo[1:]^T v_hi.
template <int Cols>
void reflect_columns_twice(double* const* col, const double* HFC_RESTRICT v_hi, const double* HFC_RESTRICT v_lo,
                           const double* tau_hi, const double* tau_lo, LaneVector overlap, std::int64_t len) {
  LaneVector y_hi[Cols], y_lo[Cols];
  for (int q = 0; q < Cols; ++q) y_hi[q] = y_lo[q] = zero_lanes();
  for (std::int64_t r = 0; r < len * kLanes; r += kLanes) {
    const LaneVector h = load_lanes(v_hi + r), l = load_lanes(v_lo + kLanes + r);
    for (int q = 0; q < Cols; ++q) {
      const LaneVector c = load_lanes(col[q] + kLanes + r);
      y_hi[q] = fma_lanes(h, c, y_hi[q]);
      y_lo[q] = fma_lanes(l, c, y_lo[q]);
    }
  }
  // y_lo = tau_lo v_lo^T (H_hi col) = tau_lo (v_lo^T col - y_hi overlap)
  const LaneVector t_hi = load_lanes(tau_hi), t_lo = load_lanes(tau_lo);
  for (int q = 0; q < Cols; ++q) {
    y_hi[q] = mul_lanes(y_hi[q], t_hi);
    y_lo[q] = mul_lanes(fnma_lanes(y_hi[q], overlap, y_lo[q]), t_lo);
    store_lanes(col[q], sub_lanes(zero_lanes(), y_lo[q]));  // row j: 0 - y_lo
  }
  for (std::int64_t r = 0; r < len * kLanes; r += kLanes) {
    const LaneVector h = load_lanes(v_hi + r), l = load_lanes(v_lo + kLanes + r);
    for (int q = 0; q < Cols; ++q) {
      double* c = col[q] + kLanes + r;
      store_lanes(c, fnma_lanes(y_lo[q], l, fnma_lanes(y_hi[q], h, load_lanes(c))));
    }
  }
}

// Calls f.template operator()<B>(i) for blocks [i, i + B) covering [begin, end): blocks of
// Block, then the rest in halving sizes (7 = 4 + 2 + 1), each size compiled with fixed bounds.
template <int Block, class F>
void for_blocks(std::int64_t begin, std::int64_t end, F&& f) {
  std::int64_t i = begin;
  for (; i + Block <= end; i += Block) f.template operator()<Block>(i);
  if constexpr (Block > 1)
    if (i < end) for_blocks<Block / 2>(i, end, f);
}

// Z <- Z G_0 G_1 ... G_{S-1} on Rows lane-vector rows from r0, where each sweep G_t is the
// product of the rotations R_k of columns k and k + 1 for k = first .. last - 1, by
// (c_t[k - first], s_t[k - first]); with len = (last - first) * kLanes, c_t is at cs + 2 t len and
// s_t at cs + (2 t + 1) len.
//
// Stores are the bottleneck here (on the development VM a 64-byte store costs as much as four
// FMAs), so the S sweeps run as a pipeline over the columns: sweep t holds one column in
// registers, rotates it against the column sweep t - 1 hands on and hands the finished one to
// sweep t + 1. Each column is loaded and stored once for all S sweeps.
template <int Rows, int S>
void rotate_rows(double* HFC_RESTRICT z, std::int64_t n, std::int64_t r0, const double* HFC_RESTRICT cs,
                 std::int64_t first, std::int64_t last) {
  const std::int64_t len = (last - first) * kLanes;
  LaneVector carry[S][Rows], flow[Rows];
  double* zr = z + r0 * kLanes;  // column a of the block at zr + a * n * kLanes
  const std::int64_t column = n * kLanes;
  // Sweep t's rotation a - 1 finishes column a - 1 (into flow) and holds column a (in carry[t]).
  const auto rotation = [&](int t, std::int64_t a, LaneVector& c, LaneVector& s) {
    c = load_lanes(cs + 2 * t * len + (a - 1 - first) * kLanes);
    s = load_lanes(cs + (2 * t + 1) * len + (a - 1 - first) * kLanes);
  };
  // The ends of the pipeline, where some sweeps have not started or have finished.
  const auto edge_step = [&](std::int64_t j, LaneVector (&held)[S][Rows], LaneVector (&moving)[Rows]) {
    for (int t = 0; t < S; ++t) {
      const std::int64_t a = j - t;  // the column reaching sweep t in this step
      if (a < first) break;
      if (a > last + 1) continue;  // sweep t is done
      if (t == 0 && a <= last)
        for (int q = 0; q < Rows; ++q) moving[q] = load_lanes(zr + a * column + q * kLanes);
      if (a == first) {  // sweep t's first column: held, nothing handed on yet
        for (int q = 0; q < Rows; ++q) held[t][q] = moving[q];
        break;
      }
      if (a <= last) {
        LaneVector c, s;
        rotation(t, a, c, s);
        for (int q = 0; q < Rows; ++q) rotate_lanes(held[t][q], moving[q], c, s);
        for (int q = 0; q < Rows; ++q) std::swap(held[t][q], moving[q]);
      } else {  // a == last + 1: the held column is finished
        for (int q = 0; q < Rows; ++q) moving[q] = held[t][q];
      }
      if (t == S - 1)  // column a - 1 has passed every sweep
        for (int q = 0; q < Rows; ++q) store_lanes(zr + (a - 1) * column + q * kLanes, moving[q]);
    }
  };
  const std::int64_t steady_begin = first + S;
  for (std::int64_t j = first; j < std::min(steady_begin, last + S + 1); ++j) edge_step(j, carry, flow);
  for (std::int64_t j = steady_begin; j <= last; ++j) {  // every sweep busy
    for (int q = 0; q < Rows; ++q) flow[q] = load_lanes(zr + j * column + q * kLanes);
#pragma GCC unroll 8
    for (int t = 0; t < S; ++t) {
      LaneVector c, s;
      rotation(t, j - t, c, s);
#pragma GCC unroll 8
      for (int q = 0; q < Rows; ++q) {
        rotate_lanes(carry[t][q], flow[q], c, s);
        std::swap(carry[t][q], flow[q]);
      }
    }
    for (int q = 0; q < Rows; ++q) store_lanes(zr + (j - S) * column + q * kLanes, flow[q]);
  }
  for (std::int64_t j = std::max(steady_begin, last + 1); j <= last + S; ++j) edge_step(j, carry, flow);
}
}  // namespace detail

// Lane-interleaved storage: element i of lane l at [i * kLanes + l]. Both structs keep their
// storage when resized (callers reuse one per thread: a fresh 200 KB block per call costs page
// faults and zeroing).
struct TridiagonalLanes {
  std::int64_t n = 0;
  bool with_vectors = false;
  LaneBuffer diagonal;     // n x kLanes
  LaneBuffer subdiagonal;  // n x kLanes, entry n - 1 unused (kept zero)
  LaneBuffer vectors;      // with_vectors: n x n x kLanes, column-major per lane: [(col * n + row) * kLanes + l]

  void resize(std::int64_t size, bool vectors_too) {
    n = size;
    with_vectors = vectors_too;
    grow(diagonal, size * kLanes);
    grow(subdiagonal, size * kLanes);
    if (vectors_too) grow(vectors, size * size * kLanes);
  }
  double* vector_data() { return with_vectors ? vectors.data() : nullptr; }

  // The QR sweeps' rotations, recorded for Z (tridiagonal_eigen's workspace, kept between calls).
  struct Sweep {
    std::int64_t first, last, offset;  // rotations first .. last - 1; c at offset, then s
  };
  std::vector<Sweep> sweeps;
  LaneBuffer rotations, padded_rotations;

 private:
  static void grow(LaneBuffer& v, std::int64_t count) {
    if (static_cast<std::int64_t>(v.size()) < count) v.resize(static_cast<std::size_t>(count));
  }
};

// A symmetric n x n matrix per lane, column-major: entry (r, c) of lane l at [(c * n + r) * kLanes + l].
// Only the lower triangle (r >= c) is read. Unused lanes must hold zeros.
struct SymmetricLanes {
  std::int64_t n = 0;
  LaneBuffer a;
  void resize(std::int64_t size) {
    n = size;
    if (static_cast<std::int64_t>(a.size()) < size * size * kLanes) a.resize(static_cast<std::size_t>(size * size * kLanes));
  }
  double* at(std::int64_t row, std::int64_t col) { return a.data() + (col * n + row) * kLanes; }
};

// Reduces every lane of m to tridiagonal form T = Q^T M Q (Householder reflectors from the left
// column by column, as LAPACK's dsytd2 with uplo = 'L'), writing T's diagonals into t and, when
// t.with_vectors, Q into it. m is overwritten.
inline void tridiagonalise(SymmetricLanes& m, TridiagonalLanes& t) {
  const std::int64_t n = m.n;
  check(t.n == n, "tridiagonalise: sizes differ (", n, " and ", t.n, ")");
  LaneBuffer tau(static_cast<std::size_t>(std::max<std::int64_t>(n, 1) * kLanes), 0.0);
  LaneBuffer p(static_cast<std::size_t>(n * kLanes));
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
    lane_sqrt(norm, norm);
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
    detail::for_blocks<4>(0, len, [&]<int Cols>(std::int64_t c0) {
      const double* col[Cols];
      for (int q = 0; q < Cols; ++q) col[q] = m.at(j + 1, j + 1 + c0 + q);
      detail::symmetric_matvec_columns<Cols>(col, v, w, c0, len);
    });
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
  if (!t.with_vectors) return;

  // Q = H_0 H_1 ... H_{n-3}, applied to the identity from the last reflector back, so each step
  // touches only the trailing block where Q differs from the identity.
  std::fill_n(t.vectors.begin(), n * n * kLanes, 0.0);
  auto q = [&](std::int64_t row, std::int64_t col) { return t.vectors.data() + (col * n + row) * kLanes; };
  for (std::int64_t i = 0; i < n; ++i)
    for (int l = 0; l < kLanes; ++l) q(i, i)[l] = 1.0;
  // Two reflectors per pass over the columns (H_{j-1} H_j): half the loads and stores.
  std::int64_t j = n - 3;
  for (; j >= 1; j -= 2) {
    const std::int64_t len = n - j - 1;
    const double* HFC_RESTRICT v_hi = m.at(j + 1, j);     // H_j: rows j + 1 ..
    const double* HFC_RESTRICT v_lo = m.at(j, j - 1);     // H_{j-1}: rows j .., v_lo[0] = 1
    const double* tau_hi = tau.data() + j * kLanes;
    const double* tau_lo = tau.data() + (j - 1) * kLanes;
    LaneVector overlap = zero_lanes();  // v_lo[1:]^T v_hi
    for (std::int64_t r = 0; r < len * kLanes; r += kLanes)
      overlap = fma_lanes(load_lanes(v_lo + kLanes + r), load_lanes(v_hi + r), overlap);
    detail::for_blocks<4>(j + 1, n, [&]<int Cols>(std::int64_t c0) {
      double* col[Cols];
      for (int k = 0; k < Cols; ++k) col[k] = q(j, c0 + k);
      detail::reflect_columns_twice<Cols>(col, v_hi, v_lo, tau_hi, tau_lo, overlap, len);
    });
    // Column j is e_j until H_{j-1}: it becomes e_j - tau_{j-1} v_{j-1}.
    double* col = q(j, j);
    const LaneVector t_lo = load_lanes(tau_lo);
    for (std::int64_t r = 0; r < (len + 1) * kLanes; r += kLanes)
      store_lanes(col + r, fnma_lanes(t_lo, load_lanes(v_lo + r), load_lanes(col + r)));
  }
  if (j == 0) {  // n odd: H_0 alone
    const std::int64_t len = n - 1;
    detail::for_blocks<4>(1, n, [&]<int Cols>(std::int64_t c0) {
      double* col[Cols];
      for (int k = 0; k < Cols; ++k) col[k] = q(1, c0 + k);
      detail::reflect_columns<Cols>(col, m.at(1, 0), tau.data(), len);
    });
  }
}

namespace detail {
// Z <- Z times the rotations of every recorded sweep. The sweeps go in groups of kSweeps over
// [first, last) of the group (a sweep's rotations outside its own range are the identity), and
// the groups over blocks of four rows, which stay in L1 (14 KB at n = 56) through all the sweeps.
inline void apply_sweeps(TridiagonalLanes& t) {
  constexpr int kSweeps = 4;
  const std::int64_t n = t.n;
  struct Group {
    std::int64_t first, last, offset;
  };
  std::vector<Group> groups;
  LaneBuffer& padded = t.padded_rotations;
  std::size_t used = 0;
  for (std::size_t g = 0; g < t.sweeps.size(); g += kSweeps) {
    Group group{n, 0, static_cast<std::int64_t>(used)};
    for (std::size_t i = g; i < std::min(g + kSweeps, t.sweeps.size()); ++i) {
      group.first = std::min(group.first, t.sweeps[i].first);
      group.last = std::max(group.last, t.sweeps[i].last);
    }
    const std::int64_t len = (group.last - group.first) * kLanes;
    used += static_cast<std::size_t>(2 * kSweeps * len);
    if (padded.size() < used) padded.resize(std::max(used, 2 * padded.size()));
    double* cs = padded.data() + group.offset;
    for (int i = 0; i < kSweeps; ++i) {
      double* c = cs + 2 * i * len;
      std::fill(c, c + len, 1.0);
      std::fill(c + len, c + 2 * len, 0.0);
      if (g + i >= t.sweeps.size()) continue;  // a missing sweep is the identity
      const auto& sweep = t.sweeps[g + i];
      const std::int64_t count = (sweep.last - sweep.first) * kLanes;
      const double* recorded = t.rotations.data() + sweep.offset;
      const std::int64_t at = (sweep.first - group.first) * kLanes;
      std::copy(recorded, recorded + count, c + at);
      std::copy(recorded + count, recorded + 2 * count, c + len + at);
    }
    groups.push_back(group);
  }
  double* z = t.vectors.data();
  for_blocks<4>(0, n, [&]<int Rows>(std::int64_t r0) {
    for (const auto& g : groups) rotate_rows<Rows, kSweeps>(z, n, r0, padded.data() + g.offset, g.first, g.last);
  });
}
}  // namespace detail

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
  double* z = t.vector_data();
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
  // Each lane works on the last unreduced block [start, end] of its matrix. A block only shrinks:
  // its bottom coupling deflates (end moves up) or one inside it does (a split: its start is
  // looked for again). Only the couplings the last sweep changed, [check_begin, check_end), are
  // tested for deflation.
  alignas(64) std::int64_t start[kLanes], end[kLanes];  // loaded whole by the chase's lane masks
  for (int l = 0; l < kLanes; ++l) start[l] = end[l] = n - 1;  // no block yet: found by the first scan
  std::int64_t check_begin = 0, check_end = n - 1;
  t.sweeps.clear();
  std::size_t recorded = 0;  // doubles of t.rotations in use
  const std::int64_t max_sweeps = 30 * n;
  for (std::int64_t sweep = 0;; ++sweep) {
    // Deflate: a negligible off-diagonal entry splits its lane's matrix.
    std::int64_t split[kLanes] = {};
    for (std::int64_t i = check_begin; i < check_end; ++i)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const double a = std::abs(e[i * kLanes + l]);
        const bool small = (a <= eps * (std::abs(d[i * kLanes + l]) + std::abs(d[(i + 1) * kLanes + l]))) | (a <= floor[l]);
        split[l] |= small & (i >= start[l]) & (i + 1 < end[l]);
        e[i * kLanes + l] = small ? 0.0 : e[i * kLanes + l];
      }
    std::int64_t first = n, last = 0;
    for (int l = 0; l < kLanes; ++l) {
      std::int64_t hi = end[l];
      while (hi > 0 && e[(hi - 1) * kLanes + l] == 0.0) --hi;
      std::int64_t lo = start[l];
      if (split[l] || hi <= lo || sweep == 0) {
        lo = hi;
        while (lo > 0 && e[(lo - 1) * kLanes + l] != 0.0) --lo;
      }
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
    check_begin = first;
    check_end = last;

    // Wilkinson shift from each lane's trailing 2x2 block. sqrt(td^2 + en^2) cannot overflow or
    // underflow here: the entries of a Gram matrix of floats lie between 1e-90 and 1e80.
    double x[kLanes], bulge[kLanes], dn[kLanes], en[kLanes], td[kLanes], h[kLanes];
    bool has_block[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      has_block[l] = end[l] > start[l];
      const std::int64_t hi = end[l], above_hi = has_block[l] ? hi - 1 : hi;
      dn[l] = d[hi * kLanes + l];
      en[l] = has_block[l] ? e[above_hi * kLanes + l] : 0.0;
      td[l] = has_block[l] ? 0.5 * (d[above_hi * kLanes + l] - dn[l]) : 0.0;
      h[l] = td[l] * td[l] + en[l] * en[l];
      x[l] = d[start[l] * kLanes + l];
      bulge[l] = e[start[l] * kLanes + l];
    }
    lane_sqrt(h, h);
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const double mu = td[l] == 0.0 ? dn[l] - std::abs(en[l]) : dn[l] - en[l] * (en[l] / (td[l] + std::copysign(h[l], td[l])));
      x[l] -= has_block[l] ? mu : 0.0;
    }
    double* rotation_c = nullptr;
    double* rotation_s = nullptr;
    if (z) {
      const auto size = static_cast<std::size_t>(2 * (last - first) * kLanes);
      if (t.rotations.size() < recorded + size) t.rotations.resize(std::max(2 * t.rotations.size(), recorded + size));
      t.sweeps.push_back({first, last, static_cast<std::int64_t>(recorded)});
      rotation_c = t.rotations.data() + recorded;
      rotation_s = rotation_c + size / 2;
      recorded += size;
    }
    // Chase the bulge down every active lane at once. Step k rotates rows and columns k, k + 1: it
    // changes d[k], d[k + 1], e[k - 1], e[k] and e[k + 1], and the next step starts from its new
    // d[k + 1], e[k] and e[k + 1]. Those are handed on in registers (through memory each waited
    // for its store to be forwarded, on the chain of dependent square roots and divisions that
    // sets the pace here); d[k] and e[k - 1] are stored once final.
    const LaneVector one = broadcast_lanes(1.0), zero = zero_lanes();
    LaneVector lead = load_lanes(x), bulge_now = load_lanes(bulge);
    LaneVector d_here = load_lanes(d + first * kLanes), e_here = load_lanes(e + first * kLanes);  // d[k], e[k]
    LaneVector e_above = first > 0 ? load_lanes(e + (first - 1) * kLanes) : zero;  // e[k - 1]
    for (std::int64_t k = first; k < last; ++k) {
      const LaneVector r = sqrt_lanes(fma_lanes(lead, lead, mul_lanes(bulge_now, bulge_now)));
      const LaneMask rotate = lanes_at_or_after(k, start) & lanes_before(k, end) & positive_lanes(r);
      const LaneVector inverse = div_lanes(one, select_lanes(rotate, r, one));  // one division, not two: the divider is the bottleneck
      const LaneVector c = select_lanes(rotate, mul_lanes(lead, inverse), one);
      const LaneVector s = select_lanes(rotate, sub_lanes(zero, mul_lanes(bulge_now, inverse)), zero);
      const LaneVector d_next = load_lanes(d + (k + 1) * kLanes);  // untouched by this sweep so far
      const LaneVector e_next = load_lanes(e + (k + 1) * kLanes);  // coupling of k + 1 and k + 2 (zero past the end)
      const LaneVector cs = mul_lanes(c, s), c2 = mul_lanes(c, c), s2 = mul_lanes(s, s);
      const LaneVector twice_b_cs = mul_lanes(add_lanes(e_here, e_here), cs);
      // (a, b; b, cc) <- G^T (a, b; b, cc) G with a = d[k], b = e[k], cc = d[k + 1]
      store_lanes(d + k * kLanes, sub_lanes(fma_lanes(d_here, c2, mul_lanes(d_next, s2)), twice_b_cs));
      const LaneVector new_d_next = add_lanes(fma_lanes(d_here, s2, mul_lanes(d_next, c2)), twice_b_cs);
      const LaneVector new_e_here = fma_lanes(sub_lanes(d_here, d_next), cs, mul_lanes(e_here, sub_lanes(c2, s2)));
      e_above = select_lanes(lanes_after(k, start) & rotate, fnma_lanes(s, bulge_now, mul_lanes(c, e_above)), e_above);
      if (k > 0) store_lanes(e + (k - 1) * kLanes, e_above);
      bulge_now = select_lanes(rotate, sub_lanes(zero, mul_lanes(s, e_next)), bulge_now);
      e_here = select_lanes(rotate, mul_lanes(c, e_next), e_next);  // the new e[k + 1]
      lead = select_lanes(rotate, new_e_here, lead);
      d_here = new_d_next;
      e_above = new_e_here;
      if (z) {
        store_lanes(rotation_c + (k - first) * kLanes, c);
        store_lanes(rotation_s + (k - first) * kLanes, s);
      }
    }
    store_lanes(d + last * kLanes, d_here);
    store_lanes(e + (last - 1) * kLanes, e_above);
    store_lanes(e + last * kLanes, e_here);
  }
  if (z) detail::apply_sweeps(t);
  for (int l = 0; l < kLanes; ++l)
    if (failed[l])
      for (std::int64_t i = 0; i < n; ++i) d[i * kLanes + l] = std::numeric_limits<double>::quiet_NaN();
}

}  // namespace hfc::cpu_backend
