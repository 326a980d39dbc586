#pragma once
// 2-D convolution on the GPU; the cpu backend's contract (backend/cpu/conv2d.hpp).
//
// The GEMM path works on a chunk of samples at once in channel-major layout: im2col writes
// col[g][r][j] with r = (ci, ky, kx) < patch and j = (sample, oy, ox) over the whole chunk, so that
// each group's product is one large GEMM (PyTorch's fallback without cuDNN runs one GEMM per
// sample; one sample's channel-major output or output gradient is its NCHW one, so a chunk of one
// skips the scatter, without a bias, and the gather):
//   forward   Y[g]  = W[g] col[g]            (og x chunk*P), then scattered to NCHW (+ bias)
//   weight    dW[g] += dY[g] col[g]^T         dY gathered from NCHW into the same layout; k split
//                                             in segments when dW is small (weight_grad_segments)
//   input     dcol[g] = W[g]^T dY[g],         then col2im into dx
// col2im gathers (each input element sums its kernel taps in a fixed order), so results do not
// depend on scheduling. Float GEMMs use TF32 when Context::allow_tf32_convolution is set.
//
// Convolutions with one or two channel pairs per group (depthwise ones, MobileNetV2's; the HFC
// module's 7x7 from one or two maps to one) have direct kernels: as GEMMs they would be products of
// one or two rows each, around a column buffer kh * kw times the size of the input. Plain 1x1
// convolutions (stride 1, no padding, one group) run forward and input gradient as one
// strided-batched GEMM on the tensors as they lie, and the weight gradient too where a sample's
// [o x c] product is no larger than its planes (pointwise_weight_grad_per_sample).
#include <algorithm>
#include <cstdint>
#include <string>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/cuda/fast_divide.cuh"

namespace hfc::cuda_backend {

namespace detail {

// The output row o that tap k of input row i belongs to (i = o * stride - pad + k * dilation),
// or -1 when there is none.
HFC_HOST_DEVICE inline std::int64_t tap_output(std::int64_t i, std::int64_t k, const FastDivider& stride,
                                               std::int64_t pad, std::int64_t dilation, std::int64_t out) {
  const std::int64_t t = i + pad - k * dilation;
  if (t < 0) return -1;
  const std::int64_t o = stride.div(t);
  return o * stride.divisor() == t && o < out ? o : -1;
}

// The divisions the index arithmetic of a convolution needs, made once per call.
struct ConvDividers {
  FastDivider stride_h, stride_w;  // col2im's tap test
  Index3 output;                   // (sample or plane, oy, ox) of an output index
  Index3 input;                    // (sample-channel, iy, ix) of an input index
  FastDivider channels;            // the channel of a sample-channel index
  FastDivider out_channels;        // the output channel of a sample-output-channel index
  FastDivider c_per_group;         // a channel's group and its index in it
  FastDivider o_per_group;         // an output channel's group
  Index3 tap;                      // (ci, ky, kx) of an im2col row
  explicit ConvDividers(const Conv2dDims& d)
      : stride_h(d.g.stride_h),
        stride_w(d.g.stride_w),
        output(d.oh, d.ow),
        input(d.h, d.w),
        channels(d.c),
        out_channels(d.o),
        c_per_group(d.c_per_group()),
        o_per_group(d.o_per_group()),
        tap(d.kh, d.kw) {}
};

// col[g][r][j] for samples n0 .. n0 + count, r = (ci, ky, kx), j = (sample, oy, ox).
template <class T>
struct Im2col {
  const T* x;
  Conv2dDims d;
  ConvDividers div;
  Index3 col_index;  // (g, r, j) of a col index
  std::int64_t n0;
  T* col;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t g, r, j, s, oy, ox, ci, ky, kx;
    col_index.split(idx, g, r, j);
    div.output.split(j, s, oy, ox);
    div.tap.split(r, ci, ky, kx);
    const std::int64_t iy = oy * d.g.stride_h - d.g.pad_h + ky * d.g.dilation_h;
    const std::int64_t ix = ox * d.g.stride_w - d.g.pad_w + kx * d.g.dilation_w;
    const std::int64_t c = g * div.c_per_group.divisor() + ci;
    col[idx] = (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) ? x[(((n0 + s) * d.c + c) * d.h + iy) * d.w + ix] : T(0);
  }
};

// dx of samples n0 .. n0 + count from dcol: each input element gathers its taps.
template <class T>
struct Col2im {
  const T* dcol;
  Conv2dDims d;
  ConvDividers div;
  std::int64_t n0, cols;  // cols = count * oh * ow
  bool accumulate;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t sc, iy, ix;
    div.input.split(idx, sc, iy, ix);
    const std::int64_t s = div.channels.div(sc), c = sc - s * d.c;
    const std::int64_t g = div.c_per_group.div(c), ci = c - g * div.c_per_group.divisor();
    const std::int64_t patch = d.patch(), plane = d.oh * d.ow;
    T sum = 0;
    for (std::int64_t ky = 0; ky < d.kh; ++ky) {
      const std::int64_t oy = tap_output(iy, ky, div.stride_h, d.g.pad_h, d.g.dilation_h, d.oh);
      if (oy < 0) continue;
      for (std::int64_t kx = 0; kx < d.kw; ++kx) {
        const std::int64_t ox = tap_output(ix, kx, div.stride_w, d.g.pad_w, d.g.dilation_w, d.ow);
        if (ox < 0) continue;
        const std::int64_t r = (ci * d.kh + ky) * d.kw + kx;
        sum += dcol[(g * patch + r) * cols + s * plane + oy * d.ow + ox];
      }
    }
    T& out = dx[n0 * d.c * d.h * d.w + idx];
    out = accumulate ? out + sum : sum;
  }
};

// ycm[o][s * P + p] -> y[n0 + s][o][p] (+ bias[o]).
template <class T>
struct ScatterOutput {
  const T *ycm, *bias;
  Index3 sop;  // (s, o, p) of an output index of the chunk
  std::int64_t n0, o_count, plane, cols;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t s, o, p;
    sop.split(idx, s, o, p);
    y[n0 * o_count * plane + idx] = ycm[o * cols + s * plane + p] + (bias ? bias[o] : T(0));
  }
};
// dy[n0 + s][o][p] -> dycm[o][s * P + p].
template <class T>
struct GatherOutputGrad {
  const T* dy;
  Index3 sop;
  std::int64_t n0, o_count, plane, cols;
  T* dycm;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    std::int64_t s, o, p;
    sop.split(idx, s, o, p);
    dycm[o * cols + s * plane + p] = dy[n0 * o_count * plane + idx];
  }
};

// Direct convolution, for few channels per group (direct_convolution below): one index per output
// element, each summing its group's input channels and taps. DepthwiseK = 3 fixes a depthwise 3x3
// convolution (groups = c = o: MobileNetV2's), whose loops the compiler then unrolls; 0 takes any
// convolution the direct path takes.
template <class T, int DepthwiseK = 0>
struct DirectForward {
  const T *x, *w, *bias;
  Conv2dDims d;
  ConvDividers div;
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    const std::int64_t kh = DepthwiseK ? DepthwiseK : d.kh, kw = DepthwiseK ? DepthwiseK : d.kw;
    std::int64_t no, oy, ox;
    div.output.split(idx, no, oy, ox);
    const std::int64_t n = div.out_channels.div(no), o = no - n * d.o;
    const std::int64_t cpg = DepthwiseK ? 1 : div.c_per_group.divisor();
    const std::int64_t c0 = DepthwiseK ? o : div.o_per_group.div(o) * cpg;
    T sum = bias ? bias[o] : T(0);
    for (std::int64_t ci = 0; ci < cpg; ++ci) {
      const T* xp = x + (n * d.c + c0 + ci) * d.h * d.w;
      const T* wp = w + (o * cpg + ci) * kh * kw;
      for (std::int64_t ky = 0; ky < kh; ++ky) {
        const std::int64_t iy = oy * d.g.stride_h - d.g.pad_h + ky * d.g.dilation_h;
        if (iy < 0 || iy >= d.h) continue;
        for (std::int64_t kx = 0; kx < kw; ++kx) {
          const std::int64_t ix = ox * d.g.stride_w - d.g.pad_w + kx * d.g.dilation_w;
          if (ix >= 0 && ix < d.w) sum += xp[iy * d.w + ix] * wp[ky * kw + kx];
        }
      }
    }
    y[idx] = sum;
  }
};
// One index per input element, gathering its group's output channels and taps in a fixed order.
template <class T, int DepthwiseK = 0>
struct DirectInputGrad {
  const T *dy, *w;
  Conv2dDims d;
  ConvDividers div;
  bool accumulate;
  T* dx;
  HFC_HOST_DEVICE void operator()(std::int64_t idx) const {
    const std::int64_t kh = DepthwiseK ? DepthwiseK : d.kh, kw = DepthwiseK ? DepthwiseK : d.kw;
    std::int64_t nc, iy, ix;
    div.input.split(idx, nc, iy, ix);
    const std::int64_t n = div.channels.div(nc), c = nc - n * d.c;
    const std::int64_t cpg = DepthwiseK ? 1 : div.c_per_group.divisor();
    const std::int64_t opg = DepthwiseK ? 1 : div.o_per_group.divisor();
    const std::int64_t g = DepthwiseK ? c : div.c_per_group.div(c), ci = c - g * cpg, plane = d.oh * d.ow;
    T sum = 0;
    for (std::int64_t o = g * opg; o < (g + 1) * opg; ++o) {
      const T* dyp = dy + (n * d.o + o) * plane;
      const T* wp = w + (o * cpg + ci) * kh * kw;
      for (std::int64_t ky = 0; ky < kh; ++ky) {
        const std::int64_t oy = tap_output(iy, ky, div.stride_h, d.g.pad_h, d.g.dilation_h, d.oh);
        if (oy < 0) continue;
        for (std::int64_t kx = 0; kx < kw; ++kx) {
          const std::int64_t ox = tap_output(ix, kx, div.stride_w, d.g.pad_w, d.g.dilation_w, d.ow);
          if (ox >= 0) sum += dyp[oy * d.ow + ox] * wp[ky * kw + kx];
        }
      }
    }
    dx[idx] = accumulate ? dx[idx] + sum : sum;
  }
};
// The weight gradient with each weight as a "channel" of channel_sums<1>: weight v = (o, ci, ky, kx)
// sums dy[b][o][p] x[b][c][tap of p] over (b, p). Each sum reads one output and one input plane per
// sample (from L2 when the planes are small, as the HFC module's are).
template <class T>
struct DirectWeightTerm {
  const T *dy, *x;
  Conv2dDims d;
  ConvDividers div;  // div.tap splits v into (o * cpg + ci, ky, kx)
  HFC_HOST_DEVICE DoubleSums<1> operator()(std::int64_t b, std::int64_t v, std::int64_t p) const {
    std::int64_t oc, ky, kx, plane_index, oy, ox;
    div.tap.split(v, oc, ky, kx);
    div.output.split(p, plane_index, oy, ox);  // plane_index is 0: p < oh * ow
    const std::int64_t cpg = div.c_per_group.divisor(), o = div.c_per_group.div(oc), ci = oc - o * cpg;
    const std::int64_t c = div.o_per_group.div(o) * cpg + ci;
    const std::int64_t iy = oy * d.g.stride_h - d.g.pad_h + ky * d.g.dilation_h;
    const std::int64_t ix = ox * d.g.stride_w - d.g.pad_w + kx * d.g.dilation_w;
    if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) return {{0.0}};
    return {{double(dy[(b * d.o + o) * d.oh * d.ow + p]) * double(x[((b * d.c + c) * d.h + iy) * d.w + ix])}};
  }
};
// Depthwise 3x3 (MobileNetV2's, many channels): the nine tap products of output p of (b, c) in one
// pass, channel_sums<9> over (N, C, oh * ow), so dy is read once rather than once per tap.
template <class T>
struct DepthwiseWeightTerms {
  const T *dy, *x;
  Conv2dDims d;
  ConvDividers div;
  HFC_HOST_DEVICE DoubleSums<9> operator()(std::int64_t b, std::int64_t c, std::int64_t p) const {
    std::int64_t plane_index, oy, ox;
    div.output.split(p, plane_index, oy, ox);  // plane_index is 0: p < oh * ow
    const double g = dy[(b * d.c + c) * d.oh * d.ow + p];
    const T* xp = x + (b * d.c + c) * d.h * d.w;
    DoubleSums<9> t{};
    for (int ky = 0; ky < 3; ++ky) {
      const std::int64_t iy = oy * d.g.stride_h - d.g.pad_h + ky * d.g.dilation_h;
      for (int kx = 0; kx < 3; ++kx) {
        const std::int64_t ix = ox * d.g.stride_w - d.g.pad_w + kx * d.g.dilation_w;
        t.v[ky * 3 + kx] = (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) ? g * double(xp[iy * d.w + ix]) : 0.0;
      }
    }
    return t;
  }
};
template <class T>
struct AddDepthwiseWeightGrad {
  ChannelSumsView<9> sums;
  T* dw;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { dw[i] += T(sums.total(i / 9, int(i % 9))); }
};

template <class T>
struct OutputGradTerm {
  const T* dy;
  std::int64_t o, plane;
  HFC_HOST_DEVICE DoubleSums<1> operator()(std::int64_t b, std::int64_t ch, std::int64_t p) const {
    return {{double(dy[(b * o + ch) * plane + p])}};
  }
};

// A 1x1 convolution with stride 1, no padding and one group: each sample's output is one GEMM with
// the input as it lies, [o x c] [c x P], so forward and input gradient need no im2col.
inline bool is_plain_pointwise(const Conv2dDims& d) { return d.is_pointwise() && d.g.groups == 1; }

// The weight gradient of a plain pointwise convolution, sum_n dY[n] X[n]^T, as one batched GEMM of
// each sample's [o x c] product and one pass summing them in sample order, on dy and x as they lie:
// where a sample's product is no larger than its input and output planes (MobileNetV2's at 14x14 and
// larger), less than gathering dy and copying x into channel-major columns for one GEMM, which
// writes both planes and reads them once more.
inline bool pointwise_weight_grad_per_sample(const Conv2dDims& d) {
  return is_plain_pointwise(d) && d.o * d.c <= (d.o + d.c) * d.oh * d.ow;
}
// dw[i] += the sum of n products of `size` elements, in their order.
template <class T>
struct AddProducts {
  const T* products;  // n x size
  std::int64_t n, size;
  T* dw;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    double sum = 0;
    for (std::int64_t s = 0; s < n; ++s) sum += double(products[s * size + i]);
    dw[i] += T(sum);
  }
};

// Segments of the k axis (chunk * P columns) for the GEMM path's weight gradient. Its output,
// og x patch, is a few 128 x 128 tiles where k is largest (the stem at 224 px: 64 x 49 outputs,
// k = 401,408; layer1: 64 x 576, k = 100,352), and a GEMM spreads its work over output tiles: split
// or not inside cuBLAS, most of the GPU's SMs could sit idle. Each segment's product is one GEMM of
// a strided batch, about two per SM (132 on an H100/H200), of at least 2048 columns each.
inline std::int64_t weight_grad_segments(std::int64_t og, std::int64_t patch, std::int64_t k) {
  constexpr std::int64_t kTile = 128, kWantedGemms = 264, kMinColumns = 2048;
  const std::int64_t tiles = ((og + kTile - 1) / kTile) * ((patch + kTile - 1) / kTile);
  return std::clamp<std::int64_t>(kWantedGemms / tiles, 1, std::max<std::int64_t>(k / kMinColumns, 1));
}

template <class T>
struct AddChannelBias {
  const T* bias;
  Index3 nop;  // (n, o, p)
  T* y;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { y[i] += bias[nop.middle(i)]; }
};

inline bool is_depthwise_3x3(const Conv2dDims& d) {
  return d.g.groups == d.c && d.o == d.c && d.kh == 3 && d.kw == 3;
}
// At most two (input, output) channel pairs per group: the direct kernels (the file's header says why).
inline bool direct_convolution(const Conv2dDims& d) {
  return d.c_per_group() * d.o_per_group() <= 2 && !is_plain_pointwise(d);
}

// Samples per GEMM chunk: as many as keep the im2col columns, and the channel-major output (or
// output gradient) beside them, each within Context::conv_workspace_bytes, at least one. Never more
// than 2^31 - 1 elements, which the kernels index: only a single sample's columns can reach that,
// and the callers check.
template <class T>
std::int64_t conv_chunk(const Conv2dDims& d) {
  constexpr std::size_t kIndexLimit = (std::size_t(1) << 31) - 1;
  const auto workspace =
      static_cast<std::int64_t>(std::min(Context::get().conv_workspace_bytes / sizeof(T), kIndexLimit));
  const std::int64_t per_sample = std::max(d.g.groups * d.patch(), d.o) * d.oh * d.ow;
  return std::clamp<std::int64_t>(workspace / std::max<std::int64_t>(per_sample, 1), 1, std::max<std::int64_t>(d.n, 1));
}

// The kernels index the input, the output and (GEMM path) a chunk's im2col columns below 2^31,
// where their fast divisions are exact: checked before anything is written.
template <class T>
void check_index_range(const Conv2dDims& d, const std::string& what) {
  FastDivider::check_range(std::max(d.n * d.c * d.h * d.w, d.n * d.o * d.oh * d.ow), what.c_str());
  if (!direct_convolution(d))
    FastDivider::check_range(d.g.groups * d.patch() * conv_chunk<T>(d) * d.oh * d.ow,
                             (what + " (im2col of one sample)").c_str());
}

// dw (og x patch) += a (og x k) b^T (b: patch x k), both with rows k apart, as weight_grad_segments
// says: the segments' products in a strided batch (a last, shorter one apart), then their sum.
template <class Exec, class T>
void add_weight_gradient(const T* a, const T* b, std::int64_t og, std::int64_t patch, std::int64_t k, T* dw,
                         bool tf32) {
  const std::int64_t segments = weight_grad_segments(og, patch, k), size = og * patch;
  if (segments == 1) return Exec::gemm(Trans::no, Trans::yes, og, patch, k, T(1), a, k, b, k, T(1), dw, patch, tf32);
  const std::int64_t length = (k + segments - 1) / segments, whole = k / length, rest = k - whole * length;
  typename Exec::template Buffer<T> products((whole + (rest > 0)) * size);
  Exec::gemm_batched(Trans::no, Trans::yes, og, patch, length, T(1), a, k, length, b, k, length, T(0), products.get(),
                     patch, size, whole, tf32);
  if (rest > 0)
    Exec::gemm(Trans::no, Trans::yes, og, patch, rest, T(1), a + whole * length, k, b + whole * length, k, T(0),
               products.get() + whole * size, patch, tf32);
  Exec::for_each(size, AddProducts<T>{products.get(), whole + (rest > 0), size, dw});
}

}  // namespace detail

// y = conv(x, w) + bias; bias may be null.
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void conv2d_forward_kernel(B, const T* x, const T* w, const T* bias, const Conv2dDims& d, T* y) {
  using Exec = executor_t<B>;
  detail::check_index_range<T>(d, "conv2d");
  const detail::ConvDividers div(d);
  if (detail::direct_convolution(d)) {
    const std::int64_t outputs = d.n * d.o * d.oh * d.ow;
    if (detail::is_depthwise_3x3(d)) Exec::for_each(outputs, detail::DirectForward<T, 3>{x, w, bias, d, div, y});
    else Exec::for_each(outputs, detail::DirectForward<T>{x, w, bias, d, div, y});
    return;
  }
  const std::int64_t plane = d.oh * d.ow, patch = d.patch(), og = d.o_per_group(), chunk = detail::conv_chunk<T>(d);
  const bool tf32 = Context::get().allow_tf32_convolution;
  if (detail::is_plain_pointwise(d)) {  // y[n] = W x[n], one batched GEMM
    Exec::gemm_batched(Trans::no, Trans::no, d.o, plane, d.c, T(1), w, d.c, 0, x, plane, d.c * plane, T(0), y, plane,
                       d.o * plane, d.n, tf32);
    if (bias) Exec::for_each(d.n * d.o * plane, detail::AddChannelBias<T>{bias, Index3(d.o, plane), y});
    return;
  }
  const auto in_place = [&](std::int64_t count) { return count == 1 && !bias; };
  typename Exec::template Buffer<T> col(d.g.groups * patch * chunk * plane),
      ycm(in_place(chunk) ? 0 : d.o * chunk * plane);
  for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
    const int count = static_cast<int>(std::min(chunk, d.n - n0));
    const std::int64_t cols = count * plane;
    T* out = in_place(count) ? y + n0 * d.o * plane : ycm.get();
    Exec::for_each(d.g.groups * patch * cols, detail::Im2col<T>{x, d, div, Index3(patch, cols), n0, col.get()});
    for (std::int64_t g = 0; g < d.g.groups; ++g)
      Exec::gemm(Trans::no, Trans::no, og, cols, patch, T(1), w + g * og * patch, patch, col.get() + g * patch * cols,
                 cols, T(0), out + g * og * cols, cols, tf32);
    if (!in_place(count))
      Exec::for_each(d.o * cols,
                     detail::ScatterOutput<T>{ycm.get(), bias, Index3(d.o, plane), n0, d.o, plane, cols, y});
  }
}

// dx (may be null) is overwritten, or added to when accumulate_dx; dw and db (either may be null)
// are added to.
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void conv2d_backward_kernel(B, const T* dy, const T* x, const T* w, const Conv2dDims& d, T* dx, bool accumulate_dx,
                            T* dw, T* db) {
  using Exec = executor_t<B>;
  detail::check_index_range<T>(d, "conv2d_backward");
  const detail::ConvDividers div(d);
  const std::int64_t plane = d.oh * d.ow;
  if (db) add_channel_sums<Exec>(detail::OutputGradTerm<T>{dy, d.o, plane}, d.n, d.o, plane, db);
  if (detail::direct_convolution(d)) {
    const std::int64_t inputs = d.n * d.c * d.h * d.w;
    const bool depthwise_3x3 = detail::is_depthwise_3x3(d);
    if (dx && depthwise_3x3)
      Exec::for_each(inputs, detail::DirectInputGrad<T, 3>{dy, w, d, div, accumulate_dx, dx});
    else if (dx) Exec::for_each(inputs, detail::DirectInputGrad<T>{dy, w, d, div, accumulate_dx, dx});
    if (dw && depthwise_3x3) {
      const auto sums = Exec::template channel_sums<9>(detail::DepthwiseWeightTerms<T>{dy, x, d, div}, d.n, d.c, plane);
      Exec::for_each(d.c * 9, detail::AddDepthwiseWeightGrad<T>{sums.view(), dw});
    } else if (dw) {
      add_channel_sums<Exec>(detail::DirectWeightTerm<T>{dy, x, d, div}, d.n, d.o * d.patch(), plane, dw);
    }
    return;
  }
  const bool tf32 = Context::get().allow_tf32_convolution;
  if (detail::is_plain_pointwise(d) && dx) {  // dx[n] = W^T dy[n], one batched GEMM
    Exec::gemm_batched(Trans::yes, Trans::no, d.c, plane, d.o, T(1), w, d.c, 0, dy, plane, d.o * plane,
                       accumulate_dx ? T(1) : T(0), dx, plane, d.c * plane, d.n, tf32);
    dx = nullptr;
  }
  if (dw && detail::pointwise_weight_grad_per_sample(d)) {  // products[n] = dy[n] x[n]^T, then their sum
    typename Exec::template Buffer<T> products(d.n * d.o * d.c);
    Exec::gemm_batched(Trans::no, Trans::yes, d.o, d.c, plane, T(1), dy, plane, d.o * plane, x, plane, d.c * plane,
                       T(0), products.get(), d.c, d.o * d.c, d.n, tf32);
    Exec::for_each(d.o * d.c, detail::AddProducts<T>{products.get(), d.n, d.o * d.c, dw});
    dw = nullptr;
  }
  if (!dx && !dw) return;
  const std::int64_t patch = d.patch(), og = d.o_per_group(), chunk = detail::conv_chunk<T>(d);
  typename Exec::template Buffer<T> col(d.g.groups * patch * chunk * plane), dycm(chunk == 1 ? 0 : d.o * chunk * plane);
  for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
    const int count = static_cast<int>(std::min(chunk, d.n - n0));
    const std::int64_t cols = count * plane;
    const T* dyc = count == 1 ? dy + n0 * d.o * plane : dycm.get();
    if (count > 1)
      Exec::for_each(d.o * cols, detail::GatherOutputGrad<T>{dy, Index3(d.o, plane), n0, d.o, plane, cols, dycm.get()});
    if (dw) {
      Exec::for_each(d.g.groups * patch * cols, detail::Im2col<T>{x, d, div, Index3(patch, cols), n0, col.get()});
      for (std::int64_t g = 0; g < d.g.groups; ++g)
        detail::add_weight_gradient<Exec>(dyc + g * og * cols, col.get() + g * patch * cols, og, patch, cols,
                                          dw + g * og * patch, tf32);
    }
    if (dx) {
      for (std::int64_t g = 0; g < d.g.groups; ++g)  // col is free again: the GEMMs above ran first
        Exec::gemm(Trans::yes, Trans::no, patch, cols, og, T(1), w + g * og * patch, patch,
                   dyc + g * og * cols, cols, T(0), col.get() + g * patch * cols, cols, tf32);
      Exec::for_each(count * d.c * d.h * d.w, detail::Col2im<T>{col.get(), d, div, n0, cols, accumulate_dx, dx});
    }
  }
}

}  // namespace hfc::cuda_backend
