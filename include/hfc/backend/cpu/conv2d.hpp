#pragma once
// 2-D convolution on the cpu, NCHW, OpenMP over the batch. Two paths:
//  - GEMM: im2col + GEMM per group, where each group has several output channels to reuse the
//    column matrix; one sample per GEMM, or several side by side for maps under 256 outputs
//    (samples_per_gemm). A pointwise convolution (1x1, stride 1, no padding) of one sample skips
//    im2col: the input is its own column matrix.
//  - direct: shifted multiply-adds, for groups with at most two output channels (depthwise
//    convolutions, and the C->1 and k->1 convolutions of the attention modules), where a GEMM has
//    nothing to reuse and im2col would only multiply the memory traffic. On zero-padded planes
//    (PaddedPlane), a kernel row's taps at a time: at stride 1 a sweep over the whole plane,
//    at other strides one per output row.
// 3x3 stride-1 convolutions on maps of 49 outputs or more take Winograd instead of the GEMM path,
// forward and both gradients (winograd.hpp); depthwise convolutions with at most 64 outputs a
// plane take a channels-last path instead of the direct one (depthwise.hpp).
// Scratch buffers are per-thread and persist across calls.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <omp.h>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cpu/depthwise.hpp"
#include "hfc/backend/cpu/elementwise.hpp"
#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/cpu/winograd.hpp"

namespace hfc::cpu_backend {

namespace detail {

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) {  // b > 0
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// The output columns [lo, hi) whose kernel tap in column j reads inside the image, at input
// column ox * stride_w + x0.
struct TapColumns {
  std::int64_t x0, lo, hi;
};
inline TapColumns tap_columns(const Conv2dDims& d, std::int64_t j) {
  const std::int64_t x0 = j * d.g.dilation_w - d.g.pad_w;
  const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(-x0, d.g.stride_w), 0, d.ow);
  const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(d.w - x0, d.g.stride_w), lo, d.ow);
  return {x0, lo, hi};
}
inline std::int64_t tap_input_row(const Conv2dDims& d, std::int64_t oy, std::int64_t i) {
  return oy * d.g.stride_h - d.g.pad_h + i * d.g.dilation_h;
}

// Calls f(oy, y, lo, hi, x0) for every output row oy whose kernel tap (i, j) reads input row y;
// output columns [lo, hi) read input columns ox * stride_w + x0, all inside the image.
template <class F>
void for_each_tap_row(const Conv2dDims& d, std::int64_t i, std::int64_t j, F&& f) {
  const auto [x0, lo, hi] = tap_columns(d, j);
  for (std::int64_t oy = 0; oy < d.oh; ++oy) {
    const std::int64_t y = tap_input_row(d, oy, i);
    if (y >= 0 && y < d.h) f(oy, y, lo, hi, x0);
  }
}

inline bool use_direct(const Conv2dDims& d) { return d.o_per_group() <= 2; }

// The patch() x (oh*ow) column matrix of one group of one sample, rows `ld` apart (ld > oh*ow
// when several samples share one matrix side by side).
template <class T>
void im2col(const T* x, const Conv2dDims& d, T* col, std::int64_t ld) {
  const std::int64_t sw = d.g.stride_w;
  for (std::int64_t c = 0; c < d.c_per_group(); ++c)
    for (std::int64_t i = 0; i < d.kh; ++i)
      for (std::int64_t j = 0; j < d.kw; ++j) {
        T* row = col + ((c * d.kh + i) * d.kw + j) * ld;
        const T* channel = x + c * d.h * d.w;
        const auto [x0, lo, hi] = tap_columns(d, j);
        for (std::int64_t oy = 0; oy < d.oh; ++oy) {  // every entry written once: padding as zeros
          T* out = row + oy * d.ow;
          const std::int64_t y = tap_input_row(d, oy, i);
          if (y < 0 || y >= d.h) {
            std::fill_n(out, d.ow, T(0));
            continue;
          }
          const T* in = channel + y * d.w + x0;
          std::fill_n(out, lo, T(0));
          if (sw == 1) std::copy(in + lo, in + hi, out + lo);
          else
            for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] = in[ox * sw];
          std::fill_n(out + hi, d.ow - hi, T(0));
        }
      }
}

// Adds the column matrix (rows `ld` apart) back onto the input-shaped gradient: im2col's adjoint.
template <class T>
void col2im_add(const T* col, const Conv2dDims& d, T* dx, std::int64_t ld) {
  const std::int64_t sw = d.g.stride_w;
  for (std::int64_t c = 0; c < d.c_per_group(); ++c)
    for (std::int64_t i = 0; i < d.kh; ++i)
      for (std::int64_t j = 0; j < d.kw; ++j) {
        const T* row = col + ((c * d.kh + i) * d.kw + j) * ld;
        T* channel = dx + c * d.h * d.w;
        for_each_tap_row(d, i, j, [&](std::int64_t oy, std::int64_t y, std::int64_t lo, std::int64_t hi, std::int64_t x0) {
          T* out = channel + y * d.w + x0;
          const T* in = row + oy * d.ow;
          for (std::int64_t ox = lo; ox < hi; ++ox) out[ox * sw] += in[ox];
        });
      }
}

// The column matrix of group g for samples [n0, n0 + count), side by side with rows L = count * oh * ow
// apart, in `col`; or, for one pointwise sample (col null), the input itself.
template <class T>
const T* chunk_columns(const T* x, std::int64_t n0, std::int64_t count, std::int64_t g, const Conv2dDims& d, T* col) {
  auto input = [&](std::int64_t i) { return x + ((n0 + i) * d.c + g * d.c_per_group()) * d.h * d.w; };
  if (!col) return input(0);
  const std::int64_t plane = d.oh * d.ow;
  for (std::int64_t i = 0; i < count; ++i) im2col(input(i), d, col + i * plane, count * plane);
  return col;
}

// GEMM path for samples [n0, n0 + count): y = W col(x) per group, the samples' column matrices
// side by side (L = count * oh * ow columns). A single pointwise sample skips im2col.
template <class T>
void gemm_forward_chunk(const T* x, std::int64_t n0, std::int64_t count, const T* w, const Conv2dDims& d, T* y) {
  struct Columns;
  struct Output;
  const std::int64_t plane = d.oh * d.ow, K = d.patch(), og = d.o_per_group(), L = count * plane;
  const bool direct_input = count == 1 && d.is_pointwise();
  T* col = direct_input ? nullptr : scratch<T, Columns>(static_cast<std::size_t>(K * L));
  T* out = count == 1 ? nullptr : scratch<T, Output>(static_cast<std::size_t>(og * L));
  for (std::int64_t g = 0; g < d.g.groups; ++g) {
    auto output = [&](std::int64_t i) { return y + ((n0 + i) * d.o + g * og) * plane; };
    const T* cols = chunk_columns(x, n0, count, g, d, col);
    gemm(Trans::no, Trans::no, og, L, K, T(1), w + g * og * K, K, cols, L, T(0), out ? out : output(0), L);
    if (out)  // scatter [og, count * plane] back to [count][og][plane]
      for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t o = 0; o < og; ++o) std::copy_n(out + o * L + i * plane, plane, output(i) + o * plane);
  }
}

// GEMM path for samples [n0, n0 + count): dw += dy col^T and dx (+)= col2im(W^T dy), with the
// samples side by side as in gemm_forward_chunk.
template <class T>
void gemm_backward_chunk(const T* dy, const T* x, std::int64_t n0, std::int64_t count, const T* w, const Conv2dDims& d,
                         T* dx, T* dw) {
  struct Columns;
  struct GradOutput;
  const std::int64_t plane = d.oh * d.ow, K = d.patch(), og = d.o_per_group(), L = count * plane;
  const bool direct_input = count == 1 && d.is_pointwise();
  T* col = direct_input ? nullptr : scratch<T, Columns>(static_cast<std::size_t>(K * L));
  T* grad = count == 1 ? nullptr : scratch<T, GradOutput>(static_cast<std::size_t>(og * L));
  for (std::int64_t g = 0; g < d.g.groups; ++g) {
    auto input_grad = [&](std::int64_t i) { return dx + ((n0 + i) * d.c + g * d.c_per_group()) * d.h * d.w; };
    const T* dyg = dy + (n0 * d.o + g * og) * plane;
    if (grad) {  // gather [count][og][plane] into [og, count * plane]
      for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t o = 0; o < og; ++o)
          std::copy_n(dy + ((n0 + i) * d.o + g * og + o) * plane, plane, grad + o * L + i * plane);
      dyg = grad;
    }
    const T* wg = w + g * og * K;
    if (dw) {
      const T* cols = chunk_columns(x, n0, count, g, d, col);
      gemm(Trans::no, Trans::yes, og, K, L, T(1), dyg, L, cols, L, T(1), dw + g * og * K, K);
    }
    if (dx) {
      if (direct_input) {  // one pointwise sample: dx_g += w_g^T dy_g directly
        gemm(Trans::yes, Trans::no, K, plane, og, T(1), wg, K, dyg, plane, T(1), input_grad(0), plane);
      } else {
        gemm(Trans::yes, Trans::no, K, L, og, T(1), wg, K, dyg, L, T(0), col, L);
        for (std::int64_t i = 0; i < count; ++i) col2im_add(col + i * plane, d, input_grad(i), L);
      }
    }
  }
}

// The direct path on padded planes. With the input zero-padded to hp x wp, the output at (oy, ox)
// of tap (i, j) reads padded[(oy * stride_h + i*dil_h) * wp + ox * stride_w + j*dil_w]: no bounds
// to test. At unit stride that is one offset per tap for the whole plane if the output is laid
// out with row stride wp too: each kernel row is then a single sweep over (oh - 1) * wp + ow
// contiguous elements, whatever the map size; the wp - ow columns past each output row are
// computed and dropped (forward) or held at zero (backward). At other strides, a sweep per output row.
struct PaddedPlane {
  std::int64_t hp, wp, length;  // padded extents; elements a kernel row sweeps at unit stride

  explicit PaddedPlane(const Conv2dDims& d)
      : hp(d.h + 2 * d.g.pad_h), wp(d.w + 2 * d.g.pad_w), length((d.oh - 1) * (d.w + 2 * d.g.pad_w) + d.ow) {}
  bool is_identity(const Conv2dDims& d) const { return d.g.pad_h == 0 && d.g.pad_w == 0; }

  // A kernel row's sweeps: one over the whole plane at unit stride, else one per output row. Sweep
  // s of kernel row i reads the padded input from input_at(d, s, i), inputs stride_w apart, and
  // writes sweep_length outputs from output row s (outputs laid out with row stride wp).
  static bool unit_stride(const Conv2dDims& d) { return d.g.stride_h == 1 && d.g.stride_w == 1; }
  std::int64_t sweeps(const Conv2dDims& d) const { return unit_stride(d) ? 1 : d.oh; }
  std::int64_t sweep_length(const Conv2dDims& d) const { return unit_stride(d) ? length : d.ow; }
  std::int64_t input_at(const Conv2dDims& d, std::int64_t s, std::int64_t i) const {
    return (s * d.g.stride_h + i * d.g.dilation_h) * wp;
  }
};

// One kernel row's taps in one pass over the output: out[q] += sum_k w[k] in[q * stride + k * step]
// for q < length, in the order of the taps. Tap by tap, every tap loaded and stored all of out,
// and those stores bounded the direct convolution (about 8 FMAs per cycle on the development
// VMs). Widths 3, 5 and 7 at strides 1 and 2 are unrolled.
template <int K, int Stride, class T>
void add_kernel_row(T* HFC_RESTRICT out, const T* HFC_RESTRICT in, const T* w, std::int64_t step, std::int64_t length) {
  T wk[K];
  for (int k = 0; k < K; ++k) wk[k] = w[k];
#pragma omp simd
  for (std::int64_t q = 0; q < length; ++q) {
    T sum = out[q];
    for (int k = 0; k < K; ++k) sum += wk[k] * in[q * Stride + k * step];
    out[q] = sum;
  }
}
// The weight gradients of one kernel row in one pass over g: dw[k] += sum_q g[q] in[q * stride + k * step].
template <int K, int Stride, class T>
void add_kernel_row_dots(const T* HFC_RESTRICT g, const T* HFC_RESTRICT in, std::int64_t step, std::int64_t length,
                         T* dw) {
  constexpr std::int64_t kBlock = 64 / sizeof(T);  // one vector's worth of partial sums per tap
  T partial[K][kBlock] = {};
  std::int64_t q = 0;
  for (; q + kBlock <= length; q += kBlock)
    for (int k = 0; k < K; ++k)
#pragma omp simd
      for (std::int64_t v = 0; v < kBlock; ++v) partial[k][v] += g[q + v] * in[(q + v) * Stride + k * step];
  for (int k = 0; k < K; ++k) {
    T sum = 0;
    for (std::int64_t v = 0; v < kBlock; ++v) sum += partial[k][v];
    for (std::int64_t r = q; r < length; ++r) sum += g[r] * in[r * Stride + k * step];
    dw[k] += sum;
  }
}

// Calls f.template operator()<K, Stride>() for the unrolled (kw, stride) pairs; false otherwise.
template <class F>
bool with_unrolled_row(std::int64_t kw, std::int64_t stride, F&& f) {
  const auto at_stride = [&]<int K>() {
    if (stride == 1) return f.template operator()<K, 1>(), true;
    if (stride == 2) return f.template operator()<K, 2>(), true;
    return false;
  };
  switch (kw) {
    case 3: return at_stride.template operator()<3>();
    case 5: return at_stride.template operator()<5>();
    case 7: return at_stride.template operator()<7>();
    default: return false;
  }
}

template <class T>
void add_kernel_row(T* HFC_RESTRICT out, const T* HFC_RESTRICT in, const T* w, std::int64_t kw, std::int64_t step,
                    std::int64_t stride, std::int64_t length) {
  if (with_unrolled_row(kw, stride, [&]<int K, int S>() { add_kernel_row<K, S>(out, in, w, step, length); })) return;
  for (std::int64_t k = 0; k < kw; ++k) {  // tap by tap
    const T wv = w[k];
    const T* HFC_RESTRICT tap = in + k * step;
    for (std::int64_t q = 0; q < length; ++q) out[q] += wv * tap[q * stride];
  }
}
template <class T>
void add_kernel_row_dots(const T* HFC_RESTRICT g, const T* HFC_RESTRICT in, std::int64_t kw, std::int64_t step,
                         std::int64_t stride, std::int64_t length, T* dw) {
  if (with_unrolled_row(kw, stride, [&]<int K, int S>() { add_kernel_row_dots<K, S>(g, in, step, length, dw); })) return;
  for (std::int64_t k = 0; k < kw; ++k) {  // tap by tap (a 1x1 kernel: one Eigen dot product)
    if (stride == 1) {
      dw[k] += dot(g, in + k * step, length);
      continue;
    }
    T sum = 0;
    for (std::int64_t q = 0; q < length; ++q) sum += g[q] * in[q * stride + k * step];
    dw[k] += sum;
  }
}

// Copies an h x w plane into the middle of a zeroed hp x wp one.
template <class T>
void pad_plane(const T* src, const Conv2dDims& d, const PaddedPlane& p, T* dst) {
  std::fill_n(dst, p.hp * p.wp, T(0));
  for (std::int64_t y = 0; y < d.h; ++y) std::copy_n(src + y * d.w, d.w, dst + (y + d.g.pad_h) * p.wp + d.g.pad_w);
}

template <class T>
void direct_forward_padded(const T* xn, const T* w, const Conv2dDims& d, T* yn) {
  struct Padded;
  struct Accumulator;
  const PaddedPlane p(d);
  const std::int64_t plane = d.oh * d.ow, cpg = d.c_per_group(), og = d.o_per_group();
  T* padded = p.is_identity(d) ? nullptr : scratch<T, Padded>(static_cast<std::size_t>(p.hp * p.wp));
  T* acc = scratch<T, Accumulator>(static_cast<std::size_t>(og * d.oh * p.wp));  // output rows wp apart
  for (std::int64_t g = 0; g < d.g.groups; ++g) {
    std::fill_n(acc, og * d.oh * p.wp, T(0));
    for (std::int64_t c = 0; c < cpg; ++c) {
      const T* src = xn + (g * cpg + c) * d.h * d.w;
      if (padded) {
        pad_plane(src, d, p, padded);
        src = padded;
      }
      for (std::int64_t o = 0; o < og; ++o)
        for (std::int64_t i = 0; i < d.kh; ++i) {
          const T* w_row = w + (((g * og + o) * cpg + c) * d.kh + i) * d.kw;
          for (std::int64_t s = 0; s < p.sweeps(d); ++s)
            add_kernel_row(acc + (o * d.oh + s) * p.wp, src + p.input_at(d, s, i), w_row, d.kw, d.g.dilation_w,
                           d.g.stride_w, p.sweep_length(d));
        }
    }
    for (std::int64_t o = 0; o < og; ++o)
      for (std::int64_t oy = 0; oy < d.oh; ++oy)
        std::copy_n(acc + (o * d.oh + oy) * p.wp, d.ow, yn + (g * og + o) * plane + oy * d.ow);
  }
}

template <class T>
void direct_backward_padded(const T* dyn, const T* xn, const T* w, const Conv2dDims& d, T* dxn, T* dw) {
  struct Padded;
  struct GradOut;
  struct GradIn;
  struct Reversed;
  const PaddedPlane p(d);
  const std::int64_t plane = d.oh * d.ow, cpg = d.c_per_group(), og = d.o_per_group();
  const bool identity = p.is_identity(d);
  T* padded = identity ? nullptr : scratch<T, Padded>(static_cast<std::size_t>(p.hp * p.wp));
  T* grad_in = identity || !dxn ? nullptr : scratch<T, GradIn>(static_cast<std::size_t>(p.hp * p.wp));
  // The input gradient gathers a kernel row's taps, grad_in[t] += sum_j w_j dy'[t - j * dilation],
  // from dy' = dy laid out on the input's columns: at unit stride each output plane with row
  // stride wp (zero in the columns past ow, so they add nothing; the weight gradient reads it
  // too); at other strides each output row alone, its values stride_w apart. Each has `margin`
  // zeros before and after.
  const bool unit = PaddedPlane::unit_stride(d);
  const std::int64_t margin = (d.kw - 1) * d.g.dilation_w, rows = p.sweeps(d), length = p.sweep_length(d);
  const std::int64_t block = (unit ? d.oh * p.wp : (d.ow - 1) * d.g.stride_w + 1) + 2 * margin;  // dy' of a sweep
  const bool spread_dy = unit || dxn;
  T* grad_out = spread_dy ? scratch<T, GradOut>(static_cast<std::size_t>(og * rows * block)) : nullptr;
  T* reversed = scratch<T, Reversed>(static_cast<std::size_t>(d.kh * d.kw));  // kernel rows, last tap first
  for (std::int64_t g = 0; g < d.g.groups; ++g) {
    const T* dyg = dyn + g * og * plane;
    if (spread_dy) {
      std::fill_n(grad_out, og * rows * block, T(0));
      for (std::int64_t o = 0; o < og; ++o)
        for (std::int64_t oy = 0; oy < d.oh; ++oy) {
          const T* dy_row = dyg + o * plane + oy * d.ow;
          if (unit) {
            std::copy_n(dy_row, d.ow, grad_out + o * block + margin + oy * p.wp);
            continue;
          }
          T* to = grad_out + (o * rows + oy) * block + margin;
          for (std::int64_t ox = 0; ox < d.ow; ++ox) to[ox * d.g.stride_w] = dy_row[ox];
        }
    }
    for (std::int64_t c = 0; c < cpg; ++c) {
      const T* src = xn + (g * cpg + c) * d.h * d.w;
      T* dst = dxn ? dxn + (g * cpg + c) * d.h * d.w : nullptr;
      if (padded) {
        pad_plane(src, d, p, padded);
        src = padded;
      }
      T* gin = !dst ? nullptr : identity ? dst : grad_in;  // null: no input gradient asked for
      if (dst && !identity) std::fill_n(grad_in, p.hp * p.wp, T(0));
      for (std::int64_t o = 0; o < og; ++o) {
        const std::int64_t kernel = ((g * og + o) * cpg + c) * d.kh * d.kw;  // this (o, c)'s weights
        if (gin)
          for (std::int64_t i = 0; i < d.kh; ++i)
            std::reverse_copy(w + kernel + i * d.kw, w + kernel + (i + 1) * d.kw, reversed + i * d.kw);
        for (std::int64_t s = 0; s < rows; ++s) {
          const T* go = unit ? grad_out + o * block + margin : dyg + o * plane + s * d.ow;
          const T* spread_go = spread_dy ? grad_out + (o * rows + s) * block : nullptr;  // dy', from its margin
          for (std::int64_t i = 0; i < d.kh; ++i) {
            const std::int64_t at = p.input_at(d, s, i);
            if (dw) add_kernel_row_dots(go, src + at, d.kw, d.g.dilation_w, d.g.stride_w, length, dw + kernel + i * d.kw);
            if (gin)
              add_kernel_row(gin + at, spread_go, reversed + i * d.kw, d.kw, d.g.dilation_w, 1,
                             (length - 1) * d.g.stride_w + 1 + margin);
          }
        }
      }
      if (dst && !identity)
        for (std::int64_t y = 0; y < d.h; ++y) {
          const T* row = grad_in + (y + d.g.pad_h) * p.wp + d.g.pad_w;
          for (std::int64_t x = 0; x < d.w; ++x) dst[y * d.w + x] += row[x];
        }
    }
  }
}

// yn[o] += bias[o] for one sample's output.
template <class T>
void add_bias(const T* bias, const Conv2dDims& d, T* yn) {
  const std::int64_t plane = d.oh * d.ow;
  for (std::int64_t o = 0; o < d.o; ++o)
    for (std::int64_t p = 0; p < plane; ++p) yn[o * plane + p] += bias[o];
}

}  // namespace detail

// y = conv(x, w) + bias. bias may be null.
template <class T>
void conv2d_forward_kernel(cpu, const T* x, const T* w, const T* bias, const Conv2dDims& d, T* y) {
  const std::int64_t plane = d.oh * d.ow;
  const bool direct = detail::use_direct(d);
  const bool depthwise_small = depthwise::applies(d);
  if (depthwise_small || (!direct && winograd::applies(d))) {
    if (depthwise_small) depthwise::forward(x, w, d, y);
    else winograd::forward(x, w, d, y);
    if (bias)
#pragma omp parallel for schedule(static)
      for (std::int64_t n = 0; n < d.n; ++n) detail::add_bias(bias, d, y + n * d.o * plane);
    return;
  }
  const std::int64_t chunk = direct ? 1 : samples_per_gemm(d.oh * d.ow, d.n, omp_get_max_threads());
#pragma omp parallel for schedule(static)
  for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
    const std::int64_t count = std::min(chunk, d.n - n0);
    if (!direct) detail::gemm_forward_chunk(x, n0, count, w, d, y);
    else detail::direct_forward_padded(x + n0 * d.c * d.h * d.w, w, d, y + n0 * d.o * plane);
    if (bias)
      for (std::int64_t n = n0; n < n0 + count; ++n) detail::add_bias(bias, d, y + n * d.o * plane);
  }
}

// Gradients of a convolution. dx (may be null) is overwritten, or added to when accumulate_dx;
// dw and db (either may be null) are always added to, as parameter gradients are.
template <class T>
void conv2d_backward_kernel(cpu, const T* dy, const T* x, const T* w, const Conv2dDims& d, T* dx,
                            bool accumulate_dx, T* dw, T* db) {
  if (depthwise::applies(d)) return depthwise::backward(dy, x, w, d, dx, accumulate_dx, dw, db);
  const std::int64_t plane = d.oh * d.ow, wsize = d.o * d.patch();
  const bool direct = detail::use_direct(d);
  const std::int64_t chunk = direct ? 1 : samples_per_gemm(d.oh * d.ow, d.n, omp_get_max_threads());
  // The gradient to the input of a Winograd-eligible convolution is itself one (below), and the
  // weight gradient has its own Winograd form.
  const bool wino = !direct && winograd::applies(d);
  const bool wino_dx = dx && wino && winograd::applies_to_input_gradient(d);
  T* const gemm_dx = wino_dx ? nullptr : dx;
  T* const gemm_dw = wino ? nullptr : dw;
  if (gemm_dx && !accumulate_dx) std::fill_n(dx, d.n * d.c * d.h * d.w, T(0));
  // Each thread sums its samples' weight and bias gradients privately; the partial sums are then
  // added in thread order, so the result does not depend on scheduling.
  std::vector<T*> dw_partial(static_cast<std::size_t>(omp_get_max_threads()), nullptr);
  std::vector<std::vector<T>> db_partial(dw_partial.size());
#pragma omp parallel
  {
    struct WeightGrad;
    const auto tid = static_cast<std::size_t>(omp_get_thread_num());
    const auto threads = static_cast<std::size_t>(omp_get_num_threads());
    T* dw_local = gemm_dw ? scratch<T, WeightGrad>(static_cast<std::size_t>(wsize)) : nullptr;
    if (dw_local) std::fill_n(dw_local, wsize, T(0));
    dw_partial[tid] = dw_local;
    std::vector<T>& db_local = db_partial[tid];
    db_local.assign(db ? static_cast<std::size_t>(d.o) : 0, T(0));
#pragma omp for schedule(static)
    for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
      const std::int64_t count = std::min(chunk, d.n - n0);
      if (!direct) {
        if (gemm_dx || dw_local) detail::gemm_backward_chunk(dy, x, n0, count, w, d, gemm_dx, dw_local);
      } else {
        const T* dyn = dy + n0 * d.o * plane;
        const T* xn = x + n0 * d.c * d.h * d.w;
        T* dxn = dx ? dx + n0 * d.c * d.h * d.w : nullptr;
        detail::direct_backward_padded(dyn, xn, w, d, dxn, dw_local);
      }
      if (db)
        for (std::int64_t n = n0; n < n0 + count; ++n)
          for (std::int64_t o = 0; o < d.o; ++o) db_local[static_cast<std::size_t>(o)] += sum(dy + (n * d.o + o) * plane, plane);
    }  // implicit barrier: every partial sum is complete
    if (dw_local) {
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < wsize; ++i)
        for (std::size_t t = 0; t < threads; ++t) dw[i] += dw_partial[t][i];
    }
#pragma omp single
    if (db)
      for (std::size_t t = 0; t < threads; ++t)
        for (std::int64_t i = 0; i < d.o; ++i) db[i] += db_partial[t][static_cast<std::size_t>(i)];
  }
  if (wino && dw) winograd::weight_gradient(dy, x, d, dw);
  if (wino_dx) winograd::input_gradient(dy, w, d, accumulate_dx, dx);
}

}  // namespace hfc::cpu_backend
