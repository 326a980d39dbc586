#pragma once
// Eight small problems in the eight double lanes of one vector (one AVX-512 register): the lane
// layout of the float SVD path (symmetric_eigen.hpp, svd.hpp). Element i of lane l lives at
// [i * kLanes + l].
#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

inline constexpr int kLanes = 8;

// Storage for lane vectors: each lane vector one cache line (AlignedVector). Unaligned, every
// AVX-512 load and store of a lane vector straddled two lines; the tridiagonalisation's products
// at 56x56 took 1.16 against 0.67 ns per lane element, the whole SVD group 1.2x the time.
using LaneBuffer = AlignedVector<double>;

// Square roots of one lane vector. Spelled with intrinsics: compilers vectorise std::sqrt only
// under -fno-math-errno, which a header cannot ask for.
inline void lane_sqrt(const double* in, double* out) {
#if defined(__AVX512F__)
  _mm512_storeu_pd(out, _mm512_sqrt_pd(_mm512_loadu_pd(in)));
#elif defined(__AVX__)
  for (int h = 0; h < kLanes; h += 4) _mm256_storeu_pd(out + h, _mm256_sqrt_pd(_mm256_loadu_pd(in + h)));
#elif defined(__SSE2__)
  for (int h = 0; h < kLanes; h += 2) _mm_storeu_pd(out + h, _mm_sqrt_pd(_mm_loadu_pd(in + h)));
#else
  for (int l = 0; l < kLanes; ++l) out[l] = std::sqrt(in[l]);
#endif
}

// A set of lanes, bit l for lane l: per-lane conditions (which lanes rotate, say) kept beside
// the lane vectors instead of in arrays of bools.
using LaneMask = unsigned;

// One lane vector as a value, for kernels that hold many of them in registers: arrays of doubles
// updated in place were stored back to memory on every step (GCC keeps an array in registers
// only while nothing takes its address), and stores are what these kernels wait on.
#if defined(__AVX512F__)
struct LaneVector {
  __m512d v;
};
inline LaneVector zero_lanes() { return {_mm512_setzero_pd()}; }
inline LaneVector load_lanes(const double* p) { return {_mm512_loadu_pd(p)}; }
inline void store_lanes(double* p, LaneVector x) { _mm512_storeu_pd(p, x.v); }
inline LaneVector add_lanes(LaneVector a, LaneVector b) { return {_mm512_add_pd(a.v, b.v)}; }
inline LaneVector sub_lanes(LaneVector a, LaneVector b) { return {_mm512_sub_pd(a.v, b.v)}; }
inline LaneVector mul_lanes(LaneVector a, LaneVector b) { return {_mm512_mul_pd(a.v, b.v)}; }
inline LaneVector fma_lanes(LaneVector a, LaneVector b, LaneVector c) { return {_mm512_fmadd_pd(a.v, b.v, c.v)}; }  // a b + c
inline LaneVector fnma_lanes(LaneVector a, LaneVector b, LaneVector c) { return {_mm512_fnmadd_pd(a.v, b.v, c.v)}; }  // c - a b
// (p, x) <- (c p - s x, s p + c x)
inline void rotate_lanes(LaneVector& p, LaneVector& x, LaneVector c, LaneVector s) {
  const __m512d rotated = _mm512_fmsub_pd(c.v, p.v, _mm512_mul_pd(s.v, x.v));
  x.v = _mm512_fmadd_pd(s.v, p.v, _mm512_mul_pd(c.v, x.v));
  p.v = rotated;
}
inline LaneVector broadcast_lanes(double v) { return {_mm512_set1_pd(v)}; }
inline LaneVector sqrt_lanes(LaneVector a) { return {_mm512_sqrt_pd(a.v)}; }
inline LaneVector div_lanes(LaneVector a, LaneVector b) { return {_mm512_div_pd(a.v, b.v)}; }
inline LaneVector select_lanes(LaneMask m, LaneVector if_set, LaneVector otherwise) {
  return {_mm512_mask_blend_pd(static_cast<__mmask8>(m), otherwise.v, if_set.v)};
}
// The lanes holding a number > 0 (not a NaN).
inline LaneMask positive_lanes(LaneVector a) { return _mm512_cmp_pd_mask(a.v, _mm512_setzero_pd(), _CMP_GT_OQ); }
// The lanes l where k >= bound[l], where k < bound[l], and where k > bound[l].
inline LaneMask lanes_at_or_after(std::int64_t k, const std::int64_t* bound) {
  return _mm512_cmp_epi64_mask(_mm512_loadu_si512(bound), _mm512_set1_epi64(k), _MM_CMPINT_LE);
}
inline LaneMask lanes_before(std::int64_t k, const std::int64_t* bound) {
  return _mm512_cmp_epi64_mask(_mm512_set1_epi64(k), _mm512_loadu_si512(bound), _MM_CMPINT_LT);
}
inline LaneMask lanes_after(std::int64_t k, const std::int64_t* bound) {
  return _mm512_cmp_epi64_mask(_mm512_loadu_si512(bound), _mm512_set1_epi64(k), _MM_CMPINT_LT);
}
#else
struct LaneVector {
  double v[kLanes];
};
inline LaneVector zero_lanes() { return {}; }
inline LaneVector load_lanes(const double* p) {
  LaneVector r;
  std::copy(p, p + kLanes, r.v);
  return r;
}
inline void store_lanes(double* p, const LaneVector& x) { std::copy(x.v, x.v + kLanes, p); }
inline LaneVector add_lanes(const LaneVector& a, const LaneVector& b) {
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] + b.v[l];
  return r;
}
inline LaneVector sub_lanes(const LaneVector& a, const LaneVector& b) {
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] - b.v[l];
  return r;
}
inline LaneVector mul_lanes(const LaneVector& a, const LaneVector& b) {
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] * b.v[l];
  return r;
}
inline LaneVector fma_lanes(const LaneVector& a, const LaneVector& b, const LaneVector& c) {  // a b + c
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] * b.v[l] + c.v[l];
  return r;
}
inline LaneVector fnma_lanes(const LaneVector& a, const LaneVector& b, const LaneVector& c) {  // c - a b
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = c.v[l] - a.v[l] * b.v[l];
  return r;
}
inline void rotate_lanes(LaneVector& p, LaneVector& x, const LaneVector& c, const LaneVector& s) {
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const double a = p.v[l], b = x.v[l];
    p.v[l] = c.v[l] * a - s.v[l] * b;
    x.v[l] = s.v[l] * a + c.v[l] * b;
  }
}
inline LaneVector broadcast_lanes(double v) {
  LaneVector r;
  std::fill(r.v, r.v + kLanes, v);
  return r;
}
inline LaneVector sqrt_lanes(const LaneVector& a) {
  LaneVector r;
  lane_sqrt(a.v, r.v);
  return r;
}
inline LaneVector div_lanes(const LaneVector& a, const LaneVector& b) {
  LaneVector r;
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] / b.v[l];
  return r;
}
inline LaneVector select_lanes(LaneMask m, const LaneVector& if_set, const LaneVector& otherwise) {
  LaneVector r;
  for (int l = 0; l < kLanes; ++l) r.v[l] = (m >> l) & 1u ? if_set.v[l] : otherwise.v[l];
  return r;
}
inline LaneMask positive_lanes(const LaneVector& a) {
  LaneMask m = 0;
  for (int l = 0; l < kLanes; ++l) m |= (a.v[l] > 0.0 ? 1u : 0u) << l;
  return m;
}
inline LaneMask lanes_at_or_after(std::int64_t k, const std::int64_t* bound) {
  LaneMask m = 0;
  for (int l = 0; l < kLanes; ++l) m |= (k >= bound[l] ? 1u : 0u) << l;
  return m;
}
inline LaneMask lanes_before(std::int64_t k, const std::int64_t* bound) {
  LaneMask m = 0;
  for (int l = 0; l < kLanes; ++l) m |= (k < bound[l] ? 1u : 0u) << l;
  return m;
}
inline LaneMask lanes_after(std::int64_t k, const std::int64_t* bound) {
  LaneMask m = 0;
  for (int l = 0; l < kLanes; ++l) m |= (k > bound[l] ? 1u : 0u) << l;
  return m;
}
#endif

}  // namespace hfc::cpu_backend
