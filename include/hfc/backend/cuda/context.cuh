#pragma once
// The execution context of the cuda backend: one stream that every kernel, copy and library call
// of hfc::cuda runs on, the cuBLAS and cuSOLVER handles bound to it (created on first use), and
// the precision switches for cuBLAS's GEMMs.
//
// One context per process, on the device current when it is first used. Work on one stream runs
// in order, so a block freed to the device cache (memory.cuh) may be handed out again at once:
// whatever reads it next is queued behind whatever used it before. One host thread at a time
// should drive it (as with a PyTorch stream); the data pipeline's threads touch host memory only.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <string>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/core/backend.hpp"

namespace hfc::cuda_backend {

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ") in ", call, " at ", file,
         ":", line);
}
inline void check_cusolver(cusolverStatus_t status, const char* call, const char* file, int line) {
  if (status != CUSOLVER_STATUS_SUCCESS) fail("cuSOLVER error ", int(status), " in ", call, " at ", file, ":", line);
}

}  // namespace hfc::cuda_backend

#define HFC_CUBLAS_CHECK(call) ::hfc::cuda_backend::check_cublas((call), #call, __FILE__, __LINE__)
#define HFC_CUSOLVER_CHECK(call) ::hfc::cuda_backend::check_cusolver((call), #call, __FILE__, __LINE__)
#define HFC_CUDA_AFTER_LAUNCH(name) ::hfc::cuda_backend::check_after_launch(name, __FILE__, __LINE__)

namespace hfc::cuda_backend {

// The float SVD's algorithm: one-sided Jacobi with the columns in registers (svd_registers.cuh,
// the default: CI runs its own code on the host, and it is the most accurate), one-sided Jacobi
// with the matrix in shared memory (svd.cuh, measured on an H200 before this session's changes), or
// the Gram matrix's two-sided Jacobi in double (svd_gram.cuh). Double data, and matrices no
// register kernel holds (beyond 128 x 128, 256 x 64 or 512 x 32, taller side first), take svd.cuh.
enum class SvdAlgorithm { one_sided_jacobi, gram_jacobi, register_jacobi };

class Context {
 public:
  static Context& get() {
    static Context* context = new Context;  // never destroyed: tensors in statics outlive main
    return *context;
  }

  cudaStream_t stream() {
    std::call_once(stream_once_, [this] { HFC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); });
    return stream_;
  }
  cublasHandle_t cublas() {
    std::call_once(cublas_once_, [this] {
      HFC_CUBLAS_CHECK(cublasCreate(&cublas_));
      HFC_CUBLAS_CHECK(cublasSetStream(cublas_, stream()));
    });
    return cublas_;
  }
  cusolverDnHandle_t cusolver() {
    std::call_once(cusolver_once_, [this] {
      HFC_CUSOLVER_CHECK(cusolverDnCreate(&cusolver_));
      HFC_CUSOLVER_CHECK(cusolverDnSetStream(cusolver_, stream()));
    });
    return cusolver_;
  }
  // Waits for everything queued so far (what a host read of a result needs).
  void synchronize() { HFC_CUDA_CHECK(cudaStreamSynchronize(stream())); }

  // TF32 tensor cores for the float GEMMs of convolutions (10-bit mantissa products, float sums),
  // on by default as PyTorch's torch.backends.cudnn.allow_tf32; off gives exact float GEMMs.
  bool allow_tf32_convolution = true;
  // The same for Linear's GEMMs, off by default as torch.backends.cuda.matmul.allow_tf32.
  bool allow_tf32_matmul = false;
  // The im2col workspace of a convolution's GEMM path (conv2d.cuh), in bytes: a batch whose columns
  // (or channel-major output beside them; each is held within this) need more runs in chunks of
  // samples, at least one, a GEMM per chunk and group. Large chunks make few, large GEMMs; chunks
  // that fit the L2 cache (50 MB on an H100/H200) keep the columns' write and read out of device
  // memory, for more launches. The GPU check measures both.
  std::size_t conv_workspace_bytes = std::size_t(256) << 20;
  SvdAlgorithm svd_algorithm = SvdAlgorithm::register_jacobi;
  // register_jacobi: lanes per column pair (4, 8, 16 or 32), or 0 to choose by the matrix size.
  int svd_lanes_per_pair = 0;
  // Debugging: wait for every kernel and library call and check it there, so that a fault inside
  // a kernel is reported at its own launch, not at the next synchronisation. Set by the
  // environment variable HFC_CUDA_SYNC=1 (as CUDA_LAUNCH_BLOCKING does for PyTorch); slow.
  bool synchronize_each_launch = env_flag("HFC_CUDA_SYNC");
  // Debugging: print each kernel launch and library call's name (profiler.cuh) to stderr before it
  // is queued. With synchronize_each_launch, the last name printed before a hang or a fault is the
  // kernel that hung or faulted. Set by the environment variable HFC_CUDA_TRACE=1.
  bool trace_launches = env_flag("HFC_CUDA_TRACE");

 private:
  Context() = default;
  static bool env_flag(const char* name) {
    const char* value = std::getenv(name);
    return value && *value && std::string(value) != "0";
  }
  std::once_flag stream_once_, cublas_once_, cusolver_once_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
};

inline cudaStream_t stream() { return Context::get().stream(); }

// Sets one of the Context's switches for a scope and restores it on the way out, also when an
// exception leaves the scope:  ScopedSetting tf32(Context::get().allow_tf32_convolution, false);
template <class T>
class ScopedSetting {
 public:
  ScopedSetting(T& setting, T value) : setting_(setting), saved_(setting) { setting_ = value; }
  ~ScopedSetting() { setting_ = saved_; }
  ScopedSetting(const ScopedSetting&) = delete;
  ScopedSetting& operator=(const ScopedSetting&) = delete;

 private:
  T& setting_;
  T saved_;
};

// After a kernel launch or library call: its launch error, and in synchronize_each_launch mode
// any fault while it ran, reported with its name and place.
inline void check_after_launch(const char* name, const char* file, int line) {
  check_cuda(cudaGetLastError(), name, file, line);
  if (Context::get().synchronize_each_launch) check_cuda(cudaStreamSynchronize(stream()), name, file, line);
}

// What the backend runs on, for logs: "cuda, NVIDIA H200 (sm_90, 139 GiB)".
inline std::string describe(cuda) {
  int device = 0;
  cudaDeviceProp p{};
  HFC_CUDA_CHECK(cudaGetDevice(&device));
  HFC_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return "cuda, " + std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 30) + " GiB)";
}

}  // namespace hfc::cuda_backend
