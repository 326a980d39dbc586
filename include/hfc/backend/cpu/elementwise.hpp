#pragma once
// Element-wise arithmetic on contiguous buffers.
#include <cstdint>

#include <Eigen/Core>

#include "hfc/core/backend.hpp"

namespace hfc::cpu_backend {

// y += alpha * x
template <class T>
void axpy_kernel(cpu, std::int64_t n, T alpha, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Vectorised reductions. (A plain `sum += a[i] * b[i]` loop stays scalar: the compiler may not
// reorder float additions without -ffast-math, and the serial dependency costs ~10x.)
template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  return Eigen::Map<const Vec>(a, n).dot(Eigen::Map<const Vec>(b, n));
}
template <class T>
T sum(const T* a, std::int64_t n) {
  return Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(a, n).sum();
}

}  // namespace hfc::cpu_backend
