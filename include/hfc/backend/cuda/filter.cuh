#pragma once
// Frequency filtering on the GPU: batched cuFFT R2C, one kernel multiplying the half-spectrum by
// the response, batched C2R. Plans are cached per (h, w, maps, precision), bound to the
// context's stream.
#include <cufft.h>

#include <complex>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/memory.cuh"

namespace hfc::cuda_backend {

inline void check_cufft(cufftResult status, const char* call, const char* file, int line) {
  if (status != CUFFT_SUCCESS) fail("cuFFT error ", int(status), " in ", call, " at ", file, ":", line);
}
#define HFC_CUFFT_CHECK(call) ::hfc::cuda_backend::check_cufft((call), #call, __FILE__, __LINE__)

template <class T>
struct CufftTypes;
template <>
struct CufftTypes<float> {
  using real = cufftReal;
  using complex = cufftComplex;
  static constexpr cufftType forward = CUFFT_R2C, inverse = CUFFT_C2R;
  static cufftResult r2c(cufftHandle p, real* in, complex* out) { return cufftExecR2C(p, in, out); }
  static cufftResult c2r(cufftHandle p, complex* in, real* out) { return cufftExecC2R(p, in, out); }
};
template <>
struct CufftTypes<double> {
  using real = cufftDoubleReal;
  using complex = cufftDoubleComplex;
  static constexpr cufftType forward = CUFFT_D2Z, inverse = CUFFT_Z2D;
  static cufftResult r2c(cufftHandle p, real* in, complex* out) { return cufftExecD2Z(p, in, out); }
  static cufftResult c2r(cufftHandle p, complex* in, real* out) { return cufftExecZ2D(p, in, out); }
};

template <class T>
class CufftPlanCache {
 public:
  static CufftPlanCache& instance() {
    static CufftPlanCache* cache = new CufftPlanCache;  // plans live as long as the process
    return *cache;
  }
  std::pair<cufftHandle, cufftHandle> get(int h, int w, int maps) {
    std::lock_guard lock(mutex_);
    const auto key = std::make_tuple(h, w, maps);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    const int half = h * (w / 2 + 1);
    const cufftHandle forward = plan(h, w, maps, h * w, half, CufftTypes<T>::forward);
    cufftHandle inverse;
    try {
      inverse = plan(h, w, maps, half, h * w, CufftTypes<T>::inverse);
    } catch (...) {
      cufftDestroy(forward);
      throw;
    }
    return plans_.emplace(key, std::pair{forward, inverse}).first->second;
  }

 private:
  // A batched 2-D plan on the context's stream. Its work area comes from cudaMalloc: when that
  // fails, the device block cache (memory.cuh) may hold the memory, so it is given back and the
  // plan tried once more, as a failed tensor allocation is.
  static cufftHandle plan(int h, int w, int maps, int in_distance, int out_distance, cufftType type) {
    int dims[2] = {h, w};
    const cudaStream_t on = stream();
    cufftHandle handle = 0;
    auto attempt = [&] {  // a handle with its plan on the context's stream, or none (destroyed)
      std::size_t work = 0;
      cufftResult status = cufftCreate(&handle);
      if (status != CUFFT_SUCCESS) return status;
      status = cufftMakePlanMany(handle, 2, dims, nullptr, 1, in_distance, nullptr, 1, out_distance, type, maps, &work);
      if (status == CUFFT_SUCCESS) status = cufftSetStream(handle, on);
      if (status != CUFFT_SUCCESS) cufftDestroy(handle);
      return status;
    };
    cufftResult status = attempt();
    if (status == CUFFT_ALLOC_FAILED) {
      DeviceBlockCache::instance().release();
      status = attempt();
    }
    check_cufft(status, "cufftMakePlanMany", __FILE__, __LINE__);
    return handle;
  }
  std::mutex mutex_;
  std::map<std::tuple<int, int, int>, std::pair<cufftHandle, cufftHandle>> plans_;
};

namespace detail {
template <class C, class T>
struct ScaleSpectrum {
  C* spectrum;
  const T* response;
  std::int64_t half;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const T r = response[i % half];
    spectrum[i].x *= r;
    spectrum[i].y *= r;
  }
};
}  // namespace detail

// Same contract as the cpu kernel: `response` is h x (w/2 + 1) on the device, 1/(h w) folded in.
// cuFFT wants real data aligned as its complex type (PyTorch's SpectralOps copies such inputs too);
// a map batch that starts at an odd float, e.g. rows of a stacked tensor (Tensor::narrow) with an
// odd N h w before them, goes through an aligned copy.
template <class T>
void frequency_filter_kernel(cuda, const T* in, T* out, std::int64_t maps, std::int64_t h, std::int64_t w,
                             const T* response) {
  using Types = CufftTypes<T>;
  auto aligned = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p) % (2 * sizeof(T)) == 0; };
  const std::int64_t total = maps * h * w;
  if (!aligned(in) || !aligned(out)) {
    DeviceScratch<T> in_copy(total), out_copy(total);
    copy_n(cuda{}, in, total, in_copy.get());
    frequency_filter_kernel(cuda{}, in_copy.get(), out_copy.get(), maps, h, w, response);
    copy_n(cuda{}, out_copy.get(), total, out);
    return;
  }
  const auto [forward, inverse] = CufftPlanCache<T>::instance().get(int(h), int(w), int(maps));
  const std::int64_t half = h * (w / 2 + 1);
  DeviceScratch<typename Types::complex> spectrum(maps * half);  // back to the cache at scope exit
  const auto shape = [&] { return std::to_string(maps) + "x" + std::to_string(h) + "x" + std::to_string(w); };
  {
    const ProfiledLaunch timing([&] { return "cufftExecR2C " + shape(); });
    HFC_CUFFT_CHECK(Types::r2c(forward, const_cast<T*>(in), spectrum.get()));  // R2C leaves its input intact
  }
  for_each_index(maps * half, detail::ScaleSpectrum<typename Types::complex, T>{spectrum.get(), response, half});
  {
    const ProfiledLaunch timing([&] { return "cufftExecC2R " + shape(); });
    HFC_CUFFT_CHECK(Types::c2r(inverse, spectrum.get(), out));
  }
  HFC_CUDA_AFTER_LAUNCH("cuFFT filter");
}

}  // namespace hfc::cuda_backend
