#pragma once
// The checks of a batched float SVD's results against Eigen's double JacobiSVD, shared by the GPU
// test (test_svd_cuda.cu) and the host run of the Gram-Jacobi algorithm (test_svd_gram_host.cu).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <hfc/core/rng.hpp>

#include "reference.hpp"

namespace hfc::test {

// Entry (i, j) of matrix b of U diag(d) V^T, in double: U is batch x m x k, V batch x n x k and d
// batch x k, row-major.
inline double u_diag_vt(const std::vector<float>& u, const std::vector<float>& d, const std::vector<float>& v,
                        std::int64_t b, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t i, std::int64_t j) {
  double sum = 0;
  for (std::int64_t c = 0; c < k; ++c)
    sum += double(u[std::size_t((b * m + i) * k + c)]) * d[std::size_t(b * k + c)] * v[std::size_t((b * n + j) * k + c)];
  return sum;
}

// The larger of worst and x, or NaN if either is NaN (std::max(worst, NaN) keeps worst, and a check on
// the maximum would then miss a NaN output).
inline double worst_of(double worst, double x) { return x > worst || x != x ? x : worst; }

// Singular values within tol * s_max of the reference; A = U diag(s) V^T; U^T U = V^T V = I on the
// columns with s_i > 1e-3 s_max, to 4 rows epsilon (above the one-sided kernels' stopping threshold,
// 2 sqrt(rows) epsilon, and what the Gram kernel's U = W V / |W v_j| attains); s descending.
inline void check_svd_results(const std::vector<float>& host, std::int64_t batch, std::int64_t m, std::int64_t n,
                              const std::vector<float>& s, const std::vector<float>& u, const std::vector<float>& v,
                              double tol = 1e-5) {
  INFO(batch, " matrices ", m, "x", n);
  const std::int64_t k = std::min(m, n);
  const auto ref = reference_singular_values(host, batch, m, n);
  for (std::int64_t b = 0; b < batch; ++b) {
    const double smax = std::max(ref[std::size_t(b * k)], 1e-300);
    double err = 0, recon = 0, ortho = 0;
    for (std::int64_t i = 0; i < k; ++i) err = worst_of(err, std::abs(s[std::size_t(b * k + i)] - ref[std::size_t(b * k + i)]));
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        recon = worst_of(recon, std::abs(u_diag_vt(u, s, v, b, m, n, k, i, j) - host[std::size_t((b * m + i) * n + j)]));
    for (std::int64_t c1 = 0; c1 < k; ++c1)
      for (std::int64_t c2 = 0; c2 < k; ++c2) {
        if (s[std::size_t(b * k + c1)] < 1e-3 * smax || s[std::size_t(b * k + c2)] < 1e-3 * smax) continue;
        double du = 0, dv = 0;
        for (std::int64_t i = 0; i < m; ++i) du += double(u[std::size_t((b * m + i) * k + c1)]) * u[std::size_t((b * m + i) * k + c2)];
        for (std::int64_t i = 0; i < n; ++i) dv += double(v[std::size_t((b * n + i) * k + c1)]) * v[std::size_t((b * n + i) * k + c2)];
        ortho = worst_of(worst_of(ortho, std::abs(du - (c1 == c2))), std::abs(dv - (c1 == c2)));
      }
    CHECK(err <= tol * smax);
    CHECK(recon <= 1e-5 * smax);
    CHECK(ortho <= 4.0 * double(std::max(m, n)) * 1.2e-7);
    for (std::int64_t i = 1; i < k; ++i) CHECK(s[std::size_t(b * k + i)] <= s[std::size_t(b * k + i - 1)]);
  }
}

// The matrices every batched SVD is tested on: random ones at n = 7 ... 112 and rectangular ones,
// then rank-deficient (rank 3), repeated (all ones) and graded (1 to 1e-6) singular values.
// check(host, batch, m, n) is called for each set.
template <class Check>
void for_each_svd_case(Check&& check) {
  Rng rng(5);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{7, 7}, {14, 14}, {28, 28}, {32, 32}, {56, 56}, {112, 112},
                      {9, 5}, {5, 9}, {1, 6}}) {
    std::vector<float> host(static_cast<std::size_t>(4 * m * n));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    check(host, 4, m, n);
  }
  for (std::int64_t n : {7, 14, 28, 32, 56, 112}) {
    const std::vector<double> rank3 = {5.0, 2.0, 1.0};
    check(matrices_with_singular_values(2, n, n, rank3, 1), 2, n, n);
    check(matrices_with_singular_values(2, n, n, std::vector<double>(std::size_t(n), 1.0), 2), 2, n, n);
    std::vector<double> graded;
    for (std::int64_t i = 0; i < n; ++i) graded.push_back(std::pow(10.0, -6.0 * double(i) / double(n)));
    check(matrices_with_singular_values(2, n, n, graded, 3), 2, n, n);
  }
}

// A batched SVD's results on the host: s (batch x k), u (batch x m x k), v (batch x n x k).
struct SvdVectors {
  std::vector<float> s, u, v;
};

// Of four matrices, 1 (one NaN) and 2 (one infinity) get NaN singular values and vectors, as on the
// cpu backend; 0 and 3 are decomposed as if alone. run(host, batch, m, n) returns SvdVectors.
template <class Run>
void check_nonfinite_matrices(Run&& run) {
  Rng rng(17);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{14, 14}, {9, 5}, {5, 9}}) {
    INFO("non-finite entries, ", m, "x", n);
    const std::int64_t k = std::min(m, n), size = m * n;
    std::vector<float> host(static_cast<std::size_t>(4 * size));
    for (auto& x : host) x = static_cast<float>(rng.normal());
    host[std::size_t(size + 7)] = std::numeric_limits<float>::quiet_NaN();
    host[std::size_t(2 * size + size - 1)] = std::numeric_limits<float>::infinity();
    const SvdVectors r = run(host, 4, m, n);
    int finite_entries = 0;
    for (std::int64_t b : {1, 2}) {
      for (std::int64_t i = 0; i < k; ++i) finite_entries += !std::isnan(r.s[std::size_t(b * k + i)]);
      for (std::int64_t i = 0; i < m * k; ++i) finite_entries += !std::isnan(r.u[std::size_t(b * m * k + i)]);
      for (std::int64_t i = 0; i < n * k; ++i) finite_entries += !std::isnan(r.v[std::size_t(b * n * k + i)]);
    }
    CHECK(finite_entries == 0);
    SvdVectors rest;  // matrices 0 and 3
    std::vector<float> finite;
    for (std::int64_t b : {0, 3}) {
      finite.insert(finite.end(), host.begin() + b * size, host.begin() + (b + 1) * size);
      rest.s.insert(rest.s.end(), r.s.begin() + b * k, r.s.begin() + (b + 1) * k);
      rest.u.insert(rest.u.end(), r.u.begin() + b * m * k, r.u.begin() + (b + 1) * m * k);
      rest.v.insert(rest.v.end(), r.v.begin() + b * n * k, r.v.begin() + (b + 1) * n * k);
    }
    check_svd_results(finite, 2, m, n, rest.s, rest.u, rest.v);
  }
}

// Matrices scaled far from 1 (1e30; 1e-30; 1e-38, partly subnormal floats) keep their accuracy
// relative to s_max: no sum overflows or underflows. run(host, batch, m, n) returns SvdVectors.
template <class Run>
void check_scaled_matrices(Run&& run) {
  Rng rng(18);
  const std::int64_t m = 28, n = 20;
  std::vector<float> base(static_cast<std::size_t>(2 * m * n));
  for (auto& x : base) x = static_cast<float>(rng.normal());
  for (const float factor : {1e30f, 1e-30f, 1e-38f}) {
    INFO("entries scaled by ", factor);
    std::vector<float> host(base);
    for (auto& x : host) x *= factor;
    const SvdVectors r = run(host, 2, m, n);
    check_svd_results(host, 2, m, n, r.s, r.u, r.v);
  }
}

}  // namespace hfc::test
