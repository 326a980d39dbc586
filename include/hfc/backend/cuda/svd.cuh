#pragma once
// Batched thin SVD on the GPU: one-sided (Hestenes) Jacobi, one thread block per matrix, the
// matrix and V in shared memory.
//
// cuSOLVER's gesvdjBatched only takes n <= 32, and torch.linalg.svdvals falls back to a host loop
// of gesvdj, one matrix per call, above that. Here a block orthogonalises the columns of its
// matrix W (W = A, or A^T when A is wide, so that W has rows >= cols) by plane rotations. Each step
// of a round-robin ordering rotates cols/2 disjoint column pairs at once, one warp per pair; a sweep
// is cols - 1 steps; sweeps repeat until no pair is further from orthogonal than 2 sqrt(rows) epsilon.
// Then sigma_j = |w_j|, u_j = w_j / sigma_j, and V holds the accumulated rotations. The columns
// are sorted by descending sigma on the way out.
//
// Shared memory: (rows * cols + cols^2) * sizeof(T) + a little, 100 KB for a float 112 x 112, under the
// 227 KB per block of H100/H200; larger matrices are an hfc::Error.
//
// svd_kernel (below) chooses by Context::svd_algorithm: float matrices take the register kernel
// (svd_registers.cuh, the default) where it holds them, or the Gram kernel (svd_gram.cuh) when it
// is chosen; double matrices, larger ones and one_sided_jacobi take this one.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/reduce.cuh"
#include "hfc/backend/cuda/svd_common.cuh"
#include "hfc/backend/cuda/svd_gram.cuh"
#include "hfc/backend/cuda/svd_registers.cuh"
#include "hfc/core/backend.hpp"

namespace hfc::cuda_backend {

namespace detail {

template <class T>
__global__ void __launch_bounds__(1024)
    jacobi_svd_kernel(const T* a, int m, int n, bool transpose, int max_sweeps, T* s, T* u, T* v, int* sweeps_done) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];  // starts with doubles
  const int rows = transpose ? n : m, cols = transpose ? m : n;
  double* norm2 = reinterpret_cast<double*>(shared_bytes);  // squared column norms (see below)
  T* W = reinterpret_cast<T*>(norm2 + cols);                  // column j at W + j * rows
  T* V = W + rows * cols;                      // column j at V + j * cols
  __shared__ int rotated;
  const std::int64_t b = blockIdx.x;
  const T* ab = a + b * m * n;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const bool vectors = u != nullptr;

  bool nonfinite = false;
  int top = kNoExponent;  // the largest binary exponent of an entry
  for (int idx = tid; idx < rows * cols; idx += blockDim.x) {
    const int i = idx % rows, j = idx / rows;
    const T x = transpose ? ab[j * n + i] : ab[i * n + j];
    W[j * rows + i] = x;
    nonfinite = nonfinite || !is_finite(x);
    top = max(top, binary_exponent(x));
  }
  for (int idx = tid; idx < cols * cols; idx += blockDim.x) V[idx] = (idx % cols == idx / cols) ? T(1) : T(0);
  if (__syncthreads_or(nonfinite)) {
    const std::int64_t k = cols;
    fill_svd_with_nan(tid, int(blockDim.x), m, n, s + b * k, u ? u + b * m * k : nullptr, v ? v + b * n * k : nullptr);
    return;
  }
  // Entries scaled by a power of two (exact) into (-1, 1), so that the float rotation's arguments
  // (float(beta - alpha), float(2 dot)) stay in range; sigma is scaled back at the end.
  const int exponent = unit_scale_exponent(block_max(top));
  for (int idx = tid; idx < rows * cols; idx += blockDim.x) {
    const int i = idx % rows, j = idx / rows;
    W[j * rows + i] = T(ldexp(double(W[j * rows + i]), -exponent));
  }
  __syncthreads();

  const int count = cols + (cols & 1);  // an odd count gets a virtual zero column, never rotated
  const double tol = orthogonality_tolerance<T>(rows);
  // Squared column norms: recomputed exactly at the start of each sweep, updated analytically
  // after each rotation, so a step needs one dot product (w_p . w_q), not three. Sums run in
  // double: the H100/H200 have the FP64 throughput, and float sums of 112 terms cost the last
  // digit the 1e-5 * s_max budget needs.
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    for (int j = warp; j < cols; j += warps) {
      double sum = 0;
      for (int i = lane; i < rows; i += 32) sum += double(W[j * rows + i]) * W[j * rows + i];
      sum = warp_sum(sum);
      if (lane == 0) norm2[j] = sum;
    }
    if (tid == 0) rotated = 0;
    __syncthreads();
    for (int step = 0; step < count - 1; ++step) {
      for (int k = warp; k < count / 2; k += warps) {
        int p, q;
        round_robin_pair(step, k, count, p, q);
        if (p >= cols || q >= cols) continue;
        T* wp = W + p * rows;
        T* wq = W + q * rows;
        double dot = 0;
        for (int i = lane; i < rows; i += 32) dot += double(wp[i]) * wq[i];
        dot = warp_sum(dot);
        const double alpha = norm2[p], beta = norm2[q];
        if (!(dot * dot > tol * tol * alpha * beta)) continue;  // orthogonal enough (or zero)
        T sn, t, tau;
        jacobi_rotation(alpha, beta, dot, sn, t, tau);
        for (int i = lane; i < rows; i += 32) rotate_pair(wp[i], wq[i], sn, tau);
        if (vectors) {  // singular values alone need no V
          T* vp = V + p * cols;
          T* vq = V + q * cols;
          for (int i = lane; i < cols; i += 32) rotate_pair(vp[i], vq[i], sn, tau);
        }
        __syncwarp();  // every lane has read norm2[p], norm2[q] before lane 0 updates them
        if (lane == 0) {
          norm2[p] = fmax(alpha - double(t) * dot, 0.0);
          norm2[q] = fmax(beta + double(t) * dot, 0.0);
          if (sn != 0) rotated = 1;  // a rotation that moves nothing does not keep the sweeps going
        }
      }
      __syncthreads();
    }
    if (!rotated) {
      if (sweeps_done && tid == 0) sweeps_done[b] = sweep;
      break;
    }
    if (sweeps_done && tid == 0 && sweep + 1 == max_sweeps) sweeps_done[b] = max_sweeps;
    __syncthreads();  // everyone has read `rotated` before thread 0 resets it
  }

  // sigma_j = |w_j|; column j goes to position rank(j) in descending order (ties by index).
  T* sigma = V + cols * cols;
  for (int j = warp; j < cols; j += warps) {
    double sum = 0;
    for (int i = lane; i < rows; i += 32) sum += double(W[j * rows + i]) * W[j * rows + i];
    sum = warp_sum(sum);
    if (lane == 0) sigma[j] = T(sqrt(sum));
  }
  __syncthreads();
  const int k = cols;
  T* left = transpose ? v : u;   // rows x k: W's normalised columns
  T* right = transpose ? u : v;  // cols x k: the rotations
  for (int j = warp; j < cols; j += warps) {
    int rank = 0;
    for (int i = 0; i < cols; ++i) rank += (sigma[i] > sigma[j]) || (sigma[i] == sigma[j] && i < j);
    if (lane == 0) s[b * k + rank] = T(ldexp(double(sigma[j]), exponent));
    if (left) {
      const T inv = sigma[j] > T(0) ? T(1) / sigma[j] : T(0);
      for (int i = lane; i < rows; i += 32) left[(b * rows + i) * k + rank] = W[j * rows + i] * inv;
      for (int i = lane; i < cols; i += 32) right[(b * cols + i) * k + rank] = V[j * cols + i];
    }
  }
}

// dA = U diag(dS) V^T, one index per element of dA.
template <class T>
struct SvdBackward {
  const T *u, *v, *ds;
  int m, n;
  T* da;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    const int k = m < n ? m : n;
    const std::int64_t b = idx / (std::int64_t(m) * n);
    const int i = static_cast<int>(idx / n % m), j = static_cast<int>(idx % n);
    const T* ui = u + (b * m + i) * k;
    const T* vj = v + (b * n + j) * k;
    const T* dsb = ds + b * k;
    T sum = 0;
    for (int c = 0; c < k; ++c) sum += ui[c] * dsb[c] * vj[c];
    da[idx] = sum;
  }
};

}  // namespace detail

// The cuda overloads of the ops/svd.hpp kernels (same arguments as the cpu ones, device pointers).
template <class T>
void svd_kernel(cuda, const T* a, std::int64_t batch, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  if (batch == 0) return;  // a grid of no blocks is a launch error
  if constexpr (std::is_same_v<T, float>) {
    const auto& context = Context::get();
    if (context.svd_algorithm == SvdAlgorithm::gram_jacobi && gram_jacobi_fits(m, n))
      return gram_jacobi_svd_batched(a, batch, m, n, s, u, v);
    if (context.svd_algorithm == SvdAlgorithm::register_jacobi) {
      const auto plan = register_jacobi_plan(m, n, context.svd_lanes_per_pair,
                                             static_cast<std::size_t>(max_shared_bytes_per_block()));
      check(plan.fits() || context.svd_lanes_per_pair == 0, "cuda svd (registers): a ", m, "x", n,
            " matrix does not fit svd_lanes_per_pair = ", context.svd_lanes_per_pair);
      if (plan.fits()) return register_jacobi_svd_batched(a, batch, m, n, plan, s, u, v);
    }
  }
  const bool transpose = m < n;
  const std::int64_t rows = transpose ? n : m, cols = transpose ? m : n;
  // The double norms, then W, V and sigma.
  const std::size_t shared = static_cast<std::size_t>(cols) * sizeof(double) +
                             static_cast<std::size_t>(rows * cols + cols * cols + cols) * sizeof(T);
  const int limit = max_shared_bytes_per_block();
  check(shared <= static_cast<std::size_t>(limit), "cuda svd: a ", m, "x", n, " matrix needs ", shared,
        " bytes of shared memory, the device allows ", limit, " per block");
  HFC_CUDA_CHECK(cudaFuncSetAttribute(detail::jacobi_svd_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(shared)));
  const int warps = static_cast<int>(std::min<std::int64_t>((cols + 1) / 2, 32));
  // U and V are produced together; singular values alone skip writing them.
  const ProfiledLaunch timing([&] { return detail::svd_launch_name("jacobi_svd", batch, m, n, u != nullptr); });
  detail::jacobi_svd_kernel<T><<<static_cast<unsigned>(batch), warps * 32, shared, stream()>>>(
      a, static_cast<int>(m), static_cast<int>(n), transpose, detail::kMaxJacobiSweeps, s, u, v, nullptr);
  HFC_CUDA_AFTER_LAUNCH("jacobi_svd_kernel");
}

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void svd_backward_kernel(B, const T* u, const T* v, const T* ds, std::int64_t batch, std::int64_t m, std::int64_t n,
                         T* da) {
  executor_t<B>::for_each(batch * m * n, detail::SvdBackward<T>{u, v, ds, static_cast<int>(m), static_cast<int>(n), da});
}

}  // namespace hfc::cuda_backend
