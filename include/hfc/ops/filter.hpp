#pragma once
// Frequency filters as policy types, and the batched filtering front end.
//
// A filter is a real response H(r) of the normalised radius r = sqrt(fy^2 + fx^2) / 0.5, with fy,
// fx in cycles per pixel as numpy.fft.fftfreq gives them (r = 1 at the Nyquist frequency on an
// axis, sqrt(2) in the corner). It is applied on the unshifted spectrum:
//     out = Re(ifft2(fft2(x) * H)).
// H depends on |f| only, so it is even under f -> -f: the filtered map is real, and the
// operator is self-adjoint, so its backward is the same filter (frequency_filter_backward).
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "hfc/core/tensor.hpp"

namespace hfc {

namespace detail {
inline void check_cutoff(double cutoff, std::string_view filter) {
  check(cutoff > 0.0 && cutoff <= 1.0, filter, ": cutoff must be in (0, 1], got ", cutoff);
}
inline void check_order(int order, std::string_view filter) {
  check(order >= 1, filter, ": order must be at least 1, got ", order);
}
}  // namespace detail

// Keeps r > cutoff.
struct IdealHighPass {
  static constexpr std::string_view name = "ideal high-pass";
  double cutoff = 0.25;
  void validate() const { detail::check_cutoff(cutoff, name); }
  double response(double r) const { return r > cutoff ? 1.0 : 0.0; }
};
// Keeps r <= cutoff: IdealLowPass + IdealHighPass at one cutoff is the identity.
struct IdealLowPass {
  static constexpr std::string_view name = "ideal low-pass";
  double cutoff = 0.25;
  void validate() const { detail::check_cutoff(cutoff, name); }
  double response(double r) const { return r <= cutoff ? 1.0 : 0.0; }
};
// exp(-r^2 / (2 cutoff^2)) and one minus it.
struct GaussianLowPass {
  static constexpr std::string_view name = "Gaussian low-pass";
  double cutoff = 0.25;
  void validate() const { detail::check_cutoff(cutoff, name); }
  double response(double r) const { return std::exp(-r * r / (2.0 * cutoff * cutoff)); }
};
struct GaussianHighPass {
  static constexpr std::string_view name = "Gaussian high-pass";
  double cutoff = 0.25;
  void validate() const { detail::check_cutoff(cutoff, name); }
  double response(double r) const { return 1.0 - GaussianLowPass{cutoff}.response(r); }
};
// 1 / (1 + (r / cutoff)^(2 order)) and 1 / (1 + (cutoff / r)^(2 order)).
struct ButterworthLowPass {
  static constexpr std::string_view name = "Butterworth low-pass";
  double cutoff = 0.25;
  int order = 2;
  void validate() const {
    detail::check_cutoff(cutoff, name);
    detail::check_order(order, name);
  }
  double response(double r) const { return 1.0 / (1.0 + std::pow(r / cutoff, 2.0 * order)); }
};
struct ButterworthHighPass {
  static constexpr std::string_view name = "Butterworth high-pass";
  double cutoff = 0.25;
  int order = 2;
  void validate() const {
    detail::check_cutoff(cutoff, name);
    detail::check_order(order, name);
  }
  double response(double r) const { return r == 0.0 ? 0.0 : 1.0 / (1.0 + std::pow(cutoff / r, 2.0 * order)); }
};

template <class F>
concept FrequencyFilter = requires(const F f, double r) {
  { F::name } -> std::convertible_to<std::string_view>;
  { f.response(r) } -> std::convertible_to<double>;
  f.validate();
};

// A filter chosen at run time (from options or the command line).
using AnyFilter = std::variant<IdealHighPass, IdealLowPass, GaussianHighPass, GaussianLowPass, ButterworthHighPass,
                               ButterworthLowPass>;

// numpy.fft.fftfreq(n)[k]: k/n for k < (n+1)/2, else (k - n)/n.
inline double fftfreq(std::int64_t k, std::int64_t n) {
  return static_cast<double>(k < (n + 1) / 2 ? k : k - n) / static_cast<double>(n);
}

// The response on the half-spectrum of an h x w map, h x (w/2 + 1), with the 1/(h w) of the
// inverse transform folded in.
template <class T, FrequencyFilter F>
std::vector<T> half_spectrum_response(const F& filter, std::int64_t h, std::int64_t w) {
  const std::int64_t half_w = w / 2 + 1;
  std::vector<T> table(static_cast<std::size_t>(h * half_w));
  const double scale = 1.0 / static_cast<double>(h * w);
  for (std::int64_t ky = 0; ky < h; ++ky)
    for (std::int64_t kx = 0; kx < half_w; ++kx) {
      const double fy = fftfreq(ky, h), fx = fftfreq(kx, w);
      const double r = std::sqrt(fy * fy + fx * fx) / 0.5;
      table[static_cast<std::size_t>(ky * half_w + kx)] = static_cast<T>(filter.response(r) * scale);
    }
  return table;
}

// The response table of a filter at h x w on backend B, made once and kept: a module filters the
// same shape every step, and on the GPU each fresh table would be a host-to-device copy. Keyed by
// the filter's name and parameters and the shape; shared by every thread (behind a mutex), for
// the life of the process (a few KB per shape).
template <class T, Backend B, FrequencyFilter F>
Tensor<T, B> cached_response(const F& filter, std::int64_t h, std::int64_t w) {
  int order = 0;
  if constexpr (requires { filter.order; }) order = filter.order;
  using Key = std::tuple<std::string_view, double, int, std::int64_t, std::int64_t>;
  static std::mutex mutex;
  static auto* tables = new std::map<Key, Tensor<T, B>>;  // never destroyed: device tables outlive main
  const Key key{F::name, filter.cutoff, order, h, w};
  std::lock_guard lock(mutex);
  auto it = tables->find(key);
  if (it == tables->end())
    it = tables->emplace(key, Tensor<T, B>::from(Shape{h, w / 2 + 1}, half_spectrum_response<T>(filter, h, w))).first;
  return it->second;
}

// Filters every trailing h x w map of x (rank >= 2), e.g. [N, 1, H, W] or [N, H, W], into `out`,
// which holds as many elements (it may be a view: rows of a larger tensor, see Tensor::narrow).
template <Scalar T, Backend B, FrequencyFilter F>
void frequency_filter(const Tensor<T, B>& x, const F& filter, Tensor<T, B>& out) {
  filter.validate();
  check(x.defined() && x.rank() >= 2, "frequency_filter: input must have rank >= 2, got shape ", x.shape());
  check(!x.shape().has_zero_extent(), "frequency_filter: input has a zero-size dimension: ", x.shape());
  check(out.defined() && out.numel() == x.numel(), "frequency_filter: output of shape ", out.shape(),
        " does not hold the input's ", x.numel(), " elements");
  const std::int64_t h = x.size(-2), w = x.size(-1);
  const auto response = cached_response<T, B>(filter, h, w);
  frequency_filter_kernel(B{}, x.data(), out.data(), x.numel() / (h * w), h, w, response.data());
}
template <Scalar T, Backend B, FrequencyFilter F>
Tensor<T, B> frequency_filter(const Tensor<T, B>& x, const F& filter) {
  auto out = Tensor<T, B>::empty(x.shape());
  frequency_filter(x, filter, out);
  return out;
}
template <Scalar T, Backend B>
void frequency_filter(const Tensor<T, B>& x, const AnyFilter& filter, Tensor<T, B>& out) {
  std::visit([&](const auto& f) { frequency_filter(x, f, out); }, filter);
}
template <Scalar T, Backend B>
Tensor<T, B> frequency_filter(const Tensor<T, B>& x, const AnyFilter& filter) {
  return std::visit([&](const auto& f) { return frequency_filter(x, f); }, filter);
}

// The gradient of frequency_filter: the filter is self-adjoint, so it is the filter itself.
template <Scalar T, Backend B, class F>
Tensor<T, B> frequency_filter_backward(const Tensor<T, B>& grad, const F& filter) {
  return frequency_filter(grad, filter);
}

}  // namespace hfc
