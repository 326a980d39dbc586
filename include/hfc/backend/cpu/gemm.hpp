#pragma once
// Row-major GEMM for the cpu backend: C = alpha * op(A) * op(B) + beta * C.
// Eigen by default; OpenBLAS when the build asks for it (HFC_WITH_OPENBLAS), kept single-threaded
// because the kernels call it from inside their own OpenMP loops. Eigen measured 2.5-4x faster
// in that pattern (docs/dependencies.md).
#include <algorithm>
#include <cstdint>
#include <mutex>

#include <Eigen/Core>

#if defined(HFC_WITH_OPENBLAS)
#include <cblas.h>
#endif

namespace hfc::cpu_backend {

enum class Trans : bool { no = false, yes = true };

// How many samples share one GEMM when each brings `columns` GEMM columns (output pixels, or
// Winograd tiles): enough for 256 columns, since narrower GEMMs run far below the kernel's speed
// (ResNet18's layer4 at 48 px has 2x2 maps: per sample its GEMM would be 512 x 4 x 4608), but no
// more than a thread's share of the n samples.
inline std::int64_t samples_per_gemm(std::int64_t columns, std::int64_t n, int threads) {
  const std::int64_t share = (n + threads - 1) / threads;
  return std::clamp<std::int64_t>((256 + columns - 1) / columns, 1, share);
}

#if defined(HFC_WITH_OPENBLAS)
namespace detail {
inline void keep_blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
}  // namespace detail
#endif

template <class T>
void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(HFC_WITH_OPENBLAS)
  detail::keep_blas_single_threaded();
  const auto op_a = ta == Trans::yes ? CblasTrans : CblasNoTrans;
  const auto op_b = tb == Trans::yes ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, op_a, op_b, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, op_a, op_b, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  }
#else
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const Mat, 0, Stride>;
  Eigen::Map<Mat, 0, Stride> C(c, m, n, Stride(ldc));
  // op(A) is m x k; stored row-major it is A (m x k, lda) or A^T of a (k x m, lda) matrix.
  auto run = [&](const auto& opA, const auto& opB) {
    if (k == 0) {
      if (beta == T(0)) C.setZero(); else C *= beta;
      return;
    }
    if (beta == T(0)) C.noalias() = alpha * (opA * opB);
    else {
      if (beta != T(1)) C *= beta;
      C.noalias() += alpha * (opA * opB);
    }
  };
  const ConstMap An(a, m, k, Stride(lda)), At(a, k, m, Stride(lda));
  const ConstMap Bn(b, k, n, Stride(ldb)), Bt(b, n, k, Stride(ldb));
  if (ta == Trans::no && tb == Trans::no) run(An, Bn);
  else if (ta == Trans::no) run(An, Bt.transpose());
  else if (tb == Trans::no) run(At.transpose(), Bn);
  else run(At.transpose(), Bt.transpose());
#endif
}

}  // namespace hfc::cpu_backend
