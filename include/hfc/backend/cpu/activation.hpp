#pragma once
// Clamping activations y = min(max(x, lo), hi): ReLU is (0, +inf), ReLU6 is (0, 6). The rule:
// backend/clamp_rule.hpp.
#include <cstdint>

#include "hfc/backend/clamp_rule.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

template <class T>
void clamp_kernel(cpu, const T* x, std::int64_t n, T lo, T hi, T* y) {
  const clamp_rule::Range<T> range{lo, hi};
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] = range(x[i]);
}

// dx = dy where lo < y < hi, else 0. y is the forward output, which lies strictly inside (lo, hi)
// exactly where x does.
template <class T>
void clamp_backward_kernel(cpu, const T* dy, const T* y, std::int64_t n, T lo, T hi, T* dx) {
  const clamp_rule::Range<T> range{lo, hi};
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) dx[i] = range.passes(y[i]) ? dy[i] : T(0);
}

}  // namespace hfc::cpu_backend
