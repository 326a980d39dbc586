#pragma once
// Element-wise kernels: axpy, sigmoid gating (with the gated projection's backward), and the
// outer-product correlation.
#include <cstdint>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/core/backend.hpp"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
__global__ void axpy_impl(std::int64_t n, T alpha, const T* x, T* y) {
  HFC_GRID_STRIDE_LOOP(i, n) y[i] += alpha * x[i];
}
template <class T>
__device__ T sigmoid(T z) {
  return z >= T(0) ? T(1) / (T(1) + exp(-z)) : exp(z) / (T(1) + exp(z));
}
template <class T>
__global__ void sigmoid_gate_impl(const T* z, const T* x, std::int64_t batch, std::int64_t channels, std::int64_t plane,
                                  T* a, T* y) {
  HFC_GRID_STRIDE_LOOP(i, batch * channels * plane) {
    const std::int64_t b = i / (channels * plane), p = i % plane;
    const T g = sigmoid(z[b * plane + p]);
    y[i] = g * x[i];
    if (i % (channels * plane) < plane) a[b * plane + p] = g;  // channel 0 writes the gate
  }
}
// One thread per (b, p): the channel sum for dz, and dx for every channel.
template <class T>
__global__ void sigmoid_gate_backward_impl(const T* dy, const T* x, const T* a, std::int64_t batch,
                                           std::int64_t channels, std::int64_t plane, T* dx, T* dz) {
  HFC_GRID_STRIDE_LOOP(i, batch * plane) {
    const std::int64_t b = i / plane, p = i % plane;
    const T g = a[i];
    T sum = 0;
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t k = (b * channels + c) * plane + p;
      sum += dy[k] * x[k];
      if (dx) dx[k] = g * dy[k];
    }
    dz[i] = g * (T(1) - g) * sum;
  }
}
// dx = a * dy + w_c * dk, one thread per element.
template <class T>
__global__ void gated_projection_dx_impl(const T* dy, const T* a, const T* w, const T* dk, std::int64_t batch,
                                         std::int64_t channels, std::int64_t plane, T* dx) {
  HFC_GRID_STRIDE_LOOP(i, batch * channels * plane) {
    const std::int64_t b = i / (channels * plane), c = i / plane % channels, p = i % plane;
    dx[i] = a[b * plane + p] * dy[i] + w[c] * dk[b * plane + p];
  }
}
// dw_c += sum_{b,p} x[b, c, p] dk[b, p]: one block of kThreads per channel, a tree in shared memory.
template <class T>
__global__ void projection_weight_grad_impl(const T* x, const T* dk, std::int64_t batch, std::int64_t channels,
                                            std::int64_t plane, T* dw) {
  __shared__ T partial[kThreads];
  const std::int64_t c = blockIdx.x;
  T sum = 0;
  for (std::int64_t j = threadIdx.x; j < batch * plane; j += blockDim.x)
    sum += x[(j / plane * channels + c) * plane + j % plane] * dk[j];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dw[c] += partial[0];
}
template <class T>
__global__ void outer_product_impl(const T* q, std::int64_t lq, const T* k, std::int64_t lk, std::int64_t batch,
                                   std::int64_t h, std::int64_t w, T* out, std::int64_t out_stride) {
  HFC_GRID_STRIDE_LOOP(idx, batch * h * w) {
    const std::int64_t b = idx / (h * w), i = idx / w % h, j = idx % w;
    out[b * out_stride + i * w + j] = (i < lq && j < lk) ? q[b * lq + i] * k[b * lk + j] : T(0);
  }
}
// One thread per vector entry: dq[i] += sum_j dm[i, j] k[j], dk[j] += sum_i dm[i, j] q[i].
template <class T>
__global__ void outer_product_backward_impl(const T* dm, std::int64_t dm_stride, const T* q, std::int64_t lq,
                                            const T* k, std::int64_t lk, std::int64_t batch, std::int64_t w, T* dq,
                                            T* dk) {
  HFC_GRID_STRIDE_LOOP(idx, batch * (lq + lk)) {
    const std::int64_t b = idx / (lq + lk), r = idx % (lq + lk);
    const T* m = dm + b * dm_stride;
    T sum = 0;
    if (r < lq) {
      for (std::int64_t j = 0; j < lk; ++j) sum += m[r * w + j] * k[b * lk + j];
      dq[b * lq + r] += sum;
    } else {
      const std::int64_t j = r - lq;
      for (std::int64_t i = 0; i < lq; ++i) sum += m[i * w + j] * q[b * lq + i];
      dk[b * lk + j] += sum;
    }
  }
}
}  // namespace detail

template <class T>
void axpy_kernel(cuda, std::int64_t n, T alpha, const T* x, T* y) {
  detail::axpy_impl<<<blocks_for(n), kThreads>>>(n, alpha, x, y);
  HFC_CUDA_CHECK_LAUNCH("axpy");
}
template <class T>
void sigmoid_gate_kernel(cuda, const T* z, const T* x, std::int64_t batch, std::int64_t channels, std::int64_t plane,
                         T* a, T* y) {
  detail::sigmoid_gate_impl<<<blocks_for(batch * channels * plane), kThreads>>>(z, x, batch, channels, plane, a, y);
  HFC_CUDA_CHECK_LAUNCH("sigmoid_gate");
}
template <class T>
void sigmoid_gate_backward_kernel(cuda, const T* dy, const T* x, const T* a, std::int64_t batch, std::int64_t channels,
                                  std::int64_t plane, T* dx, T* dz) {
  detail::sigmoid_gate_backward_impl<<<blocks_for(batch * plane), kThreads>>>(dy, x, a, batch, channels, plane, dx, dz);
  HFC_CUDA_CHECK_LAUNCH("sigmoid_gate_backward");
}
template <class T>
void gated_projection_backward_kernel(cuda, const T* dy, const T* x, const T* a, const T* w, const T* dk,
                                      std::int64_t batch, std::int64_t channels, std::int64_t plane, T* dx, T* dw) {
  detail::gated_projection_dx_impl<<<blocks_for(batch * channels * plane), kThreads>>>(dy, a, w, dk, batch, channels,
                                                                                        plane, dx);
  HFC_CUDA_CHECK_LAUNCH("gated_projection_backward (dx)");
  detail::projection_weight_grad_impl<<<static_cast<unsigned>(channels), kThreads>>>(x, dk, batch, channels, plane, dw);
  HFC_CUDA_CHECK_LAUNCH("gated_projection_backward (dw)");
}
template <class T>
void outer_product_kernel(cuda, const T* q, std::int64_t lq, const T* k, std::int64_t lk, std::int64_t batch,
                          std::int64_t h, std::int64_t w, T* out, std::int64_t out_stride) {
  detail::outer_product_impl<<<blocks_for(batch * h * w), kThreads>>>(q, lq, k, lk, batch, h, w, out, out_stride);
  HFC_CUDA_CHECK_LAUNCH("outer_product");
}
template <class T>
void outer_product_backward_kernel(cuda, const T* dm, std::int64_t dm_stride, const T* q, std::int64_t lq, const T* k,
                                   std::int64_t lk, std::int64_t batch, std::int64_t w, T* dq, T* dk) {
  detail::outer_product_backward_impl<<<blocks_for(batch * (lq + lk)), kThreads>>>(dm, dm_stride, q, lq, k, lk, batch,
                                                                                    w, dq, dk);
  HFC_CUDA_CHECK_LAUNCH("outer_product_backward");
}

}  // namespace hfc::cuda_backend
