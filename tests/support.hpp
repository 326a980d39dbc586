#pragma once
// Test helpers: random tensors, error measures and a finite-difference gradient checker.
#include <doctest/doctest.h>

#include <algorithm>
#include <complex>
#include <numbers>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <hfc/hfc.hpp>

namespace hfc::test {

template <class T = double>
Tensor<T> random_tensor(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0) {
  return init::uniform<T>(shape, lo, hi, rng);
}

template <class To, class From>
Tensor<To> cast(const Tensor<From>& t) {
  auto out = Tensor<To>::empty(t.shape());
  std::transform(t.data(), t.data() + t.numel(), out.data(), [](From v) { return static_cast<To>(v); });
  return out;
}

// max |a - b| / max(max |b|, floor)
template <class T, class U>
double max_rel_error(const Tensor<T>& a, const Tensor<U>& b, double floor = 1e-12) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0, scale = floor;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(double(a.data()[i]) - double(b.data()[i])));
    scale = std::max(scale, std::abs(double(b.data()[i])));
  }
  return diff / scale;
}

inline double dot(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += a.data()[i] * b.data()[i];
  return s;
}

// Compares the analytic gradient `analytic` of loss(.) with respect to `wrt` against central
// differences at up to `samples` entries (all of them when the tensor is small). `loss` must
// re-run the computation from the current contents of `wrt`.
inline void check_gradient(const std::string& what, Tensor<double>& wrt, const Tensor<double>& analytic,
                           const std::function<double()>& loss, Rng& rng, int samples = 24, double tol = 1e-6,
                           double step = 1e-6) {
  INFO("gradient of ", what);
  REQUIRE(analytic.shape() == wrt.shape());
  std::vector<std::int64_t> idx;
  if (wrt.numel() <= samples)
    for (std::int64_t i = 0; i < wrt.numel(); ++i) idx.push_back(i);
  else
    for (int s = 0; s < samples; ++s) idx.push_back(static_cast<std::int64_t>(rng.below(std::uint64_t(wrt.numel()))));
  double worst = 0, scale = 1e-3;
  for (auto i : idx) {
    const double saved = wrt.data()[i];
    wrt.data()[i] = saved + step;
    const double up = loss();
    wrt.data()[i] = saved - step;
    const double down = loss();
    wrt.data()[i] = saved;
    const double numeric = (up - down) / (2 * step);
    worst = std::max(worst, std::abs(numeric - analytic.data()[i]));
    scale = std::max(scale, std::abs(numeric));
  }
  CHECK(worst / scale < tol);
}

// Re(ifft2(fft2(x) * H)) by the O(h^2 w^2) definition of the DFT, on the full spectrum.
template <class F>
std::vector<double> filter_by_direct_dft(const double* x, std::int64_t h, std::int64_t w, const F& filter) {
  using C = std::complex<double>;
  const double two_pi = 2 * std::numbers::pi;
  std::vector<C> spectrum(static_cast<std::size_t>(h * w));
  for (std::int64_t ky = 0; ky < h; ++ky)
    for (std::int64_t kx = 0; kx < w; ++kx) {
      C acc = 0;
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t xx = 0; xx < w; ++xx)
          acc += x[y * w + xx] * std::polar(1.0, -two_pi * (double(ky * y) / h + double(kx * xx) / w));
      const double fy = fftfreq(ky, h), fx = fftfreq(kx, w);
      spectrum[std::size_t(ky * w + kx)] = acc * filter.response(std::sqrt(fy * fy + fx * fx) / 0.5);
    }
  std::vector<double> out(static_cast<std::size_t>(h * w));
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t xx = 0; xx < w; ++xx) {
      C acc = 0;
      for (std::int64_t ky = 0; ky < h; ++ky)
        for (std::int64_t kx = 0; kx < w; ++kx)
          acc += spectrum[std::size_t(ky * w + kx)] * std::polar(1.0, two_pi * (double(ky * y) / h + double(kx * xx) / w));
      out[std::size_t(y * w + xx)] = acc.real() / double(h * w);
    }
  return out;
}

}  // namespace hfc::test
