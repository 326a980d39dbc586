#pragma once
// Max pooling with argmax and global average pooling; the cpu backend's contracts
// (backend/cpu/pooling.hpp): the first maximum in row-major order wins, the first NaN wins over
// everything, padding is -infinity.
#include <algorithm>
#include <cstdint>

#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/fast_divide.cuh"

namespace hfc::cuda_backend {

namespace detail {
struct PoolWindow {
  std::int64_t h, w, k, stride, pad, oh, ow;
};
// (plane, row, column) of an index into [planes, rows, columns].
inline Index3 plane_rows_columns(std::int64_t rows, std::int64_t columns) { return {rows, columns}; }

template <class T>
struct MaxPool {
  const T* x;
  PoolWindow g;
  Index3 out;  // (plane, oy, ox)
  T* y;
  std::int64_t* argmax;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t pl, oy, ox;
    out.split(idx, pl, oy, ox);
    const T* xp = x + pl * g.h * g.w;
    const std::int64_t y0 = oy * g.stride - g.pad, x0 = ox * g.stride - g.pad;
    const std::int64_t i_lo = y0 < 0 ? -y0 : 0, i_hi = g.k < g.h - y0 ? g.k : g.h - y0;
    const std::int64_t j_lo = x0 < 0 ? -x0 : 0, j_hi = g.k < g.w - x0 ? g.k : g.w - x0;
    std::int64_t where = (y0 + i_lo) * g.w + x0 + j_lo;
    T best = xp[where];
    bool nan = best != best;
    for (std::int64_t i = i_lo; i < i_hi && !nan; ++i)
      for (std::int64_t j = j_lo; j < j_hi; ++j) {
        const std::int64_t at = (y0 + i) * g.w + x0 + j;
        const T v = xp[at];
        if (v > best || v != v) {
          best = v;
          where = at;
          if (v != v) {
            nan = true;
            break;
          }
        }
      }
    y[idx] = best;
    argmax[idx] = where;
  }
};

// Gathers rather than scatters: each input element sums dy over the outputs whose window holds it
// and chose it, in a fixed order, so the result is deterministic (atomics would not be).
template <class T>
struct MaxPoolBackward {
  const T* dy;
  const std::int64_t* argmax;
  PoolWindow g;
  Index3 in;  // (plane, iy, ix)
  FastDivider stride;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t pl, iy, ix;
    in.split(idx, pl, iy, ix);
    const std::int64_t at = iy * g.w + ix;
    // Outputs o with o * stride - pad <= i < o * stride - pad + k.
    const std::int64_t oy_lo = iy + g.pad - g.k + 1 > 0 ? stride.div(iy + g.pad - g.k + g.stride) : 0;
    const std::int64_t ox_lo = ix + g.pad - g.k + 1 > 0 ? stride.div(ix + g.pad - g.k + g.stride) : 0;
    const std::int64_t oy_top = stride.div(iy + g.pad), ox_top = stride.div(ix + g.pad);
    const std::int64_t oy_hi = oy_top < g.oh - 1 ? oy_top : g.oh - 1;
    const std::int64_t ox_hi = ox_top < g.ow - 1 ? ox_top : g.ow - 1;
    T sum = 0;
    for (std::int64_t oy = oy_lo; oy <= oy_hi; ++oy)
      for (std::int64_t ox = ox_lo; ox <= ox_hi; ++ox) {
        const std::int64_t o = (pl * g.oh + oy) * g.ow + ox;
        if (argmax[o] == at) sum += dy[o];
      }
    dx[idx] = sum;
  }
};

// A plane per "channel": channel_sums over (1, planes, plane).
template <class T>
struct PlaneTerm {
  const T* x;
  std::int64_t plane;
  HFC_HOST_DEVICE DoubleSums<1> operator()(std::int64_t, std::int64_t pl, std::int64_t p) const {
    return {{double(x[pl * plane + p])}};
  }
};
template <class T>
struct PlaneMean {
  ChannelSumsView<1> sums;
  std::int64_t plane;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t pl) const { y[pl] = T(sums.total(pl, 0) / double(plane)); }
};
template <class T>
struct SpreadPlaneMean {
  const T* dy;
  FastDivider plane;
  bool accumulate;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const T g = dy[plane.div(i)] / T(plane.divisor());
    dx[i] = accumulate ? dx[i] + g : g;
  }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void max_pool_kernel(B, const T* x, std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t k,
                     std::int64_t stride, std::int64_t pad, std::int64_t oh, std::int64_t ow, T* y,
                     std::int64_t* argmax) {
  FastDivider::check_range(planes * std::max(h * w, oh * ow), "max_pool2d");  // indexes x, splits y
  executor_t<B>::for_each(planes * oh * ow,
                          detail::MaxPool<T>{x, {h, w, k, stride, pad, oh, ow}, detail::plane_rows_columns(oh, ow), y,
                                             argmax});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void max_pool_backward_kernel(B, const T* dy, const std::int64_t* argmax, std::int64_t planes, std::int64_t h,
                              std::int64_t w, std::int64_t k, std::int64_t stride, std::int64_t pad, std::int64_t oh,
                              std::int64_t ow, T* dx) {
  FastDivider::check_range(planes * std::max(h * w, oh * ow), "max_pool2d_backward");
  executor_t<B>::for_each(planes * h * w, detail::MaxPoolBackward<T>{dy, argmax, {h, w, k, stride, pad, oh, ow},
                                                                     detail::plane_rows_columns(h, w),
                                                                     FastDivider(stride), dx});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void global_avg_pool_kernel(B, const T* x, std::int64_t planes, std::int64_t plane, T* y) {
  using Exec = executor_t<B>;
  const auto sums = Exec::template channel_sums<1>(detail::PlaneTerm<T>{x, plane}, 1, planes, plane);
  Exec::for_each(planes, detail::PlaneMean<T>{sums.view(), plane, y});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void global_avg_pool_backward_kernel(B, const T* dy, std::int64_t planes, std::int64_t plane, bool accumulate, T* dx) {
  FastDivider::check_range(planes * plane, "global_avg_pool2d_backward");
  executor_t<B>::for_each(planes * plane, detail::SpreadPlaneMean<T>{dy, FastDivider(plane), accumulate, dx});
}

}  // namespace hfc::cuda_backend
