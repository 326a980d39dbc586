#pragma once
// Where the cuda backend's algorithms run. They are templates on an executor, as MatX's
// transforms are: DeviceExec queues them on the GPU; tests/cuda/host_executor.cuh runs the very
// same algorithms and kernel bodies on the host, which is how CI (no GPU) tests their indexing
// against the cpu backend. An executor provides
//   Buffer<T>(count)                    scratch memory with get()
//   for_each(n, body)                   body(i) for i < n
//   gemm(ta, tb, m, n, k, ...)          row-major GEMM (gemm.cuh's arguments)
//   gemm_batched(...)                   the same for strided batches of operands
//   channel_sums<K>(terms, n, c, plane) per-channel double sums, with view() for bodies
//
// The kernel entry points (clamp_kernel(B, ...) and the rest) take any backend tag B that names
// an executor through executor_of<B>: hfc::cuda names DeviceExec.
#include <concepts>
#include <cstdint>

#include "hfc/backend/cuda/channel_sums.cuh"
#include "hfc/backend/cuda/gemm.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/memory.cuh"

namespace hfc::cuda_backend {

struct DeviceExec {
  template <class T>
  using Buffer = DeviceScratch<T>;

  template <class Body>
  static void for_each(std::int64_t n, const Body& body) {
    for_each_index(n, body);
  }
  template <class T>
  static void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc, bool tf32) {
    cuda_backend::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, tf32);
  }
  template <class T>
  static void gemm_batched(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                           std::int64_t lda, std::int64_t stride_a, const T* b, std::int64_t ldb, std::int64_t stride_b,
                           T beta, T* c, std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, bool tf32) {
    cuda_backend::gemm_batched(ta, tb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch,
                               tf32);
  }
  template <int K, class Terms>
  static DeviceChannelSums<K> channel_sums(const Terms& terms, std::int64_t n, std::int64_t c, std::int64_t plane) {
    return DeviceChannelSums<K>(terms, n, c, plane);
  }
};

template <class B>
struct executor_of {};  // no executor: not a tag of the cuda backend's algorithms
template <>
struct executor_of<cuda> {
  using type = DeviceExec;
};
template <class B>
using executor_t = typename executor_of<B>::type;

template <class B>
concept RunsCudaAlgorithms = requires { typename executor_of<B>::type; };

}  // namespace hfc::cuda_backend
