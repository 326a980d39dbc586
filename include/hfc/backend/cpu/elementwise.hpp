#pragma once
// Element-wise arithmetic on contiguous buffers.
#include <cstdint>

#include "hfc/core/backend.hpp"

namespace hfc::cpu_backend {

// y += alpha * x
template <class T>
void axpy_kernel(cpu, std::int64_t n, T alpha, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace hfc::cpu_backend
