#pragma once
// Outer-product correlation of singular-value vectors: M[i, j] = q[i] * k[j], zero beyond the
// vectors' lengths.
#include <algorithm>
#include <cstdint>

#include "hfc/backend/cpu/elementwise.hpp"

namespace hfc::cpu_backend {

// q: batch x lq, k: batch x lk. Writes map b at out + b * out_stride, h x w with lq <= h, lk <= w.
template <class T>
void outer_product_kernel(cpu, const T* q, std::int64_t lq, const T* k, std::int64_t lk, std::int64_t batch,
                          std::int64_t h, std::int64_t w, T* out, std::int64_t out_stride) {
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    T* m = out + b * out_stride;
    const T* qb = q + b * lq;
    const T* kb = k + b * lk;
    for (std::int64_t i = 0; i < h; ++i) {
      T* row = m + i * w;
      if (i >= lq) {
        std::fill_n(row, w, T(0));
        continue;
      }
      for (std::int64_t j = 0; j < lk; ++j) row[j] = qb[i] * kb[j];
      std::fill(row + lk, row + w, T(0));
    }
  }
}

// dq[i] += sum_j dm[i, j] k[j] and dk[j] += sum_i dm[i, j] q[i] over the stored part.
template <class T>
void outer_product_backward_kernel(cpu, const T* dm, std::int64_t dm_stride, const T* q, std::int64_t lq,
                                   const T* k, std::int64_t lk, std::int64_t batch, std::int64_t w, T* dq,
                                   T* dk) {
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    const T* m = dm + b * dm_stride;
    const T* qb = q + b * lq;
    const T* kb = k + b * lk;
    T* dqb = dq + b * lq;
    T* dkb = dk + b * lk;
    for (std::int64_t i = 0; i < lq; ++i) {
      const T* row = m + i * w;
      dqb[i] += dot(row, kb, lk);
      for (std::int64_t j = 0; j < lk; ++j) dkb[j] += row[j] * qb[i];
    }
  }
}

}  // namespace hfc::cpu_backend
