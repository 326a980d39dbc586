#pragma once
// Fully connected layer y = x W^T + b through the executor's GEMM (cuBLAS on the GPU); the cpu
// backend's contract (backend/cpu/linear.hpp). TF32 only when Context::allow_tf32_matmul is set.
#include <cstdint>

#include "hfc/backend/cuda/executor.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct AddRowBias {
  const T* bias;
  std::int64_t out;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] += bias[i % out]; }
};
// db[o] += sum_i dy[i, o], one index per o (n is a batch: tens of rows).
template <class T>
struct AddColumnSums {
  const T* dy;
  std::int64_t n, out;
  T* db;
  HFC_HOST_DEVICE void operator()(std::int64_t o) const {
    T sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += dy[i * out + o];
    db[o] += sum;
  }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void linear_kernel(B, const T* x, const T* w, const T* bias, std::int64_t n, std::int64_t in, std::int64_t out, T* y) {
  using Exec = executor_t<B>;
  const bool tf32 = Context::get().allow_tf32_matmul;
  Exec::gemm(Trans::no, Trans::yes, n, out, in, T(1), x, in, w, in, T(0), y, out, tf32);
  if (bias) Exec::for_each(n * out, detail::AddRowBias<T>{bias, out, y});
}

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void linear_backward_kernel(B, const T* dy, const T* x, const T* w, std::int64_t n, std::int64_t in, std::int64_t out,
                            T* dx, T* dw, T* db) {
  using Exec = executor_t<B>;
  const bool tf32 = Context::get().allow_tf32_matmul;
  if (dx) Exec::gemm(Trans::no, Trans::no, n, in, out, T(1), dy, out, w, in, T(0), dx, in, tf32);
  Exec::gemm(Trans::yes, Trans::no, out, in, n, T(1), dy, out, x, in, T(1), dw, in, tf32);
  if (db) Exec::for_each(out, detail::AddColumnSums<T>{dy, n, out, db});
}

}  // namespace hfc::cuda_backend
