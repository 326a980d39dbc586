#pragma once
// Fully connected layer y = x W^T + b on the cpu, through the backend's GEMM.
#include <cstdint>

#include "hfc/backend/cpu/elementwise.hpp"
#include "hfc/backend/cpu/gemm.hpp"

namespace hfc::cpu_backend {

// x [n, in], w [out, in], bias [out] or null, y [n, out].
template <class T>
void linear_kernel(cpu, const T* x, const T* w, const T* bias, std::int64_t n, std::int64_t in, std::int64_t out, T* y) {
  gemm(Trans::no, Trans::yes, n, out, in, T(1), x, in, w, in, T(0), y, out);
  if (bias)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t o = 0; o < out; ++o) y[i * out + o] += bias[o];
}

// dx = dy W (overwritten, may be null); dw += dy^T x; db += column sums of dy (may be null).
template <class T>
void linear_backward_kernel(cpu, const T* dy, const T* x, const T* w, std::int64_t n, std::int64_t in,
                            std::int64_t out, T* dx, T* dw, T* db) {
  if (dx) gemm(Trans::no, Trans::no, n, in, out, T(1), dy, out, w, in, T(0), dx, in);
  gemm(Trans::yes, Trans::no, out, in, n, T(1), dy, out, x, in, T(1), dw, in);
  if (db)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t o = 0; o < out; ++o) db[o] += dy[i * out + o];
}

}  // namespace hfc::cpu_backend
