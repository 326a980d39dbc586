#pragma once
// Per-channel sums over (N, P) of NCHW-like data, in double and deterministic: the statistics and
// gradients of BatchNorm, the bias and depthwise weight gradients of a convolution, a gate's
// weight gradient, and (with N = 1 and a channel per plane) plane sums.
//
// terms(b, ch, p) returns the K terms of element (b, ch, p). A channel's N * P terms are split over
// `splits` blocks, so that a layer with few channels still fills the GPU; each block writes its
// partial sums, and View::total adds a channel's partials in a fixed order inside the kernel that
// uses them (atomics would make the last bits depend on scheduling).
#include <algorithm>
#include <cstdint>

#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/memory.cuh"
#include "hfc/backend/cuda/reduce.cuh"
#include "hfc/backend/host_device.hpp"

namespace hfc::cuda_backend {

template <int K>
struct DoubleSums {
  double v[K];
};

// What a kernel body receives: the partial sums, partial[(ch * splits + i) * K + k].
template <int K>
struct ChannelSumsView {
  const double* partial;
  int splits;
  HFC_HOST_DEVICE double total(std::int64_t ch, int k) const {
    double s = 0;
    for (int i = 0; i < splits; ++i) s += partial[(ch * splits + i) * K + k];
    return s;
  }
};

namespace detail {
// Bodies that put the first sum of each channel to use.
template <class T>
struct StoreTotals {
  ChannelSumsView<1> sums;
  T* out;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { out[i] = T(sums.total(i, 0)); }
};
template <class T>
struct AddTotals {
  ChannelSumsView<1> sums;
  T* out;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { out[i] += T(sums.total(i, 0)); }
};

template <int K, class Terms>
__global__ void channel_partial_sums(Terms terms, std::int64_t n, std::int64_t plane, int splits, double* partial) {
  const std::int64_t ch = blockIdx.x;
  const int split = blockIdx.y;
  double acc[K] = {};
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = split * std::int64_t(blockDim.x) + threadIdx.x; p < plane;
         p += std::int64_t(splits) * blockDim.x) {
      const DoubleSums<K> t = terms(b, ch, p);
#pragma unroll
      for (int k = 0; k < K; ++k) acc[k] += t.v[k];
    }
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const double s = block_sum(acc[k]);
    if (threadIdx.x == 0) partial[(ch * splits + split) * K + k] = s;
  }
}
}  // namespace detail

// The partial sums of one call, on the device; they live as long as this object.
template <int K>
class DeviceChannelSums {
 public:
  template <class Terms>
  DeviceChannelSums(const Terms& terms, std::int64_t n, std::int64_t c, std::int64_t plane)
      : splits_(split_count(c, plane)), partial_(c * splits_ * K) {
    if (c == 0) return;
    constexpr int threads = 256;
    const ProfiledLaunch timing([] { return launch_type_name<Terms>(); });
    detail::channel_partial_sums<K><<<dim3(static_cast<unsigned>(c), static_cast<unsigned>(splits_)), threads, 0,
                                      stream()>>>(terms, n, plane, splits_, partial_.get());
    HFC_CUDA_AFTER_LAUNCH("channel_partial_sums");
  }
  ChannelSumsView<K> view() const { return {partial_.get(), splits_}; }

 private:
  // About eight blocks of 256 threads per SM on an H100/H200 (132 SMs): a memory-bound sum needs
  // most of an SM's 2048 threads in flight. No block without work.
  static int split_count(std::int64_t c, std::int64_t plane) {
    const std::int64_t want = (1056 + c - 1) / std::max<std::int64_t>(c, 1), useful = (plane + 255) / 256;
    return static_cast<int>(std::max<std::int64_t>(1, std::min({want, useful, std::int64_t(65535)})));
  }
  int splits_;
  DeviceScratch<double> partial_;
};

// out[ch] += the sum over (b, p) of terms(b, ch, p), on executor Exec (executor.cuh): the bias and
// weight gradients that are one sum per entry.
template <class Exec, class Terms, class T>
void add_channel_sums(const Terms& terms, std::int64_t n, std::int64_t c, std::int64_t plane, T* out) {
  const auto sums = Exec::template channel_sums<1>(terms, n, c, plane);
  Exec::for_each(c, detail::AddTotals<T>{sums.view(), out});
}

}  // namespace hfc::cuda_backend
