#pragma once
// Max pooling (with the argmax kept for backward) and global average pooling, NCHW.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "hfc/backend/cpu/elementwise.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

namespace detail {

// One plane of max_pool_kernel (argmax indices within the plane).
template <class T>
void max_pool_plane(const T* xp, std::int64_t h, std::int64_t w, std::int64_t k, std::int64_t stride, std::int64_t pad,
                    std::int64_t oh, std::int64_t ow, T* y, std::int64_t* argmax) {
  for (std::int64_t oy = 0; oy < oh; ++oy) {
    // The window's rows and columns clipped to the image once, not tested per element.
    const std::int64_t y0 = oy * stride - pad, i_lo = std::max<std::int64_t>(0, -y0), i_hi = std::min(k, h - y0);
    for (std::int64_t ox = 0; ox < ow; ++ox) {
      const std::int64_t x0 = ox * stride - pad, j_lo = std::max<std::int64_t>(0, -x0), j_hi = std::min(k, w - x0);
      const std::int64_t out = oy * ow + ox;
      if (i_lo < i_hi && j_lo < j_hi) {
        // Branch-free pass: the first strict maximum (its index selected with a mask, which
        // the compiler cannot turn back into an unpredictable branch), and whether any input
        // is NaN (an or, not a sum: a chain of dependent adds was the bottleneck). Unclipped
        // 3x3 windows (ResNet18's pool) get fixed loop bounds, which the compiler unrolls:
        // 20% off the forward pass over [32, 64, 112, 112].
        std::int64_t where = (y0 + i_lo) * w + x0 + j_lo;
        T best = xp[where];
        bool nan = false;
        auto visit = [&](std::int64_t i, std::int64_t j) {
          const std::int64_t at = (y0 + i) * w + x0 + j;
          const T v = xp[at];
          nan |= v != v;
          const bool better = v > best;
          best = better ? v : best;
          where += (at - where) & -static_cast<std::int64_t>(better);
        };
        if (k == 3 && i_lo == 0 && i_hi == 3 && j_lo == 0 && j_hi == 3) {
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) visit(i, j);
        } else {
          for (std::int64_t i = i_lo; i < i_hi; ++i)
            for (std::int64_t j = j_lo; j < j_hi; ++j) visit(i, j);
        }
        if (!nan) {
          y[out] = best;
          argmax[out] = where;
          continue;
        }
      }
      // A NaN in the window: the first NaN wins, as in PyTorch.
      T best = -std::numeric_limits<T>::infinity();
      std::int64_t where = -1;
      for (std::int64_t i = i_lo; i < i_hi && !std::isnan(best); ++i) {
        const T* row = xp + (y0 + i) * w + x0;
        for (std::int64_t j = j_lo; j < j_hi; ++j) {
          const T v = row[j];
          if (where < 0 || v > best || std::isnan(v)) {
            best = v;
            where = (y0 + i) * w + x0 + j;
            if (std::isnan(v)) break;
          }
        }
      }
      y[out] = best;
      argmax[out] = where;
    }
  }
}

// ResNet18's pool (3x3, stride 2, padding 1) on one plane, separably: a pass along every input
// row takes, for each output column, the first maximum of its (up to) three columns; a pass down
// the output rows takes the first maximum of three row results. That is the first maximum in
// row-major order, as the window-at-a-time path above has it, and both passes are flat loops over
// contiguous outputs, which vectorise (that path does nine dependent compare-and-selects per
// output). Returns false, having written nothing, for a plane with a NaN (that path handles it).
template <class T>
bool max_pool_3x3s2_plane(const T* xp, std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow, T* y,
                          std::int64_t* argmax) {
  bool nan = false;
#pragma omp simd reduction(|| : nan)
  for (std::int64_t i = 0; i < h * w; ++i) nan = nan || xp[i] != xp[i];
  if (nan) return false;
  struct RowMax;
  struct RowArg;
  T* row_max = scratch<T, RowMax>(static_cast<std::size_t>(h * ow));
  std::int64_t* row_arg = scratch<std::int64_t, RowArg>(static_cast<std::size_t>(h * ow));  // column of the row maximum
  // Output column ox covers input columns 2 ox - 1 .. 2 ox + 1; all three exist for 1 <= ox < inner.
  const std::int64_t inner = std::min(ow, (w - 2) / 2 + 1);
  for (std::int64_t r = 0; r < h; ++r) {
    const T* row = xp + r * w;
    T* HFC_RESTRICT m = row_max + r * ow;
    std::int64_t* HFC_RESTRICT a = row_arg + r * ow;
    auto clipped = [&](std::int64_t ox) {
      std::int64_t at = std::max<std::int64_t>(0, 2 * ox - 1);
      T best = row[at];
      for (std::int64_t x = at + 1; x <= std::min(2 * ox + 1, w - 1); ++x)
        if (row[x] > best) best = row[x], at = x;
      m[ox] = best;
      a[ox] = at;
    };
    clipped(0);
#pragma omp simd
    for (std::int64_t ox = 1; ox < inner; ++ox) {
      const T left = row[2 * ox - 1], centre = row[2 * ox], right = row[2 * ox + 1];
      const bool c_wins = centre > left;
      const T best = c_wins ? centre : left;
      const std::int64_t at = c_wins ? 2 * ox : 2 * ox - 1;
      const bool r_wins = right > best;
      m[ox] = r_wins ? right : best;
      a[ox] = r_wins ? 2 * ox + 1 : at;
    }
    for (std::int64_t ox = std::max<std::int64_t>(inner, 1); ox < ow; ++ox) clipped(ox);
  }
  for (std::int64_t oy = 0; oy < oh; ++oy) {
    const std::int64_t first = std::max<std::int64_t>(0, 2 * oy - 1), last = std::min(2 * oy + 1, h - 1);
    T* HFC_RESTRICT out = y + oy * ow;
    std::int64_t* HFC_RESTRICT arg = argmax + oy * ow;
#pragma omp simd
    for (std::int64_t ox = 0; ox < ow; ++ox) {
      out[ox] = row_max[first * ow + ox];
      arg[ox] = first * w + row_arg[first * ow + ox];
    }
    for (std::int64_t r = first + 1; r <= last; ++r)
#pragma omp simd
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        const bool wins = row_max[r * ow + ox] > out[ox];
        out[ox] = wins ? row_max[r * ow + ox] : out[ox];
        arg[ox] = wins ? r * w + row_arg[r * ow + ox] : arg[ox];
      }
  }
  return true;
}

}  // namespace detail

// x [planes, h, w] -> y [planes, oh, ow]; argmax holds the flat index into the input plane.
// Padding acts as -infinity; the first maximum in row-major order wins, and NaN propagates, as
// in PyTorch.
template <class T>
void max_pool_kernel(cpu, const T* x, std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t k,
                     std::int64_t stride, std::int64_t pad, std::int64_t oh, std::int64_t ow, T* y,
                     std::int64_t* argmax) {
#pragma omp parallel for schedule(static)
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * h * w;
    T* yp = y + pl * oh * ow;
    std::int64_t* ap = argmax + pl * oh * ow;
    if (k == 3 && stride == 2 && pad == 1 && detail::max_pool_3x3s2_plane(xp, h, w, oh, ow, yp, ap)) continue;
    detail::max_pool_plane(xp, h, w, k, stride, pad, oh, ow, yp, ap);
  }
}

// dx[argmax] += dy (dx overwritten first). The window geometry is the forward's; the serial
// scatter here needs only the plane sizes (the cuda backend gathers, which needs the windows).
template <class T>
void max_pool_backward_kernel(cpu, const T* dy, const std::int64_t* argmax, std::int64_t planes, std::int64_t h,
                              std::int64_t w, std::int64_t /*k*/, std::int64_t /*stride*/, std::int64_t /*pad*/,
                              std::int64_t oh, std::int64_t ow, T* dx) {
  const std::int64_t in_plane = h * w, out_plane = oh * ow;
#pragma omp parallel for schedule(static)
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    T* dxp = dx + pl * in_plane;
    for (std::int64_t i = 0; i < in_plane; ++i) dxp[i] = T(0);
    for (std::int64_t o = 0; o < out_plane; ++o) dxp[argmax[pl * out_plane + o]] += dy[pl * out_plane + o];
  }
}

// y[pl] = mean of plane pl.
template <class T>
void global_avg_pool_kernel(cpu, const T* x, std::int64_t planes, std::int64_t plane, T* y) {
#pragma omp parallel for schedule(static) if (planes * plane > (1 << 16))
  for (std::int64_t pl = 0; pl < planes; ++pl) y[pl] = sum(x + pl * plane, plane) / T(plane);
}

// dx[pl, :] = dy[pl] / plane, or += when accumulate.
template <class T>
void global_avg_pool_backward_kernel(cpu, const T* dy, std::int64_t planes, std::int64_t plane, bool accumulate,
                                     T* dx) {
#pragma omp parallel for schedule(static) if (planes * plane > (1 << 16))
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    const T g = dy[pl] / T(plane);
    T* dxp = dx + pl * plane;
    if (accumulate)
      for (std::int64_t i = 0; i < plane; ++i) dxp[i] += g;
    else
      for (std::int64_t i = 0; i < plane; ++i) dxp[i] = g;
  }
}

// y = x * mask * scale, the mask given (dropout's forward and backward alike).
template <class T>
void masked_scale_kernel(cpu, const T* x, const std::uint8_t* mask, std::int64_t n, T scale, T* y) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] = mask[i] ? x[i] * scale : T(0);
}

}  // namespace hfc::cpu_backend
