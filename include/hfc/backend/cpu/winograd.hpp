#pragma once
// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated, ungrouped convolutions (Lavin & Gray 2016):
// each 2x2 output tile is A^T [sum_c (G g G^T) . (B^T d B)] A over a 4x4 input tile d, so the
// multiply-adds become 16 GEMMs [O x C] x [C x tiles] with 2.25x fewer flops than im2col's, and
// the transformed input is 4x the input where im2col's column matrix is 9x. ResNet18's 3x3
// convolutions are most of its training step; the backward pass to the input is the same
// convolution of dy with the flipped, transposed kernel, so it runs here too. The weight gradient
// uses the transposed algorithm F(3x3, 2x2) over the same tiles (weight_gradient below).
#include <algorithm>
#include <cstdint>
#include <vector>

#include <omp.h>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend::winograd {

inline constexpr int kTile = 4;                   // input tile, kTile x kTile
inline constexpr int kPoints = kTile * kTile;     // GEMMs per convolution
inline constexpr std::int64_t kMinOutputs = 49;   // smaller maps: too few tiles to pay for the transforms

inline bool applies(const Conv2dDims& d) {
  const auto& g = d.g;
  return d.kh == 3 && d.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 &&
         g.groups == 1 && g.pad_h <= 2 && g.pad_w <= 2 && d.o > 2 && d.oh * d.ow >= kMinOutputs;
}

// U[p][o][c] = (G w[o][c] G^T)[p]; `flip` takes w[c][o] rotated by 180 degrees instead, the
// kernel of the backward pass to the input (then O and C are the forward's C and O). U lives in
// the calling thread's scratch (no allocation per call); call it outside a parallel region, whose
// threads then only read it.
template <class T>
const T* transform_weights(const T* w, std::int64_t out, std::int64_t in, bool flip) {
  struct TransformedWeights;
  T* u = scratch<T, TransformedWeights>(static_cast<std::size_t>(kPoints * out * in));
  // In 16 x 16 blocks of (o, c): the flipped kernel is read transposed, and unblocked each read
  // (or each of the 16 writes) would touch a new cache line.
  constexpr std::int64_t kBlock = 16;
  const std::int64_t blocks_o = (out + kBlock - 1) / kBlock, blocks_c = (in + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks_o * blocks_c; ++b)
    for (std::int64_t o = b / blocks_c * kBlock; o < std::min(out, (b / blocks_c + 1) * kBlock); ++o)
      for (std::int64_t c = b % blocks_c * kBlock; c < std::min(in, (b % blocks_c + 1) * kBlock); ++c) {
        T g[3][3];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) g[i][j] = flip ? w[((c * out + o) * 3 + (2 - i)) * 3 + (2 - j)] : w[((o * in + c) * 3 + i) * 3 + j];
        T gg[4][3];  // G g, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
        for (int j = 0; j < 3; ++j) {
          gg[0][j] = g[0][j];
          gg[1][j] = T(0.5) * (g[0][j] + g[1][j] + g[2][j]);
          gg[2][j] = T(0.5) * (g[0][j] - g[1][j] + g[2][j]);
          gg[3][j] = g[2][j];
        }
        for (int i = 0; i < 4; ++i) {  // (G g) G^T
          const T r[4] = {gg[i][0], T(0.5) * (gg[i][0] + gg[i][1] + gg[i][2]), T(0.5) * (gg[i][0] - gg[i][1] + gg[i][2]),
                          gg[i][2]};
          for (int j = 0; j < 4; ++j) u[((i * 4 + j) * out + o) * in + c] = r[j];
        }
      }
  return u;
}

// V[p][c][t] = (B^T d B)[p] for the 4x4 input tile d of tile t (zero outside the image), for the
// `count` samples at x, tiles of a sample consecutive; ld = count * tiles per sample. A tile row
// at a time: B^T combines four zero-padded input rows into four rows, then B combines columns,
// and each of the 16 outputs of consecutive tiles lands in consecutive memory.
template <class T>
void transform_input(const T* x, std::int64_t count, const Conv2dDims& d, std::int64_t tiles_h, std::int64_t tiles_w,
                     T* v) {
  struct Rows;
  const std::int64_t per_sample = tiles_h * tiles_w, ld = count * per_sample, width = 2 * tiles_w + 2;
  T* rows = scratch<T, Rows>(static_cast<std::size_t>(8 * width));  // 4 input rows, then 4 B^T rows
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t c = 0; c < d.c; ++c) {
      const T* plane = x + (s * d.c + c) * d.h * d.w;
      for (std::int64_t ty = 0; ty < tiles_h; ++ty) {
        for (std::int64_t k = 0; k < 4; ++k) {  // input rows 2 ty - pad + k, zero-padded to `width`
          T* row = rows + k * width;
          const std::int64_t y = 2 * ty - d.g.pad_h + k;
          std::fill_n(row, width, T(0));
          if (y < 0 || y >= d.h) continue;
          const std::int64_t lo = std::max<std::int64_t>(0, d.g.pad_w), hi = std::min(width, d.w + d.g.pad_w);
          std::copy(plane + y * d.w + (lo - d.g.pad_w), plane + y * d.w + (hi - d.g.pad_w), row + lo);
        }
        const T *r0 = rows, *r1 = rows + width, *r2 = rows + 2 * width, *r3 = rows + 3 * width;
        T* bt = rows + 4 * width;
#pragma omp simd
        for (std::int64_t i = 0; i < width; ++i) {  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
          bt[i] = r0[i] - r2[i];
          bt[width + i] = r1[i] + r2[i];
          bt[2 * width + i] = r2[i] - r1[i];
          bt[3 * width + i] = r1[i] - r3[i];
        }
        const std::int64_t col = s * per_sample + ty * tiles_w;
        for (int i = 0; i < 4; ++i) {  // then B on the columns of each tile
          const T* b = bt + i * width;
          T* HFC_RESTRICT v0 = v + ((i * 4 + 0) * d.c + c) * ld + col;
          T* HFC_RESTRICT v1 = v + ((i * 4 + 1) * d.c + c) * ld + col;
          T* HFC_RESTRICT v2 = v + ((i * 4 + 2) * d.c + c) * ld + col;
          T* HFC_RESTRICT v3 = v + ((i * 4 + 3) * d.c + c) * ld + col;
          for (std::int64_t tx = 0; tx < tiles_w; ++tx) {
            const T b0 = b[2 * tx], b1 = b[2 * tx + 1], b2 = b[2 * tx + 2], b3 = b[2 * tx + 3];
            v0[tx] = b0 - b2;
            v1[tx] = b1 + b2;
            v2[tx] = b2 - b1;
            v3[tx] = b1 - b3;
          }
        }
      }
    }
}

// y (=, or += when accumulate) A^T M A for every output tile, clipped to the output map; a tile
// row at a time, as transform_input: A on the columns of each tile first (four rows of M A, the
// tiles' two columns interleaved), then A^T combines those rows into two output rows.
template <class T>
void transform_output(const T* m, std::int64_t count, const Conv2dDims& d, std::int64_t tiles_h, std::int64_t tiles_w,
                      bool accumulate, T* y) {
  struct OutputRows;
  const std::int64_t per_sample = tiles_h * tiles_w, ld = count * per_sample, width = 2 * tiles_w;
  T* rows = scratch<T, OutputRows>(static_cast<std::size_t>(6 * width));  // 4 rows of M A, then 2 output rows
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t o = 0; o < d.o; ++o) {
      T* plane = y + (s * d.o + o) * d.oh * d.ow;
      for (std::int64_t ty = 0; ty < tiles_h; ++ty) {
        const std::int64_t col = s * per_sample + ty * tiles_w;
        for (int i = 0; i < 4; ++i) {  // A^T = [1 1 1 0; 0 1 -1 -1]
          const T* m0 = m + ((i * 4 + 0) * d.o + o) * ld + col;
          const T* m1 = m + ((i * 4 + 1) * d.o + o) * ld + col;
          const T* m2 = m + ((i * 4 + 2) * d.o + o) * ld + col;
          const T* m3 = m + ((i * 4 + 3) * d.o + o) * ld + col;
          T* ma = rows + i * width;
#pragma omp simd
          for (std::int64_t tx = 0; tx < tiles_w; ++tx) {
            ma[2 * tx] = m0[tx] + m1[tx] + m2[tx];
            ma[2 * tx + 1] = m1[tx] - m2[tx] - m3[tx];
          }
        }
        const T *a0 = rows, *a1 = rows + width, *a2 = rows + 2 * width, *a3 = rows + 3 * width;
        T* out = rows + 4 * width;
#pragma omp simd
        for (std::int64_t i = 0; i < width; ++i) {
          out[i] = a0[i] + a1[i] + a2[i];
          out[width + i] = a1[i] - a2[i] - a3[i];
        }
        for (std::int64_t k = 0; k < 2 && 2 * ty + k < d.oh; ++k) {
          const T* src = out + k * width;
          T* dst = plane + (2 * ty + k) * d.ow;
          if (accumulate)
            for (std::int64_t x = 0; x < d.ow; ++x) dst[x] += src[x];
          else
            std::copy_n(src, d.ow, dst);
        }
      }
    }
}

// The convolution of the samples [n0, n0 + count) at x into y, with weights transformed by
// transform_weights (for these dims' O and C).
template <class T>
void convolve_chunk(const T* x, std::int64_t count, const T* u, const Conv2dDims& d, bool accumulate, T* y) {
  struct Input;
  struct Product;
  const std::int64_t tiles_h = (d.oh + 1) / 2, tiles_w = (d.ow + 1) / 2, ld = count * tiles_h * tiles_w;
  T* v = scratch<T, Input>(static_cast<std::size_t>(kPoints * d.c * ld));
  T* m = scratch<T, Product>(static_cast<std::size_t>(kPoints * d.o * ld));
  transform_input(x, count, d, tiles_h, tiles_w, v);
  for (int p = 0; p < kPoints; ++p)
    gemm(Trans::no, Trans::no, d.o, ld, d.c, T(1), u + p * d.o * d.c, d.c, v + p * d.c * ld, ld, T(0),
         m + p * d.o * ld, ld);
  transform_output(m, count, d, tiles_h, tiles_w, accumulate, y);
}

// U[p][o][t] = (A dY A^T)[p] for the 2x2 tile t of dy (zero past the map's edge), laid out as
// transform_input lays out V. A = [1 0; 1 1; 1 -1; 0 -1] (the forward's A^T, transposed).
template <class T>
void transform_output_grad(const T* dy, std::int64_t count, const Conv2dDims& d, std::int64_t tiles_h,
                           std::int64_t tiles_w, T* u) {
  struct GradRows;
  const std::int64_t per_sample = tiles_h * tiles_w, ld = count * per_sample, width = 2 * tiles_w;
  T* rows = scratch<T, GradRows>(static_cast<std::size_t>(6 * width));  // 2 dy rows, then 4 rows of A dY
  std::fill_n(rows, 2 * width, T(0));  // the columns past ow stay zero
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t o = 0; o < d.o; ++o) {
      const T* plane = dy + (s * d.o + o) * d.oh * d.ow;
      for (std::int64_t ty = 0; ty < tiles_h; ++ty) {
        for (std::int64_t k = 0; k < 2; ++k) {
          const std::int64_t y = 2 * ty + k;
          if (y < d.oh) std::copy_n(plane + y * d.ow, d.ow, rows + k * width);
          else std::fill_n(rows + k * width, d.ow, T(0));
        }
        const T *r0 = rows, *r1 = rows + width;
        T* ady = rows + 2 * width;
#pragma omp simd
        for (std::int64_t i = 0; i < width; ++i) {
          ady[i] = r0[i];
          ady[width + i] = r0[i] + r1[i];
          ady[2 * width + i] = r0[i] - r1[i];
          ady[3 * width + i] = -r1[i];
        }
        const std::int64_t col = s * per_sample + ty * tiles_w;
        for (int i = 0; i < 4; ++i) {  // then A^T on the columns of each tile
          const T* a = ady + i * width;
          T* HFC_RESTRICT u0 = u + ((i * 4 + 0) * d.o + o) * ld + col;
          T* HFC_RESTRICT u1 = u + ((i * 4 + 1) * d.o + o) * ld + col;
          T* HFC_RESTRICT u2 = u + ((i * 4 + 2) * d.o + o) * ld + col;
          T* HFC_RESTRICT u3 = u + ((i * 4 + 3) * d.o + o) * ld + col;
          for (std::int64_t tx = 0; tx < tiles_w; ++tx) {
            const T p = a[2 * tx], q = a[2 * tx + 1];
            u0[tx] = p;
            u1[tx] = p + q;
            u2[tx] = p - q;
            u3[tx] = -q;
          }
        }
      }
    }
}

// dw[o][c] += G^T M[o][c] G, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1], for M[p][o][c].
template <class T>
void add_weight_grad(const T* m, std::int64_t out, std::int64_t in, T* dw) {
  const std::int64_t point = out * in;
  for (std::int64_t oc = 0; oc < point; ++oc) {
    T gm[3][4];  // G^T M
    for (int j = 0; j < 4; ++j) {
      const T m0 = m[(0 * 4 + j) * point + oc], m1 = m[(1 * 4 + j) * point + oc];
      const T m2 = m[(2 * 4 + j) * point + oc], m3 = m[(3 * 4 + j) * point + oc];
      gm[0][j] = m0 + T(0.5) * (m1 + m2);
      gm[1][j] = T(0.5) * (m1 - m2);
      gm[2][j] = T(0.5) * (m1 + m2) + m3;
    }
    T* w = dw + oc * 9;
    for (int i = 0; i < 3; ++i) {  // (G^T M) G
      w[i * 3 + 0] += gm[i][0] + T(0.5) * (gm[i][1] + gm[i][2]);
      w[i * 3 + 1] += T(0.5) * (gm[i][1] - gm[i][2]);
      w[i * 3 + 2] += T(0.5) * (gm[i][1] + gm[i][2]) + gm[i][3];
    }
  }
}

// Samples per GEMM: enough for 256 tiles, no more than a thread's share of the batch.
inline std::int64_t samples_per_gemm(const Conv2dDims& d, int threads) {
  const std::int64_t tiles = ((d.oh + 1) / 2) * ((d.ow + 1) / 2), share = (d.n + threads - 1) / threads;
  return std::clamp<std::int64_t>((256 + tiles - 1) / tiles, 1, share);
}

// dw += the weight gradient of the convolution d (applies(d)) for dy and x, by F(3x3, 2x2): the
// trilinear form sum dy_i w_k x_(i+k) = sum_p (A dy)_p (G w)_p (B^T x)_p gives dw = G^T [(A dy) .
// (B^T x)] G per tile, so per Winograd point one GEMM [O x tiles] x [tiles x C] summed over every
// tile of the batch, and the 4x4 -> 3x3 transform once at the end. Each thread sums its samples;
// the partial sums are added in thread order, so the result does not depend on scheduling.
template <class T>
void weight_gradient(const T* dy, const T* x, const Conv2dDims& d, T* dw) {
  const std::int64_t tiles_h = (d.oh + 1) / 2, tiles_w = (d.ow + 1) / 2, msize = kPoints * d.o * d.c;
  const std::int64_t chunk = samples_per_gemm(d, omp_get_max_threads());
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
      const std::int64_t count = std::min(chunk, d.n - n0), ld = count * tiles_h * tiles_w;
      T* v = scratch<T, Input>(static_cast<std::size_t>(kPoints * d.c * ld));
      T* u = scratch<T, GradTiles>(static_cast<std::size_t>(kPoints * d.o * ld));
      transform_input(x + n0 * d.c * d.h * d.w, count, d, tiles_h, tiles_w, v);
      transform_output_grad(dy + n0 * d.o * d.oh * d.ow, count, d, tiles_h, tiles_w, u);
      for (int p = 0; p < kPoints; ++p)
        gemm(Trans::no, Trans::yes, d.o, d.c, ld, T(1), u + p * d.o * ld, ld, v + p * d.c * ld, ld, T(1),
             m + p * d.o * d.c, d.c);
    }  // implicit barrier: every partial sum is complete
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < msize; ++i)
      for (std::size_t t = 1; t < partial.size(); ++t)
        if (partial[t]) partial[0][i] += partial[t][i];
  }
  add_weight_grad(partial[0], d.o, d.c, dw);
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

}  // namespace hfc::cpu_backend::winograd
