#pragma once
// Winograd convolution F(m x m, 3 x 3) for 3x3, stride-1, undilated, ungrouped convolutions (Lavin
// & Gray 2016): each m x m output tile is A^T [sum_c (G g G^T) . (B^T d B)] A over an
// (m+2) x (m+2) input tile d, so the multiply-adds become (m+2)^2 GEMMs [O x C] x [C x tiles].
// F(4x4, 3x3) does 2.25 multiplies per output where im2col does 9 (F(2x2, 3x3): 4), and its
// transformed input is 2.25x the input where im2col's column matrix is 9x. ResNet18's 3x3
// convolutions are most of its training step. The backward pass to the input is the same
// convolution of dy with the flipped, transposed kernel; the weight gradient is the transposed
// algorithm F(3x3, m x m) over the same tiles (weight_gradient).
//
// The transforms split each plane into m x m phases (entry (y, x) at [y mod m][x mod m][y / m][x / m]):
// the entries a tile needs from one phase are then (tile row, tile column) + a constant, so every
// step of a transform is one unit-stride vector loop over the whole plane, however narrow the map.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <omp.h>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend::winograd {

// The transform matrices of F(m x m, 3 x 3); alpha = m + 2.
template <int M>
struct Tile;

template <>
struct Tile<2> {
  static constexpr int m = 2, alpha = 4;
  static constexpr double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr double G[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  static constexpr double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};

// Interpolation points 0, +-1, +-2 (and infinity). Float error against a double reference is
// 3e-6 to 8e-6 of the output's scale at C = 64 (F(2x2, 3x3): 4e-7).
template <>
struct Tile<4> {
  static constexpr int m = 4, alpha = 6;
  static constexpr double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                      {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr double G[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                     {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
  static constexpr double AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
};

inline constexpr std::int64_t kMinOutputs = 49;  // smaller maps: too few tiles to pay for the transforms

inline bool applies(const Conv2dDims& d) {
  const auto& g = d.g;
  return d.kh == 3 && d.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 &&
         g.groups == 1 && g.pad_h <= 2 && g.pad_w <= 2 && d.o > 2 && d.oh * d.ow >= kMinOutputs;
}

namespace detail {

// The transforms' small loops must fold into straight-line vector code; GCC otherwise leaves the
// generic lambdas below as calls inside the vector loops.
#if defined(__GNUC__) || defined(__clang__)
#define HFC_INLINE __attribute__((always_inline))
#else
#define HFC_INLINE
#endif

// f(integral_constant<int, 0>), ..., f(integral_constant<int, N - 1>): indices usable in
// `if constexpr`, so products with a zero coefficient are never emitted (x * 0 is not 0 in IEEE
// arithmetic, so the compiler may not drop them itself).
template <int N, class F>
HFC_INLINE inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) HFC_INLINE { (f(std::integral_constant<int, I>{}), ...); }(
      std::make_integer_sequence<int, N>{});
}

// sum over k < N of Mat[Row][k] * load(k) (Mat[k][Row] when Transposed), skipping zero
// coefficients; load gets k as a compile-time constant.
template <class T, const auto& Mat, int Row, int N, bool Transposed = false, class Load>
HFC_INLINE inline T combine(Load&& load) {
  T acc = T(0);
  unroll<N>([&](auto k) HFC_INLINE {
    constexpr double c = Transposed ? Mat[decltype(k)::value][Row] : Mat[Row][decltype(k)::value];
    if constexpr (c == 1) acc += load(k);
    else if constexpr (c == -1) acc -= load(k);
    else if constexpr (c != 0) acc += T(c) * load(k);
  });
  return acc;
}

// Row `src` of M * len entries into M phases `stride` apart (entry x to [x mod M][x / M]), and
// the inverse.
template <int M, class T>
HFC_INLINE inline void split_phases(const T* HFC_RESTRICT src, std::int64_t len, std::int64_t stride,
                                    T* HFC_RESTRICT dst) {
  for (std::int64_t i = 0; i < len; ++i)
    unroll<M>([&](auto r) HFC_INLINE { dst[r * stride + i] = src[i * M + r]; });
}
template <int M, class T>
HFC_INLINE inline void join_phases(const T* HFC_RESTRICT src, std::int64_t len, std::int64_t stride,
                                   T* HFC_RESTRICT dst) {
  for (std::int64_t i = 0; i < len; ++i)
    unroll<M>([&](auto r) HFC_INLINE { dst[i * M + r] = src[r * stride + i]; });
}

// The tile geometry of a chunk of `count` samples: tile (ty, tx) of sample s is GEMM column
// s * per_sample + ty * tiles_w + tx. A phase of a split plane is `rows` x `len`: tiles_h x tiles_w
// for dy and the output, one more of each for the input (an alpha-wide tile reaches one entry into
// the next tile's phase row and column).
template <class F>
struct Tiling {
  std::int64_t tiles_h, tiles_w, per_sample, ld;
  Tiling(const Conv2dDims& d, std::int64_t count)
      : tiles_h((d.oh + F::m - 1) / F::m),
        tiles_w((d.ow + F::m - 1) / F::m),
        per_sample(tiles_h * tiles_w),
        ld(count * per_sample) {}
};

// The padded plane at src (h x w, zero padding pad_h, pad_w) split into M x M phases of rows x len
// at dst ([phase y][phase x] consecutive); everything outside the plane is zero. `padded` is
// scratch for one row of M * len.
template <int M, class T>
void split_plane(const T* src, std::int64_t h, std::int64_t w, std::int64_t pad_h, std::int64_t pad_w, std::int64_t rows,
                 std::int64_t len, T* padded, T* dst) {
  const std::int64_t phase = rows * len;
  for (std::int64_t q = 0; q < M * rows; ++q) {
    T* out = dst + (q % M) * M * phase + (q / M) * len;  // phase x at out + phx * phase
    const std::int64_t y = q - pad_h;
    if (y < 0 || y >= h) {
      for (int phx = 0; phx < M; ++phx) zero_short(out + phx * phase, len);
      continue;
    }
    zero_short(padded, M * len);
    copy_short(src + y * w, std::min(w, M * len - pad_w), padded + pad_w);
    split_phases<M>(padded, len, phase, out);
  }
}

// U[p][o][c] = (G w[o][c] G^T)[p]; `flip` takes w[c][o] rotated by 180 degrees instead, the
// kernel of the backward pass to the input (then O and C are the forward's C and O). U lives in
// the calling thread's scratch (no allocation per call); call it outside a parallel region, whose
// threads then only read it.
template <class F, class T>
const T* transform_weights(const T* w, std::int64_t out, std::int64_t in, bool flip) {
  struct TransformedWeights;
  constexpr int a = F::alpha;
  T* u = scratch<T, TransformedWeights>(static_cast<std::size_t>(a * a * out * in));
  // In 16 x 16 blocks of (o, c): the flipped kernel is read transposed, and unblocked each read
  // (or each of the alpha^2 writes) would touch a new cache line.
  constexpr std::int64_t kBlock = 16;
  const std::int64_t blocks_o = (out + kBlock - 1) / kBlock, blocks_c = (in + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks_o * blocks_c; ++b)
    for (std::int64_t o = b / blocks_c * kBlock; o < std::min(out, (b / blocks_c + 1) * kBlock); ++o)
      for (std::int64_t c = b % blocks_c * kBlock; c < std::min(in, (b % blocks_c + 1) * kBlock); ++c) {
        T g[3][3];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            g[i][j] = flip ? w[((c * out + o) * 3 + (2 - i)) * 3 + (2 - j)] : w[((o * in + c) * 3 + i) * 3 + j];
        T gg[a][3];  // G g
        unroll<a>([&](auto i) HFC_INLINE {
          for (int j = 0; j < 3; ++j) gg[i][j] = combine<T, F::G, decltype(i)::value, 3>([&](auto k) HFC_INLINE { return g[k][j]; });
        });
        for (int i = 0; i < a; ++i)  // (G g) G^T
          unroll<a>([&](auto j) HFC_INLINE {
            u[((i * a + j) * out + o) * in + c] = combine<T, F::G, decltype(j)::value, 3>([&](auto k) HFC_INLINE { return gg[i][k]; });
          });
      }
  return u;
}

// V[p][c][t] = (B^T d B)[p] for the input tile d of tile t (zero outside the image), for the
// `count` samples at x: B^T combines rows of the split plane, B the columns of those.
template <class F, class T>
void transform_input(const T* x, std::int64_t count, const Conv2dDims& d, const Tiling<F>& t, T* v) {
  struct Planes;
  constexpr int a = F::alpha, M = F::m;
  const std::int64_t rows = t.tiles_h + 1, len = t.tiles_w + 1, phase = rows * len, span = t.tiles_h * len;
  // The split plane, a padded row, the alpha x M phases of B^T d (and one zero past the last, read
  // for the last spare column), and one transformed plane with the spare column.
  T* split = scratch<T, Planes>(static_cast<std::size_t>(M * M * phase + M * len + a * M * span + 1 + span));
  T* padded = split + M * M * phase;
  T* bt = padded + M * len;
  T* wide = bt + a * M * span + 1;
  bt[a * M * span] = T(0);
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t c = 0; c < d.c; ++c) {
      split_plane<M>(x + (s * d.c + c) * d.h * d.w, d.h, d.w, d.g.pad_h, d.g.pad_w, rows, len, padded, split);
      // Tile row k of tile row ty is plane row M ty + k: phase y k mod M, phase row ty + k / M.
      for (int phx = 0; phx < M; ++phx)
        unroll<a>([&](auto i) HFC_INLINE {
          const T* in = split + phx * phase;
          T* HFC_RESTRICT out = bt + (i * M + phx) * span;
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            out[z] = combine<T, F::BT, decltype(i)::value, a>(
                [&](auto k) HFC_INLINE { return in[(k % M) * M * phase + (k / M) * len + z]; });
        });
      // Tile column k of tile column tx: phase x k mod M, phase column tx + k / M; computed with the
      // spare column (so one flat loop), which is then dropped.
      for (int i = 0; i < a; ++i) {
        const T* b = bt + i * M * span;
        unroll<a>([&](auto j) HFC_INLINE {
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            wide[z] = combine<T, F::BT, decltype(j)::value, a>([&](auto k) HFC_INLINE { return b[(k % M) * span + z + k / M]; });
          T* out = v + ((i * a + j) * d.c + c) * t.ld + s * t.per_sample;
          for (std::int64_t ty = 0; ty < t.tiles_h; ++ty) copy_short(wide + ty * len, t.tiles_w, out + ty * t.tiles_w);
        });
      }
    }
}

// y (=, or += when accumulate) A^T M A for every output tile, clipped to the output map: A on the
// tiles' columns into M phases x, A^T on their rows into M phases y, then joined into rows.
template <class F, class T>
void transform_output(const T* m, std::int64_t count, const Conv2dDims& d, const Tiling<F>& t, bool accumulate, T* y) {
  struct OutputRows;
  constexpr int a = F::alpha, M = F::m;
  const std::int64_t span = t.per_sample;
  // alpha x M phases of M A, M x M phases of the output, one joined output row
  T* ma = scratch<T, OutputRows>(static_cast<std::size_t>((a * M + M * M) * span + M * t.tiles_w));
  T* out = ma + a * M * span;
  T* joined = out + M * M * span;
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t o = 0; o < d.o; ++o) {
      for (int i = 0; i < a; ++i) {
        const T* mi = m + (i * a * d.o + o) * t.ld + s * span;  // point (i, j) at mi + j * O * ld
        unroll<M>([&](auto r) HFC_INLINE {
          T* HFC_RESTRICT dst = ma + (i * M + r) * span;
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            dst[z] = combine<T, F::AT, decltype(r)::value, a>([&](auto j) HFC_INLINE { return mi[j * d.o * t.ld + z]; });
        });
      }
      for (int phx = 0; phx < M; ++phx)
        unroll<M>([&](auto r) HFC_INLINE {
          T* HFC_RESTRICT dst = out + (r * M + phx) * span;
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            dst[z] = combine<T, F::AT, decltype(r)::value, a>([&](auto i) HFC_INLINE { return ma[(i * M + phx) * span + z]; });
        });
      T* plane = y + (s * d.o + o) * d.oh * d.ow;
      for (std::int64_t oy = 0; oy < d.oh; ++oy) {
        join_phases<M>(out + (oy % M) * M * span + (oy / M) * t.tiles_w, t.tiles_w, span, joined);
        T* dst = plane + oy * d.ow;
        if (accumulate)
          for (std::int64_t x = 0; x < d.ow; ++x) dst[x] += joined[x];
        else
          copy_short(joined, d.ow, dst);
      }
    }
}

// U[p][o][t] = (A dY A^T)[p] for the M x M tile t of dy (zero past the map's edge), laid out as transform_input lays out V; A is the forward's A^T transposed.
template <class F, class T>
void transform_output_grad(const T* dy, std::int64_t count, const Conv2dDims& d, const Tiling<F>& t, T* u) {
  struct GradPlanes;
  constexpr int a = F::alpha, M = F::m;
  const std::int64_t span = t.per_sample, phase = span;
  // The split dy plane, a padded row, then the alpha x M phases of A dY.
  T* split = scratch<T, GradPlanes>(static_cast<std::size_t>(M * M * phase + M * t.tiles_w + a * M * span));
  T* padded = split + M * M * phase;
  T* ady = padded + M * t.tiles_w;
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t o = 0; o < d.o; ++o) {
      split_plane<M>(dy + (s * d.o + o) * d.oh * d.ow, d.oh, d.ow, 0, 0, t.tiles_h, t.tiles_w, padded, split);
      for (int phx = 0; phx < M; ++phx)  // tile row k of tile row ty: phase y k, phase row ty
        unroll<a>([&](auto i) HFC_INLINE {
          const T* in = split + phx * phase;
          T* HFC_RESTRICT out = ady + (i * M + phx) * span;
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            out[z] = combine<T, F::AT, decltype(i)::value, M, true>([&](auto k) HFC_INLINE { return in[k * M * phase + z]; });
        });
      for (int i = 0; i < a; ++i) {  // tile column k of tile column tx: phase x k, phase column tx
        const T* b = ady + i * M * span;
        unroll<a>([&](auto j) HFC_INLINE {
          T* HFC_RESTRICT out = u + ((i * a + j) * d.o + o) * t.ld + s * span;
#pragma omp simd
          for (std::int64_t z = 0; z < span; ++z)
            out[z] = combine<T, F::AT, decltype(j)::value, M, true>([&](auto k) HFC_INLINE { return b[k * span + z]; });
        });
      }
    }
}

// dw[o][c] += G^T M[o][c] G for M[p][o][c].
template <class F, class T>
void add_weight_grad(const T* m, std::int64_t out, std::int64_t in, T* dw) {
  constexpr int a = F::alpha;
  const std::int64_t point = out * in;
  for (std::int64_t oc = 0; oc < point; ++oc) {
    T gm[3][a];  // G^T M
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < a; ++j) {
        T acc = T(0);
        for (int k = 0; k < a; ++k) acc += T(F::G[k][i]) * m[(k * a + j) * point + oc];
        gm[i][j] = acc;
      }
    for (int i = 0; i < 3; ++i)  // (G^T M) G
      for (int j = 0; j < 3; ++j) {
        T acc = T(0);
        for (int k = 0; k < a; ++k) acc += gm[i][k] * T(F::G[k][j]);
        dw[oc * 9 + i * 3 + j] += acc;
      }
  }
}

// y (=, or += when accumulate) the convolution d of x with w, read as [O][C][3][3], or as the
// flipped [C][O][3][3] when flip.
template <class F, class T>
void convolve(const T* x, const T* w, bool flip, const Conv2dDims& d, bool accumulate, T* y) {
  constexpr int points = F::alpha * F::alpha;
  const T* u = transform_weights<F>(w, d.o, d.c, flip);
  const std::int64_t chunk = samples_per_gemm(Tiling<F>(d, 1).per_sample, d.n, omp_get_max_threads());
#pragma omp parallel for schedule(static)
  for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
    struct Input;
    struct Product;
    const std::int64_t count = std::min(chunk, d.n - n0);
    const Tiling<F> t(d, count);
    T* v = scratch<T, Input>(static_cast<std::size_t>(points * d.c * t.ld));
    T* m = scratch<T, Product>(static_cast<std::size_t>(points * d.o * t.ld));
    transform_input(x + n0 * d.c * d.h * d.w, count, d, t, v);
    for (int p = 0; p < points; ++p)
      gemm(Trans::no, Trans::no, d.o, t.ld, d.c, T(1), u + p * d.o * d.c, d.c, v + p * d.c * t.ld, t.ld, T(0),
           m + p * d.o * t.ld, t.ld);
    transform_output(m, count, d, t, accumulate, y + n0 * d.o * d.oh * d.ow);
  }
}

// dw += the weight gradient of the convolution d for dy and x by F(3x3, m x m): the trilinear form
// sum dy_i w_k x_(i+k) = sum_p (A dy)_p (G w)_p (B^T x)_p gives dw = G^T [(A dy) . (B^T x)] G per
// tile, so per Winograd point one GEMM [O x tiles] x [tiles x C] summed over every tile of the
// batch, and the alpha x alpha -> 3x3 transform once at the end. Each thread sums its samples; the
// partial sums are added in thread order, so the result does not depend on scheduling.
template <class F, class T>
void weight_gradient(const T* dy, const T* x, const Conv2dDims& d, T* dw) {
  constexpr int points = F::alpha * F::alpha;
  const std::int64_t msize = points * d.o * d.c;
  const std::int64_t chunk = samples_per_gemm(Tiling<F>(d, 1).per_sample, d.n, omp_get_max_threads());
  std::vector<T*> partial(static_cast<std::size_t>(omp_get_max_threads()), nullptr);
#pragma omp parallel
  {
    struct Input;
    struct GradTiles;
    struct Product;
    T* m = scratch<T, Product>(static_cast<std::size_t>(msize));
    std::fill_n(m, msize, T(0));
    partial[static_cast<std::size_t>(omp_get_thread_num())] = m;
#pragma omp for schedule(static)
    for (std::int64_t n0 = 0; n0 < d.n; n0 += chunk) {
      const std::int64_t count = std::min(chunk, d.n - n0);
      const Tiling<F> t(d, count);
      T* v = scratch<T, Input>(static_cast<std::size_t>(points * d.c * t.ld));
      T* u = scratch<T, GradTiles>(static_cast<std::size_t>(points * d.o * t.ld));
      transform_input(x + n0 * d.c * d.h * d.w, count, d, t, v);
      transform_output_grad(dy + n0 * d.o * d.oh * d.ow, count, d, t, u);
      for (int p = 0; p < points; ++p)
        gemm(Trans::no, Trans::yes, d.o, d.c, t.ld, T(1), u + p * d.o * t.ld, t.ld, v + p * d.c * t.ld, t.ld, T(1),
             m + p * d.o * d.c, d.c);
    }  // implicit barrier: every partial sum is complete
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < msize; ++i)
      for (std::size_t k = 1; k < partial.size(); ++k)
        if (partial[k]) partial[0][i] += partial[k][i];
  }
  add_weight_grad<F>(partial[0], d.o, d.c, dw);
}

// The dims of the backward pass to the input as a forward convolution: dy (O channels, oh x ow)
// into dx (C channels, h x w) with padding 2 - pad.
inline Conv2dDims input_gradient_dims(const Conv2dDims& d) {
  Conv2dDims b = d;
  b.c = d.o, b.h = d.oh, b.w = d.ow;
  b.o = d.c, b.oh = d.h, b.ow = d.w;
  b.g.pad_h = 2 - d.g.pad_h, b.g.pad_w = 2 - d.g.pad_w;
  return b;
}

// F(4x4, 3x3) for maps of 28 x 28 and more, F(2x2, 3x3) below. Measured on ResNet18's layers
// (docs/performance.md): on a quiet machine F(4x4) took 17-23% off a 56x56 or 28x28
// convolution's forward and backward, but was 1.5x slower at 14x14, where its tiles are few and
// partly past the edge.
template <class Run>
void with_tile(const Conv2dDims& d, Run&& run) {
  if (std::min(d.oh, d.ow) >= 28) run(Tile<4>{});
  else run(Tile<2>{});
}

}  // namespace detail

// The three passes of a convolution for which applies(d) holds.
template <class T>
void forward(const T* x, const T* w, const Conv2dDims& d, T* y) {
  detail::with_tile(d, [&]<class F>(F) { detail::convolve<F>(x, w, false, d, false, y); });
}

// dx (=, or += when accumulate) the gradient to the input; needs applies(input_gradient_dims(d)).
template <class T>
void input_gradient(const T* dy, const T* w, const Conv2dDims& d, bool accumulate, T* dx) {
  const Conv2dDims b = detail::input_gradient_dims(d);
  detail::with_tile(b, [&]<class F>(F) { detail::convolve<F>(dy, w, true, b, accumulate, dx); });
}

template <class T>
void weight_gradient(const T* dy, const T* x, const Conv2dDims& d, T* dw) {
  detail::with_tile(d, [&]<class F>(F) { detail::weight_gradient<F>(dy, x, d, dw); });
}

inline bool applies_to_input_gradient(const Conv2dDims& d) { return applies(d) && applies(detail::input_gradient_dims(d)); }

}  // namespace hfc::cpu_backend::winograd

#undef HFC_INLINE
