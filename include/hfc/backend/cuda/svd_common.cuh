#pragma once
// What the GPU SVD kernels share: one-sided Jacobi's rotation and stopping threshold (the
// shared-memory kernel, svd.cuh, and the register kernel, svd_registers.cuh), the power-of-two
// scaling of a matrix, and the outputs for a non-finite one.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "hfc/backend/host_device.hpp"

namespace hfc::cuda_backend::detail {

// The Jacobi rotation that makes w_p . w_q zero, from alpha = |w_p|^2, beta = |w_q|^2 and
// dot = w_p . w_q: its sine s, t = s / c, and tau = s / (1 + c) for rotate_pair.
//
// The angle may be rounded (zeta takes a fast division: any t gives an orthogonal rotation), but c =
// 1/sqrt(1 + t^2) and tau take correctly rounded float operations: an approximate rsqrt cost 2x
// the 1e-5 * s_max budget at 112 x 112 (a biased error, compounded over the thousand rotations a
// column sees), and tau's relative error d scales both columns by about 1 - s^2 d / 2 per rotation,
// so a fast division's bias there would compound the same way. A step is a serial chain of
// dependent instructions, and IEEE double division and square roots made it 1.4x longer, so float
// data gets float rotations; double data keeps double ones. On the host (tests) the float
// intrinsics become plain float operations: the same rounding, except __fdividef's (zeta) and
// nvcc's fused multiply-adds, so host runs are close to, not bit for bit, what the GPU computes.
//
// zeta = (beta - alpha) / (2 dot) may be huge (columns of very different norms) or not a number
// (both underflowed in float): t = 1 / (2 zeta) where zeta^2 would overflow, and no rotation (s = 0)
// for NaN. The kernels scale their matrices (binary_exponent) so that float conversions of alpha,
// beta and dot stay in range.
template <class T>
HFC_HOST_DEVICE inline void jacobi_rotation(double alpha, double beta, double dot, T& s, T& t, T& tau) {
  T c;
  if constexpr (std::is_same_v<T, float>) {
#if defined(__CUDA_ARCH__)
    const float zeta = __fdividef(float(beta - alpha), float(2.0 * dot));
    if (fabsf(zeta) < 1e18f)
      t = copysignf(1.0f, zeta) * __frcp_rn(fabsf(zeta) + sqrtf(1.0f + zeta * zeta));
    else
      t = zeta == zeta ? 0.5f / zeta : 0.0f;
    c = __frcp_rn(__fsqrt_rn(1.0f + t * t));
    s = c * t;
    tau = __fdiv_rn(s, 1.0f + c);
#else
    const float zeta = float(beta - alpha) / float(2.0 * dot);
    if (std::fabs(zeta) < 1e18f)
      t = std::copysign(1.0f, zeta) / (std::fabs(zeta) + std::sqrt(1.0f + zeta * zeta));
    else
      t = zeta == zeta ? 0.5f / zeta : 0.0f;
    c = 1.0f / std::sqrt(1.0f + t * t);
    s = c * t;
    tau = s / (1.0f + c);
#endif
  } else {
    const double zeta = (beta - alpha) / (2.0 * dot);
    if (fabs(zeta) < 1e150)
      t = copysign(1.0, zeta) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
    else
      t = zeta == zeta ? 0.5 / zeta : 0.0;
    c = 1.0 / sqrt(1.0 + t * t);
    s = c * t;
    tau = s / (1.0 + c);
  }
}

// Columns count as orthogonal once |w_p . w_q| <= tol |w_p| |w_q|. The singular vectors' error is
// about tol over the relative gap to the nearest singular value. At rows * epsilon (1.3e-5 at 112
// rows in float) the register kernel's U and V put the HFC module's gradients at 112 x 112 2.1e-4
// of their scale from the cpu backend's, at 2 sqrt(rows) epsilon (2.5e-6) 2.6e-5, in host runs
// that took the same time (Jacobi converges quadratically: a sweep more at most).
template <class T>
HFC_HOST_DEVICE inline double orthogonality_tolerance(int rows) {
  return 2.0 * sqrt(double(rows)) * (sizeof(T) == 4 ? 1.1920928955078125e-7 : 2.220446049250313e-16);
}

// (x, y) <- (c x - s y, s x + c y) in Rutishauser's form: x - s (y + tau x), y + s (x - tau y).
// For the small angles near convergence c rounds to 1 in float, and c x - s y would inflate every
// norm by sqrt(1 + t^2) per rotation; compounded, that bias cost 1.1e-5 s_max at 112 x 112 (host
// runs of the register kernel), against 2e-7 in this form, as good as double rotations. With
// s = tau = 0 it leaves x and y exactly as they are.
template <class T>
HFC_HOST_DEVICE inline void rotate_pair(T& x, T& y, T s, T tau) {
  const T x0 = x;
  if constexpr (std::is_same_v<T, float>) {
    x = fmaf(-s, fmaf(tau, x0, y), x0);
    y = fmaf(s, fmaf(-tau, y, x0), y);
  } else {
    x = fma(-s, fma(tau, x0, y), x0);
    y = fma(s, fma(-tau, y, x0), y);
  }
}

// The binary exponent e of a nonzero finite x (x = f 2^e, 0.5 <= |f| < 1), or kNoExponent for zero.
// The largest over a matrix is the power of two that scales its entries into (-1, 1), exactly:
// unit_scale_exponent turns it into that power (0 for a zero matrix).
inline constexpr int kNoExponent = -2147483647 - 1;
template <class T>
HFC_HOST_DEVICE inline int binary_exponent(T x) {
  int e = 0;
  frexp(double(x), &e);
  return x != T(0) ? e : kNoExponent;
}
HFC_HOST_DEVICE inline int unit_scale_exponent(int largest_binary_exponent) {
  return largest_binary_exponent == kNoExponent ? 0 : largest_binary_exponent;
}

// The sweeps a Jacobi kernel may take; convergence takes 7-9 at 56 x 56.
inline constexpr int kMaxJacobiSweeps = 30;

// Whether x is neither infinite nor NaN (the comparison fails for NaN), on the host and the device.
template <class T>
HFC_HOST_DEVICE inline bool is_finite(T x) {
  return fabs(double(x)) <= 1.7976931348623157e308;
}

// A matrix with an infinite or NaN entry gets NaN singular values and vectors, as on the cpu
// backend (a diverging run shows up, never as a silent zero); the Jacobi sweeps would leave them
// unsorted or mixed with finite values. Sets entries first, first + stride, ... of s (k), u
// (m x k) and v (n x k, when u is not null) of one m x n matrix, k = min(m, n).
template <class T>
HFC_HOST_DEVICE inline void fill_svd_with_nan(int first, int stride, int m, int n, T* s, T* u, T* v) {
  const int k = m < n ? m : n;
  const T nan = static_cast<T>(NAN);
  for (int i = first; i < k; i += stride) s[i] = nan;
  if (!u) return;
  for (int i = first; i < m * k; i += stride) u[i] = nan;
  for (int i = first; i < n * k; i += stride) v[i] = nan;
}

// An SVD launch's name for the profiler and HFC_CUDA_TRACE: "register_jacobi_svd 64x56x56 G=8 R=8",
// with " values" when it skips U and V.
inline std::string svd_launch_name(const char* kernel, std::int64_t batch, std::int64_t m, std::int64_t n,
                                   bool vectors, const std::string& plan = "") {
  return std::string(kernel) + " " + std::to_string(batch) + "x" + std::to_string(m) + "x" + std::to_string(n) +
         (plan.empty() ? "" : " " + plan) + (vectors ? "" : " values");
}

}  // namespace hfc::cuda_backend::detail
