#pragma once
// Division by a divisor fixed for a whole kernel, as a multiply and a shift (Granlund and
// Montgomery's method, the form PyTorch's IntDivider uses). A GPU has no integer divider: a 64-bit
// `/` or `%` compiles to some 70 instructions and a 32-bit one to about 20, so the index arithmetic
// of a memory-bound kernel (a plane's channel, an im2col row's tap) would cost more than its loads.
// Valid for dividends below 2^31; FastDivider::check_range says so at the launch site.
#include <cstdint>

#include "hfc/backend/host_device.hpp"
#include "hfc/core/error.hpp"

namespace hfc::cuda_backend {

class FastDivider {
 public:
  FastDivider() = default;
  explicit FastDivider(std::int64_t divisor) : divisor_(static_cast<std::uint32_t>(divisor)) {
    check(divisor >= 1 && divisor < (std::int64_t(1) << 31), "FastDivider: divisor ", divisor,
          " outside [1, 2^31)");
    while (shift_ < 32 && (std::uint64_t(1) << shift_) < divisor_) ++shift_;
    const std::uint64_t one = 1;
    magic_ = static_cast<std::uint32_t>(((one << 32) * ((one << shift_) - divisor_)) / divisor_ + 1);
  }
  // The kernels index with these: a count of 2^31 or more elements gets an hfc::Error, not wrong results.
  static void check_range(std::int64_t count, const char* what) {
    check(count < (std::int64_t(1) << 31), what, ": ", count, " elements exceed the 2^31 its GPU kernels index");
  }

  HFC_HOST_DEVICE std::int64_t div(std::int64_t n) const {
    const auto m = static_cast<std::uint32_t>(n);
#if defined(__CUDA_ARCH__)
    const std::uint32_t t = __umulhi(m, magic_);
#else
    const auto t = static_cast<std::uint32_t>((std::uint64_t(m) * magic_) >> 32);
#endif
    return static_cast<std::int64_t>((t + m) >> shift_);
  }
  HFC_HOST_DEVICE std::int64_t mod(std::int64_t n) const { return n - div(n) * divisor_; }
  HFC_HOST_DEVICE std::int64_t divisor() const { return divisor_; }

 private:
  std::uint32_t divisor_ = 1, magic_ = 1, shift_ = 0;
};

// Index i of a [outer, middle, inner] layout split into its three coordinates (NCHW's (n, c, p), a
// pooled plane's (plane, row, column), ...), with two fast divisions.
class Index3 {
 public:
  Index3() = default;
  Index3(std::int64_t middle, std::int64_t inner) : middle_(middle), inner_(inner) {}
  HFC_HOST_DEVICE void split(std::int64_t i, std::int64_t& outer, std::int64_t& middle, std::int64_t& inner) const {
    const std::int64_t rest = inner_.div(i);
    inner = i - rest * inner_.divisor();
    outer = middle_.div(rest);
    middle = rest - outer * middle_.divisor();
  }
  HFC_HOST_DEVICE std::int64_t middle(std::int64_t i) const { return middle_.mod(inner_.div(i)); }

 private:
  FastDivider middle_, inner_;
};

}  // namespace hfc::cuda_backend
