#pragma once
// Filtering through a few Fourier modes. When a filter's response is zero outside the low
// frequencies |ky| <= Ky, |kx| <= Kx (an ideal low-pass), or one minus it is (an ideal high-pass:
// out = in - low-pass part), the filter is
//     F(X) = C_y (D .* (C_y^T X C_x)) C_x^T,
// with C the real Fourier basis of those frequencies on each axis (1, cos k t, sin k t for
// k = 1..K) and D the response times the basis' inverse norms. A response that depends on |ky|
// and |kx| only (every FrequencyFilter does) is diagonal in that basis. Four GEMMs over a batch of
// maps replace the r2c and c2r transforms: at the HFC module's default (ideal, cutoff 0.25: 15 of
// 56 frequencies per axis) 2.5x faster than FFTW's SIMD plans (docs/design.md, "Frequency filters
// through a few Fourier modes").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

// The real Fourier basis of length n up to frequency k, n x (2k + 1) row-major: column 0 is 1,
// columns 2j - 1 and 2j are cos and sin of 2 pi j t / n. Made once per (n, k) and kept.
template <class T>
const std::vector<T>& fourier_basis(std::int64_t n, std::int64_t k) {
  static std::mutex mutex;
  static auto* bases = new std::map<std::pair<std::int64_t, std::int64_t>, std::vector<T>>;  // never destroyed
  std::lock_guard lock(mutex);
  auto [it, fresh] = bases->try_emplace({n, k});
  if (fresh) {
    const std::int64_t columns = 2 * k + 1;
    auto& basis = it->second;
    basis.resize(static_cast<std::size_t>(n * columns));
    const double pi = std::acos(-1.0);
    for (std::int64_t t = 0; t < n; ++t) {
      T* row = basis.data() + t * columns;
      row[0] = T(1);
      for (std::int64_t j = 1; j <= k; ++j) {
        const double angle = 2.0 * pi * static_cast<double>(j * t % n) / static_cast<double>(n);  // reduced exactly
        row[2 * j - 1] = static_cast<T>(std::cos(angle));
        row[2 * j] = static_cast<T>(std::sin(angle));
      }
    }
  }
  return it->second;
}

// How a response table is applied through the band: its extent on each axis and the weights D.
template <class T>
struct BandPlan {
  std::int64_t max_ky = 0, max_kx = 0;  // the highest frequency index with a weight; -1: no weight at all
  bool complement = false;              // the band holds one minus the response: out = in - band part
  std::vector<T> weights;               // D transposed, (2 max_kx + 1) x (2 max_ky + 1): [j * (2 max_ky + 1) + i]
};

// The most basis columns per axis the band may take. The band's cost per pixel grows with its
// width, the FFT's with log n: against FFTW the break-even was about 77% of the axis at 56, 62% at
// 112, 50% at 224 and between 25% (still 1.1x faster) and 40% (1.6x slower) at 448 (32 maps, 2
// threads, Zen 5 VM), so half the axis and no more than 96 columns.
inline bool band_worth_it(std::int64_t columns, std::int64_t n) { return 2 * columns <= n && columns <= 96; }

// The band plan for a half-spectrum response table (h x (w/2 + 1), 1/(h w) folded in), or none
// when the FFT is cheaper or the table does not allow it: the band must leave out each axis'
// Nyquist frequency (there the cos column's norm differs and the sin column vanishes) and the
// table must be even in ky (every FrequencyFilter's is; with the Hermitian extension c2r makes,
// that makes it even in each axis, hence diagonal in the cos/sin basis).
template <class T>
std::optional<BandPlan<T>> band_plan(const T* response, std::int64_t h, std::int64_t w) {
  const std::int64_t half = w / 2 + 1;
  const T full = static_cast<T>(1.0 / static_cast<double>(h * w));  // a weight of 1, as the table stores it
  for (std::int64_t row = 1; row <= h / 2; ++row)  // bitwise: a float compare loop cost more than the rest
    if (std::memcmp(response + row * half, response + (h - row) * half, static_cast<std::size_t>(half) * sizeof(T)) != 0)
      return std::nullopt;
  // The extents of the response and of one minus it, in one pass over the table.
  struct Extent {
    std::int64_t ky = -1, kx = -1;
  } direct, complement;
  for (std::int64_t row = 0; row < h; ++row) {
    const T* r = response + row * half;
    std::int64_t last_direct = -1, last_complement = -1;
    for (std::int64_t col = 0; col < half; ++col) {  // branch-free: vectorised
      last_direct = std::max(last_direct, r[col] != T(0) ? col : std::int64_t{-1});
      last_complement = std::max(last_complement, r[col] != full ? col : std::int64_t{-1});
    }
    for (auto [last, extent] : {std::pair{last_direct, &direct}, std::pair{last_complement, &complement}})
      if (last >= 0) {
        extent->ky = std::max(extent->ky, std::min(row, h - row));
        extent->kx = std::max(extent->kx, last);
      }
  }
  std::optional<BandPlan<T>> best;
  for (const bool is_complement : {false, true}) {
    const Extent e = is_complement ? complement : direct;
    const std::int64_t rows = 2 * e.ky + 1, cols = 2 * e.kx + 1;
    if (2 * e.ky >= h || 2 * e.kx >= w || !band_worth_it(rows, h) || !band_worth_it(cols, w)) continue;
    if (best && (2 * best->max_ky + 1) * (2 * best->max_kx + 1) <= rows * cols) continue;
    BandPlan<T> plan{e.ky, e.kx, is_complement, {}};
    if (e.ky >= 0) {
      plan.weights.resize(static_cast<std::size_t>(rows * cols));
      for (std::int64_t j = 0; j < cols; ++j)
        for (std::int64_t i = 0; i < rows; ++i) {
          const std::int64_t fy = (i + 1) / 2, fx = (j + 1) / 2;
          const T weight = is_complement ? full - response[fy * half + fx] : response[fy * half + fx];
          // 1/|c|^2 for the basis columns: h (and w) for the constant, h/2 (w/2) for cos and sin;
          // the table's 1/(h w) covers the first, the factors of 2 the rest.
          plan.weights[static_cast<std::size_t>(j * rows + i)] = weight * T(fy > 0 ? 2 : 1) * T(fx > 0 ? 2 : 1);
        }
    }
    best = std::move(plan);
  }
  return best;
}

// Transposes `count` row-major rows x cols matrices from `from` into `to`, one after another.
template <class T>
void transpose_each(const T* HFC_RESTRICT from, T* HFC_RESTRICT to, std::int64_t count, std::int64_t rows,
                    std::int64_t cols) {
  for (std::int64_t m = 0; m < count; ++m, from += rows * cols, to += rows * cols)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) to[c * rows + r] = from[r * cols + c];
}

// in, out: `maps` maps of h x w (out may alias in). Each thread takes chunks of maps through
//   along  = X C_x                      (all rows of the chunk's maps: one GEMM)
//   across = along^T per map, coeffs = across C_y, scaled by D, across = coeffs C_y^T
//   out    = along C_x^T  (or in minus it)
// so that every product is one GEMM over the chunk. The loop always runs in a full team, also
// for one chunk: Eigen splits a GEMM over threads itself when it finds no team around it, and
// these products are too small for that (one 112x112 map: 92 us split, 19 us not).
template <class T>
void band_filter_kernel(const T* in, T* out, std::int64_t maps, std::int64_t h, std::int64_t w,
                        const BandPlan<T>& plan) {
  const std::int64_t area = h * w;
  if (plan.max_ky < 0) {  // nothing in the band: the filter is 0 (or the identity)
    if (plan.complement && out != in) std::copy(in, in + maps * area, out);
    if (!plan.complement) std::fill(out, out + maps * area, T(0));
    return;
  }
  const std::int64_t ny = 2 * plan.max_ky + 1, nx = 2 * plan.max_kx + 1;
  const T* cy = fourier_basis<T>(h, plan.max_ky).data();
  const T* cx = fourier_basis<T>(w, plan.max_kx).data();
  constexpr std::int64_t kChunk = 8;  // maps per GEMM: 8 x 56 rows at 56 x 56, in L2 with their products
  const std::int64_t chunks = (maps + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t first = c * kChunk, count = std::min(kChunk, maps - first);
    struct Along;
    struct Across;
    struct Coefficients;
    T* along = aligned_scratch<T, Along>(static_cast<std::size_t>(count * h * nx));
    T* across = aligned_scratch<T, Across>(static_cast<std::size_t>(count * nx * h));
    T* coeffs = aligned_scratch<T, Coefficients>(static_cast<std::size_t>(count * nx * ny));
    const T* x = in + first * area;
    T* y = out + first * area;
    gemm<T>(Trans::no, Trans::no, count * h, nx, w, T(1), x, w, cx, nx, T(0), along, nx);
    transpose_each(along, across, count, h, nx);
    gemm<T>(Trans::no, Trans::no, count * nx, ny, h, T(1), across, h, cy, ny, T(0), coeffs, ny);
    for (std::int64_t m = 0; m < count; ++m)
      for (std::int64_t i = 0; i < nx * ny; ++i) coeffs[m * nx * ny + i] *= plan.weights[static_cast<std::size_t>(i)];
    gemm<T>(Trans::no, Trans::yes, count * nx, h, ny, T(1), coeffs, ny, cy, ny, T(0), across, h);
    transpose_each(across, along, count, nx, h);
    if (plan.complement) {
      if (y != x) std::copy(x, x + count * area, y);
      gemm<T>(Trans::no, Trans::yes, count * h, w, nx, T(-1), along, nx, cx, nx, T(1), y, w);
    } else {
      gemm<T>(Trans::no, Trans::yes, count * h, w, nx, T(1), along, nx, cx, nx, T(0), y, w);
    }
  }
}

}  // namespace hfc::cpu_backend
