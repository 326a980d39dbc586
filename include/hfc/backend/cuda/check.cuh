#pragma once
// Every CUDA runtime and library status is checked and turned into hfc::Error naming the call,
// the status and the place.
#include <cuda_runtime.h>

#include <string>

#include "hfc/core/error.hpp"

namespace hfc::cuda_backend {

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  // A failed call also sets the runtime's last error, which the next launch check would report
  // as its own (a caught out-of-memory error would resurface at an unrelated kernel). Clear it;
  // a sticky error (a fault inside a kernel) stays, as it must.
  cudaGetLastError();
  fail("CUDA error ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ") in ", call, " at ", file, ":",
         line);
}

// Whether a usable CUDA device is present (false on machines without a GPU or driver).
inline bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}
// Why there is no usable device, or how many there are: for messages and test logs. A machine
// without a driver and one whose driver is older than this CUDA runtime both report
// cudaErrorInsufficientDriver; the message says which error it was.
inline std::string device_status() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
  return std::to_string(count) + " CUDA device" + (count == 1 ? "" : "s");
}

}  // namespace hfc::cuda_backend

#define HFC_CUDA_CHECK(call) ::hfc::cuda_backend::check_cuda((call), #call, __FILE__, __LINE__)
