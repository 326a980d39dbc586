#pragma once
// Depthwise convolutions on small maps (MobileNetV2's 6x6 to 2x2 at 48 px), channels last.
//
// Plane by plane, a 3x3 depthwise convolution of a 2x2 map is a few multiply-adds behind a padded
// copy and a dozen short loops: a 960 x 2 x 2 one ran at 38 M values/s forward and backward, one
// at 32 x 24 x 24 at 500 M. Every channel has the same geometry, so here a sample's channels are
// transposed to the innermost axis, and each (output position, tap) pair is one vector loop over
// the channels; the results are transposed back. Weight gradients are summed per thread in a
// [tap][channel] table and added in thread order, as the plane-by-plane path does.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <omp.h>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend::depthwise {

inline constexpr std::int64_t kMaxPlane = 64;  // output positions; larger maps go plane by plane

inline bool applies(const Conv2dDims& d) {
  return d.g.groups == d.c && d.o == d.c && d.oh * d.ow <= kMaxPlane && d.h * d.w <= 4 * kMaxPlane;
}

namespace detail {
struct InputSlot;
struct OutputSlot;
struct GradientSlot;
struct WeightGradSlot;

// [rows][cols] <- [cols][rows]: a sample's planes to channels last, or back (added when `add`).
template <class T>
void transpose(const T* HFC_RESTRICT from, std::int64_t rows, std::int64_t cols, T* HFC_RESTRICT to, bool add = false) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < cols; ++k) {
      const T v = from[k * rows + r];
      to[r * cols + k] = add ? to[r * cols + k] + v : v;
    }
}

// f(output position, input position, tap) for every tap that lands inside the input, in the
// order of the outputs and then of the taps.
template <class F>
void for_each_tap(const Conv2dDims& d, F&& f) {
  for (std::int64_t oy = 0; oy < d.oh; ++oy)
    for (std::int64_t ky = 0; ky < d.kh; ++ky) {
      const std::int64_t iy = oy * d.g.stride_h - d.g.pad_h + ky * d.g.dilation_h;
      if (iy < 0 || iy >= d.h) continue;
      for (std::int64_t ox = 0; ox < d.ow; ++ox)
        for (std::int64_t kx = 0; kx < d.kw; ++kx) {
          const std::int64_t ix = ox * d.g.stride_w - d.g.pad_w + kx * d.g.dilation_w;
          if (ix >= 0 && ix < d.w) f(oy * d.ow + ox, iy * d.w + ix, ky * d.kw + kx);
        }
    }
}

// out[k] += a[k] * b[k] over the channels
template <class T>
void add_products(T* HFC_RESTRICT out, const T* HFC_RESTRICT a, const T* HFC_RESTRICT b, std::int64_t c) {
#pragma omp simd
  for (std::int64_t k = 0; k < c; ++k) out[k] += a[k] * b[k];
}

// The weights as [tap][channel].
template <class T>
std::vector<T> weights_by_tap(const T* w, const Conv2dDims& d) {
  std::vector<T> wt(static_cast<std::size_t>(d.kh * d.kw * d.c));
  transpose(w, d.kh * d.kw, d.c, wt.data());
  return wt;
}
}  // namespace detail

// y = depthwise conv(x, w), no bias.
template <class T>
void forward(const T* x, const T* w, const Conv2dDims& d, T* y) {
  const std::int64_t c = d.c, in_plane = d.h * d.w, out_plane = d.oh * d.ow;
  const auto wt = detail::weights_by_tap(w, d);
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < d.n; ++n) {
    T* xt = scratch<T, detail::InputSlot>(static_cast<std::size_t>(in_plane * c));
    T* yt = scratch<T, detail::OutputSlot>(static_cast<std::size_t>(out_plane * c));
    detail::transpose(x + n * c * in_plane, in_plane, c, xt);
    std::fill_n(yt, out_plane * c, T(0));
    detail::for_each_tap(d, [&](std::int64_t out, std::int64_t in, std::int64_t tap) {
      detail::add_products(yt + out * c, wt.data() + tap * c, xt + in * c, c);
    });
    detail::transpose(yt, c, out_plane, y + n * c * out_plane);
  }
}

// Gradients: dx (may be null) overwritten, or added to when accumulate_dx; dw and db (either may
// be null) added to.
template <class T>
void backward(const T* dy, const T* x, const T* w, const Conv2dDims& d, T* dx, bool accumulate_dx, T* dw, T* db) {
  const std::int64_t c = d.c, in_plane = d.h * d.w, out_plane = d.oh * d.ow, taps = d.kh * d.kw;
  const auto wt = detail::weights_by_tap(w, d);
  const std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
  // per thread: the weight gradient [tap][channel], then the bias gradient [channel]
  std::vector<std::vector<T>> partial(threads);
#pragma omp parallel
  {
    std::vector<T>& sums = partial[static_cast<std::size_t>(omp_get_thread_num())];
    sums.assign(static_cast<std::size_t>((taps + 1) * c), T(0));
    T* dwt = sums.data();
    T* dbt = dwt + taps * c;
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < d.n; ++n) {
      T* xt = scratch<T, detail::InputSlot>(static_cast<std::size_t>(in_plane * c));
      T* dyt = scratch<T, detail::OutputSlot>(static_cast<std::size_t>(out_plane * c));
      T* dxt = scratch<T, detail::GradientSlot>(static_cast<std::size_t>(in_plane * c));
      detail::transpose(dy + n * c * out_plane, out_plane, c, dyt);
      if (dw) detail::transpose(x + n * c * in_plane, in_plane, c, xt);
      if (dx) std::fill_n(dxt, in_plane * c, T(0));
      detail::for_each_tap(d, [&](std::int64_t out, std::int64_t in, std::int64_t tap) {
        if (dx) detail::add_products(dxt + in * c, wt.data() + tap * c, dyt + out * c, c);
        if (dw) detail::add_products(dwt + tap * c, dyt + out * c, xt + in * c, c);
      });
      if (db)
        for (std::int64_t p = 0; p < out_plane; ++p)
#pragma omp simd
          for (std::int64_t k = 0; k < c; ++k) dbt[k] += dyt[p * c + k];
      if (dx) detail::transpose(dxt, c, in_plane, dx + n * c * in_plane, accumulate_dx);
    }
  }
  for (const auto& sums : partial) {  // thread order: the result does not depend on scheduling
    if (sums.empty()) continue;
    if (dw)
      for (std::int64_t k = 0; k < c; ++k)
        for (std::int64_t tap = 0; tap < taps; ++tap) dw[k * taps + tap] += sums[std::size_t(tap * c + k)];
    if (db)
      for (std::int64_t k = 0; k < c; ++k) db[k] += sums[std::size_t(taps * c + k)];
  }
}

}  // namespace hfc::cpu_backend::depthwise
