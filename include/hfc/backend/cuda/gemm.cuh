#pragma once
// Row-major GEMM on the GPU through cuBLAS, C = alpha op(A) op(B) + beta C, with the cpu
// backend's argument order (backend/cpu/gemm.hpp), so that the kernels read alike.
//
// cuBLAS is column-major. A row-major m x n matrix with leading dimension ld is, to cuBLAS, its
// n x m transpose, so the product is computed as C^T = op(B)^T op(A)^T: the operands swap places
// and each keeps its own transpose flag.
#include <cublas_v2.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "hfc/backend/cuda/context.cuh"
#include "hfc/backend/cuda/profiler.cuh"

namespace hfc::cuda_backend {

enum class Trans : bool { no = false, yes = true };

namespace detail {
// cuBLAS's data and compute types for T (tf32: float products on the tensor cores).
template <class T>
struct CublasTypes {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  static constexpr cudaDataType_t data = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
  static cublasComputeType_t compute(bool tf32) {
    if constexpr (std::is_same_v<T, double>) return CUBLAS_COMPUTE_64F;
    else return tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }
};
inline cublasOperation_t cublas_op(Trans t) { return t == Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N; }
// cuBLAS takes extents and leading dimensions as int.
inline void check_gemm_extents(std::initializer_list<std::int64_t> extents) {
  for (const std::int64_t e : extents)
    check(e < (std::int64_t(1) << 31), "cuda gemm: an extent or leading dimension of ", e, " exceeds cuBLAS's int");
}
// "64x100352x576 NT tf32": m x n x k, the transposes of A and B, the precision (for the profiler).
inline std::string gemm_shape(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, bool tf32) {
  return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " " + (ta == Trans::yes ? "T" : "N") +
         (tb == Trans::yes ? "T" : "N") + (tf32 ? " tf32" : "");
}
}  // namespace detail

// tf32: float products on the tensor cores with 10-bit mantissas (Context::allow_tf32_*).
template <class T>
void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
          const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc, bool tf32 = false) {
  if (m == 0 || n == 0) return;
  using Types = detail::CublasTypes<T>;
  constexpr cudaDataType_t type = Types::data;
  const cublasComputeType_t compute = Types::compute(tf32);
  detail::check_gemm_extents({m, n, k, lda, ldb, ldc});
  const cublasHandle_t handle = Context::get().cublas();  // its creation is not the GEMM's time
  const ProfiledLaunch timing([&] { return "cublasGemmEx " + detail::gemm_shape(ta, tb, m, n, k, tf32); });
  HFC_CUBLAS_CHECK(cublasGemmEx(handle, detail::cublas_op(tb), detail::cublas_op(ta), static_cast<int>(n), static_cast<int>(m),
                                static_cast<int>(k), &alpha, b, type, static_cast<int>(ldb), a, type,
                                static_cast<int>(lda), &beta, c, type, static_cast<int>(ldc), compute,
                                CUBLAS_GEMM_DEFAULT));
  HFC_CUDA_AFTER_LAUNCH("cublasGemmEx");
}

// The same for `batch` products at once, operand i at a + i * stride_a (a stride of 0 repeats an
// operand, e.g. one weight matrix against every sample).
template <class T>
void gemm_batched(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                  std::int64_t lda, std::int64_t stride_a, const T* b, std::int64_t ldb, std::int64_t stride_b, T beta,
                  T* c, std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, bool tf32 = false) {
  if (m == 0 || n == 0 || batch == 0) return;
  using Types = detail::CublasTypes<T>;
  constexpr cudaDataType_t type = Types::data;
  const cublasComputeType_t compute = Types::compute(tf32);
  detail::check_gemm_extents({m, n, k, lda, ldb, ldc, batch});
  const cublasHandle_t handle = Context::get().cublas();
  const ProfiledLaunch timing([&] {
    return "cublasGemmStridedBatchedEx " + std::to_string(batch) + "x " + detail::gemm_shape(ta, tb, m, n, k, tf32);
  });
  HFC_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle, detail::cublas_op(tb), detail::cublas_op(ta), static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha,
      b, type, static_cast<int>(ldb), stride_b, a, type, static_cast<int>(lda), stride_a, &beta, c, type,
      static_cast<int>(ldc), stride_c, static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT));
  HFC_CUDA_AFTER_LAUNCH("cublasGemmStridedBatchedEx");
}

}  // namespace hfc::cuda_backend
