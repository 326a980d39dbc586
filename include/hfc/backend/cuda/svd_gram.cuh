#pragma once
// A second batched SVD for float matrices on the GPU: the Gram matrix G = W^T W in double, its
// eigenvectors by two-sided cyclic Jacobi in double (G and V in shared memory), sigma = sqrt(eig),
// and U = W V normalised. One thread block per matrix.
//
// Why: the one-sided kernel (svd.cuh) is latency-bound, a serial chain of a warp's dot product,
// shuffles and a float rotation per step (1.3 us a step on an H200, 0.64 ms for 32 56 x 56). Here
// a step is two short phases over all the block's threads (rotation angles; then G's 2 x 2 blocks
// and V's column pairs), with no warp reductions, so its chain is a few shared-memory accesses
// between barriers. Whether that is faster is for the GPU check to say (bench_svd_cuda.cu runs
// all three); Context::svd_algorithm chooses.
//
// Accuracy: products of floats are exact in double and the Gram sums round at 1e-16 relative, so
// an eigenvalue carries an absolute error near 1e-16 s_max^2, and sigma_i = sqrt(lambda_i) an error
// below 1e-8 s_max even for sigma_i near 0: inside the 1e-5 s_max the tests ask. Double data keeps
// the one-sided kernel, whose small singular values are accurate to double precision.
//
// The algorithm is written once as a block program (BlockThreads::for_each: a loop over indices
// split among the block's threads, then a barrier). Compiled for the host, for_each is a plain
// loop, so the same code runs on a machine without a GPU: tests/cuda/test_svd_gram_host.cu checks
// it against Eigen's double JacobiSVD there.
#include <cmath>
#include <cstdint>
#include <string>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/context.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/svd_common.cuh"
#include "hfc/backend/host_device.hpp"

namespace hfc::cuda_backend {

namespace detail {

// Round-robin (circle method) pairing of `count` (even) columns: at step s (< count - 1), column 0
// is fixed and the others rotate; pair k joins the k-th position from the front with the k-th
// from the back. (No integer division: this runs once per pair and step, on the critical path.)
HFC_HOST_DEVICE inline void round_robin_pair(int step, int k, int count, int& p, int& q) {
  const int ring = count - 1;
  auto at = [&](int pos) {
    const int x = pos + step;
    return (x >= ring ? x - ring : x) + 1;
  };
  p = k == 0 ? 0 : at(k - 1);
  q = at(ring - 1 - k);
}

// The threads of one block running a phase: f(i) for i < count, split among them, then a barrier.
// On the host (tests) a phase is a loop; `reversed` runs it backwards, so that a phase whose items
// depended on each other (a race on the GPU) would give other results (tests run both orders).
struct BlockThreads {
  bool reversed = false;

  template <class F>
  HFC_HOST_DEVICE void for_each(int count, F&& f) const {
#if defined(__CUDA_ARCH__)
    for (int i = threadIdx.x; i < count; i += blockDim.x) f(i);
    __syncthreads();
#else
    for (int i = 0; i < count; ++i) f(reversed ? count - 1 - i : i);
#endif
  }
  HFC_HOST_DEVICE void barrier() const {
    for_each(0, [](int) {});
  }
};

}  // namespace detail

// The working memory of one matrix (shared memory on the GPU). rows x cols is the tall
// orientation W (rows >= cols); ld, the row stride of G, P and V, is odd, so that a column of
// doubles spreads over the shared-memory banks.
struct GramJacobiWork {
  double* g;      // rows x ld: G = W^T W (cols x cols), later P = W V (rows x cols)
  double* v;      // cols x ld: the accumulated rotations, eigenvectors as columns
  double* rot;    // 2 per pair: (c, s) of the current step
  double* sigma;  // cols
  double* norm;   // cols: |W v_j|
  int* rank;      // cols: where column j goes in descending order
  int* rotated;   // 1: whether the sweep rotated anything
  int* nonfinite;  // 1: whether an entry is infinite or NaN
  int ld;

  HFC_HOST_DEVICE static int stride(int cols) { return cols | 1; }
  HFC_HOST_DEVICE static std::size_t doubles(int rows, int cols) {
    const int pairs = (cols + 1) / 2;
    return std::size_t(rows + cols) * std::size_t(stride(cols)) + 2 * std::size_t(pairs) + 2 * std::size_t(cols);
  }
  HFC_HOST_DEVICE static std::size_t bytes(int rows, int cols) {
    return doubles(rows, cols) * sizeof(double) + (std::size_t(cols) + 2) * sizeof(int);
  }
  // Carves the layout out of `memory` (bytes(rows, cols) of it, 8-byte aligned).
  HFC_HOST_DEVICE static GramJacobiWork carve(void* memory, int rows, int cols) {
    auto* d = static_cast<double*>(memory);
    const int ld = stride(cols), pairs = (cols + 1) / 2;
    GramJacobiWork w{};
    w.ld = ld;
    w.g = d;
    w.v = w.g + std::size_t(rows) * ld;
    w.rot = w.v + std::size_t(cols) * ld;
    w.sigma = w.rot + 2 * pairs;
    w.norm = w.sigma + cols;
    w.rank = reinterpret_cast<int*>(w.norm + cols);
    w.rotated = w.rank + cols;
    w.nonfinite = w.rotated + 1;
    return w;
  }
};

// The SVD of one m x n row-major matrix a: s (min(m, n), descending), and when u is not null
// u (m x k) and v (n x k), row-major, k = min(m, n).
template <class T, class Threads>
HFC_HOST_DEVICE void gram_jacobi_svd(const Threads& threads, const GramJacobiWork& w, const T* a, int m, int n,
                                     int max_sweeps, T* s, T* u, T* v) {
  const bool wide = m < n;
  const int rows = wide ? n : m, cols = wide ? m : n, ld = w.ld;
  const int count = cols + (cols & 1), pairs = count / 2;  // an odd count gets a virtual column
  auto W = [=](int r, int c) { return wide ? double(a[c * n + r]) : double(a[r * n + c]); };
  double* G = w.g;
  double* V = w.v;

  threads.for_each(1, [&](int) { *w.nonfinite = 0; });
  threads.for_each(m * n, [&](int idx) {
    if (!detail::is_finite(a[idx])) *w.nonfinite = 1;
  });
  if (*w.nonfinite) {
    threads.for_each(rows * cols, [&](int idx) { detail::fill_svd_with_nan(idx, rows * cols, m, n, s, u, v); });
    return;
  }
  threads.for_each(cols * cols, [&](int idx) {
    const int i = idx / cols, j = idx % cols;
    V[i * ld + j] = i == j ? 1.0 : 0.0;
    if (j < i) return;
    double sum = 0;
    for (int r = 0; r < rows; ++r) sum += W(r, i) * W(r, j);
    G[i * ld + j] = sum;
    G[j * ld + i] = sum;
  });

  // Rotations stop below 1e-10 of the diagonal's geometric mean: eigenvalues then carry errors
  // of order 1e-20 relative (quadratic in the residual), eigenvectors of order 1e-10, both far
  // below float.
  constexpr double tol = 1e-10;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    threads.for_each(1, [&](int) { *w.rotated = 0; });
    for (int step = 0; step < count - 1; ++step) {
      threads.for_each(pairs, [&](int k) {  // the angles (Golub & Van Loan's sym.schur2)
        int p, q;
        detail::round_robin_pair(step, k, count, p, q);
        double c = 1, sn = 0;
        if (p < cols && q < cols) {
          const double gpq = G[p * ld + q], gpp = G[p * ld + p], gqq = G[q * ld + q];
          if (fabs(gpq) > tol * sqrt(gpp * gqq)) {
            const double tau = (gqq - gpp) / (2 * gpq);
            // t = 1 / (2 tau) where tau * tau would overflow (a diagonal far larger than G_pq)
            const double t = fabs(tau) > 1e150 ? 0.5 / tau
                                               : (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1 + tau * tau));
            c = 1 / sqrt(1 + t * t);
            sn = t * c;
            if (sn != 0) *w.rotated = 1;  // a rotation that moves nothing does not keep the sweeps going
          }
        }
        w.rot[2 * k] = c;
        w.rot[2 * k + 1] = sn;
      });
      // G <- J^T G J, block by block: the 2 x 2 block of rows (p_k, q_k) and columns (p_l, q_l)
      // becomes R_k B R_l^T, R = [[c, -s], [s, c]], each entry read and written once; the entries a
      // rotation zeroes (k == l) are set to exact zeros. And V <- V J. One phase, one barrier.
      threads.for_each(pairs * pairs + pairs * cols, [&](int idx) {
        if (idx < pairs * pairs) {
          const int k = idx / pairs, l = idx % pairs;
          const double ck = w.rot[2 * k], sk = w.rot[2 * k + 1], cl = w.rot[2 * l], sl = w.rot[2 * l + 1];
          if (sk == 0 && sl == 0) return;
          int pk, qk, pl, ql;
          detail::round_robin_pair(step, k, count, pk, qk);
          detail::round_robin_pair(step, l, count, pl, ql);
          // An index >= cols is the virtual column of an odd count: its pair does not rotate, so
          // its entries, read as zeros, never mix into the others; they are not written.
          auto at = [&](int r, int c) { return r < cols && c < cols ? G[r * ld + c] : 0.0; };
          const double b00 = at(pk, pl), b01 = at(pk, ql), b10 = at(qk, pl), b11 = at(qk, ql);
          const double r00 = ck * b00 - sk * b10, r01 = ck * b01 - sk * b11;
          const double r10 = sk * b00 + ck * b10, r11 = sk * b01 + ck * b11;
          const bool zeroed = k == l;
          auto put = [&](int r, int c, double value) {
            if (r < cols && c < cols) G[r * ld + c] = value;
          };
          put(pk, pl, cl * r00 - sl * r01);
          put(pk, ql, zeroed ? 0.0 : sl * r00 + cl * r01);
          put(qk, pl, zeroed ? 0.0 : cl * r10 - sl * r11);
          put(qk, ql, sl * r10 + cl * r11);
          return;
        }
        const int k = (idx - pairs * pairs) / cols, i = (idx - pairs * pairs) % cols;
        const double c = w.rot[2 * k], sn = w.rot[2 * k + 1];
        if (sn == 0) return;
        int p, q;
        detail::round_robin_pair(step, k, count, p, q);
        const double x = V[i * ld + p], y = V[i * ld + q];
        V[i * ld + p] = c * x - sn * y;
        V[i * ld + q] = sn * x + c * y;
      });
    }
    const bool converged = *w.rotated == 0;
    threads.barrier();  // everyone has read the flag before the next sweep resets it
    if (converged) break;
  }

  threads.for_each(cols, [&](int j) {
    const double lambda = G[j * ld + j];
    w.sigma[j] = lambda > 0 ? sqrt(lambda) : 0.0;
  });
  threads.for_each(cols, [&](int j) {  // descending, ties by index
    int r = 0;
    for (int i = 0; i < cols; ++i) r += (w.sigma[i] > w.sigma[j]) || (w.sigma[i] == w.sigma[j] && i < j);
    w.rank[j] = r;
    s[r] = T(w.sigma[j]);
  });
  if (!u) return;
  const int k = cols;
  T* left = wide ? v : u;   // rows x k: W v_j / |W v_j|
  T* right = wide ? u : v;  // cols x k: v_j
  threads.for_each(rows * cols, [&](int idx) {  // P = W V, over G's storage (G is no longer needed)
    const int r = idx / cols, j = idx % cols;
    double sum = 0;
    for (int l = 0; l < cols; ++l) sum += W(r, l) * V[l * ld + j];
    G[r * ld + j] = sum;
  });
  threads.for_each(cols, [&](int j) {
    double sum = 0;
    for (int r = 0; r < rows; ++r) sum += G[r * ld + j] * G[r * ld + j];
    w.norm[j] = sqrt(sum);
  });
  // u_j = W v_j / |W v_j|: sigma_j for the well-determined columns, and a unit vector, not noise
  // divided by a tiny sigma, for the ones a rank deficiency leaves near zero (zero where W v_j is).
  threads.for_each(rows * cols, [&](int idx) {
    const int r = idx / cols, j = idx % cols;
    left[r * k + w.rank[j]] = w.norm[j] > 0 ? T(G[r * ld + j] / w.norm[j]) : T(0);
  });
  threads.for_each(cols * cols, [&](int idx) {
    const int i = idx / cols, j = idx % cols;
    right[i * k + w.rank[j]] = T(V[i * ld + j]);
  });
}

namespace detail {
template <class T>
__global__ void __launch_bounds__(512) gram_jacobi_svd_kernel(const T* a, int m, int n, int max_sweeps, T* s, T* u,
                                                              T* v) {
  extern __shared__ double gram_jacobi_shared[];
  const int rows = m < n ? n : m, cols = m < n ? m : n;
  const std::int64_t b = blockIdx.x;
  const auto w = GramJacobiWork::carve(gram_jacobi_shared, rows, cols);
  gram_jacobi_svd(BlockThreads{}, w, a + b * m * n, m, n, max_sweeps, s + b * cols, u ? u + b * m * cols : nullptr,
                  v ? v + b * n * cols : nullptr);
}
}  // namespace detail

// Whether an m x n matrix's G and V fit in a block's shared memory (up to about 118 x 118 on an
// H100/H200; svd_kernel takes the one-sided kernel beyond).
inline bool gram_jacobi_fits(std::int64_t m, std::int64_t n) {
  const int rows = int(m < n ? n : m), cols = int(m < n ? m : n);
  return GramJacobiWork::bytes(rows, cols) <= static_cast<std::size_t>(max_shared_bytes_per_block());
}

// One block of 512 threads per matrix; the same outputs as svd_kernel.
inline void gram_jacobi_svd_batched(const float* a, std::int64_t batch, std::int64_t m, std::int64_t n, float* s,
                                    float* u, float* v) {
  const int rows = int(m < n ? n : m), cols = int(m < n ? m : n);
  const std::size_t shared = GramJacobiWork::bytes(rows, cols);
  const int limit = max_shared_bytes_per_block();
  check(shared <= static_cast<std::size_t>(limit), "cuda svd (Gram-Jacobi): a ", m, "x", n, " matrix needs ", shared,
        " bytes of shared memory, the device allows ", limit, " per block");
  HFC_CUDA_CHECK(cudaFuncSetAttribute(detail::gram_jacobi_svd_kernel<float>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)));
  const ProfiledLaunch timing([&] { return detail::svd_launch_name("gram_jacobi_svd", batch, m, n, u != nullptr); });
  detail::gram_jacobi_svd_kernel<float><<<static_cast<unsigned>(batch), 512, shared, stream()>>>(
      a, int(m), int(n), detail::kMaxJacobiSweeps, s, u, v);
  HFC_CUDA_AFTER_LAUNCH("gram_jacobi_svd_kernel");
}

}  // namespace hfc::cuda_backend
