#pragma once
// 2-D convolution on the cpu: im2col + GEMM per sample and group, OpenMP over the batch.
// Pointwise convolutions (1x1, stride 1, no padding) skip im2col: the input is its own column
// matrix. The column buffers are per-thread scratch that persists across calls.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

namespace detail {

// Writes the patch() x (oh*ow) column matrix of one group of one sample.
template <class T>
void im2col(const T* x, const Conv2dDims& d, T* col) {
  const std::int64_t plane = d.oh * d.ow;
  for (std::int64_t c = 0; c < d.c_per_group(); ++c)
    for (std::int64_t i = 0; i < d.kh; ++i)
      for (std::int64_t j = 0; j < d.kw; ++j) {
        T* row = col + ((c * d.kh + i) * d.kw + j) * plane;
        const T* channel = x + c * d.h * d.w;
        for (std::int64_t oy = 0; oy < d.oh; ++oy) {
          const std::int64_t y = oy * d.g.stride_h - d.g.pad_h + i * d.g.dilation_h;
          T* out = row + oy * d.ow;
          if (y < 0 || y >= d.h) {
            std::fill_n(out, d.ow, T(0));
            continue;
          }
          const T* in = channel + y * d.w;
          const std::int64_t x0 = j * d.g.dilation_w - d.g.pad_w;
          if (d.g.stride_w == 1) {
            // Valid output columns are those with 0 <= ox + x0 < w.
            const std::int64_t lo = std::clamp<std::int64_t>(-x0, 0, d.ow);
            const std::int64_t hi = std::clamp<std::int64_t>(d.w - x0, lo, d.ow);
            std::fill_n(out, lo, T(0));
            std::copy(in + lo + x0, in + hi + x0, out + lo);
            std::fill_n(out + hi, d.ow - hi, T(0));
          } else {
            for (std::int64_t ox = 0; ox < d.ow; ++ox) {
              const std::int64_t xx = ox * d.g.stride_w + x0;
              out[ox] = (xx >= 0 && xx < d.w) ? in[xx] : T(0);
            }
          }
        }
      }
}

// Adds the column matrix back onto the input-shaped gradient (the adjoint of im2col).
template <class T>
void col2im_add(const T* col, const Conv2dDims& d, T* dx) {
  const std::int64_t plane = d.oh * d.ow;
  for (std::int64_t c = 0; c < d.c_per_group(); ++c)
    for (std::int64_t i = 0; i < d.kh; ++i)
      for (std::int64_t j = 0; j < d.kw; ++j) {
        const T* row = col + ((c * d.kh + i) * d.kw + j) * plane;
        T* channel = dx + c * d.h * d.w;
        for (std::int64_t oy = 0; oy < d.oh; ++oy) {
          const std::int64_t y = oy * d.g.stride_h - d.g.pad_h + i * d.g.dilation_h;
          if (y < 0 || y >= d.h) continue;
          T* out = channel + y * d.w;
          const T* in = row + oy * d.ow;
          const std::int64_t x0 = j * d.g.dilation_w - d.g.pad_w;
          for (std::int64_t ox = 0; ox < d.ow; ++ox) {
            const std::int64_t xx = ox * d.g.stride_w + x0;
            if (xx >= 0 && xx < d.w) out[xx] += in[ox];
          }
        }
      }
}

}  // namespace detail

// y = conv(x, w) + bias. bias may be null.
template <class T>
void conv2d_forward_kernel(cpu, const T* x, const T* w, const T* bias, const Conv2dDims& d, T* y) {
  const std::int64_t plane = d.oh * d.ow, K = d.patch(), og = d.o_per_group();
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < d.n; ++n) {
    struct Columns;
    T* col = d.is_pointwise() ? nullptr : scratch<T, Columns>(static_cast<std::size_t>(K * plane));
    for (std::int64_t g = 0; g < d.g.groups; ++g) {
      const T* xg = x + (n * d.c + g * d.c_per_group()) * d.h * d.w;
      T* yg = y + (n * d.o + g * og) * plane;
      const T* cols = xg;
      if (col) {
        detail::im2col(xg, d, col);
        cols = col;
      }
      gemm(Trans::no, Trans::no, og, plane, K, T(1), w + g * og * K, K, cols, plane, T(0), yg, plane);
      if (bias)
        for (std::int64_t o = 0; o < og; ++o) {
          const T b = bias[g * og + o];
          for (std::int64_t p = 0; p < plane; ++p) yg[o * plane + p] += b;
        }
    }
  }
}

// Gradients of a convolution. dx (may be null) is overwritten, or added to when accumulate_dx;
// dw and db (either may be null) are always added to, as parameter gradients are.
template <class T>
void conv2d_backward_kernel(cpu, const T* dy, const T* x, const T* w, const Conv2dDims& d, T* dx,
                            bool accumulate_dx, T* dw, T* db) {
  const std::int64_t plane = d.oh * d.ow, K = d.patch(), og = d.o_per_group();
  const std::int64_t wsize = d.o * K;
  if (dx && !accumulate_dx) std::fill_n(dx, d.n * d.c * d.h * d.w, T(0));
  // Each thread sums its samples' weight and bias gradients privately; the partial sums are then
  // added in thread order, so the result does not depend on scheduling.
  std::vector<T*> dw_partial(static_cast<std::size_t>(omp_get_max_threads()), nullptr);
  std::vector<std::vector<T>> db_partial(dw_partial.size());
#pragma omp parallel
  {
    struct Columns;
    struct WeightGrad;
    const auto tid = static_cast<std::size_t>(omp_get_thread_num());
    const auto threads = static_cast<std::size_t>(omp_get_num_threads());
    T* col = d.is_pointwise() ? nullptr : scratch<T, Columns>(static_cast<std::size_t>(K * plane));
    T* dw_local = dw ? scratch<T, WeightGrad>(static_cast<std::size_t>(wsize)) : nullptr;
    if (dw_local) std::fill_n(dw_local, wsize, T(0));
    dw_partial[tid] = dw_local;
    std::vector<T>& db_local = db_partial[tid];
    db_local.assign(db ? static_cast<std::size_t>(d.o) : 0, T(0));
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < d.n; ++n) {
      for (std::int64_t g = 0; g < d.g.groups; ++g) {
        const T* xg = x + (n * d.c + g * d.c_per_group()) * d.h * d.w;
        const T* dyg = dy + (n * d.o + g * og) * plane;
        const T* wg = w + g * og * K;
        if (dw_local) {
          const T* cols = xg;
          if (col) {
            detail::im2col(xg, d, col);
            cols = col;
          }
          gemm(Trans::no, Trans::yes, og, K, plane, T(1), dyg, plane, cols, plane, T(1), dw_local + g * og * K, K);
        }
        if (db)
          for (std::int64_t o = 0; o < og; ++o) {
            T sum = 0;
            for (std::int64_t p = 0; p < plane; ++p) sum += dyg[o * plane + p];
            db_local[static_cast<std::size_t>(g * og + o)] += sum;
          }
        if (dx) {
          T* dxg = dx + (n * d.c + g * d.c_per_group()) * d.h * d.w;
          if (!col) {  // pointwise: dx_g += w_g^T dy_g directly
            gemm(Trans::yes, Trans::no, K, plane, og, T(1), wg, K, dyg, plane, T(1), dxg, plane);
          } else {
            gemm(Trans::yes, Trans::no, K, plane, og, T(1), wg, K, dyg, plane, T(0), col, plane);
            detail::col2im_add(col, d, dxg);
          }
        }
      }
    }  // implicit barrier: every partial sum is complete
    if (dw) {
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < wsize; ++i)
        for (std::size_t t = 0; t < threads; ++t) dw[i] += dw_partial[t][i];
    }
#pragma omp single
    if (db)
      for (std::size_t t = 0; t < threads; ++t)
        for (std::int64_t i = 0; i < d.o; ++i) db[i] += db_partial[t][static_cast<std::size_t>(i)];
  }
}

}  // namespace hfc::cpu_backend
