#pragma once
// Shape: the extents of a dense row-major tensor, up to kMaxRank dimensions.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>

#include "hfc/core/error.hpp"

namespace hfc {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(std::span<const std::int64_t> dims) { assign(dims.begin(), dims.end()); }

  int rank() const { return rank_; }
  std::int64_t operator[](int d) const { return dims_[static_cast<std::size_t>(d)]; }
  std::int64_t& operator[](int d) { return dims_[static_cast<std::size_t>(d)]; }
  // Counts from the back for negative d, as in PyTorch: shape.at(-1) is the last extent.
  std::int64_t at(int d) const {
    const int i = d < 0 ? d + rank_ : d;
    check(i >= 0 && i < rank_, "dimension ", d, " is out of range for shape ", *this);
    return (*this)[i];
  }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int d = 0; d < rank_; ++d) n *= dims_[static_cast<std::size_t>(d)];
    return n;
  }
  bool has_zero_extent() const {
    return std::any_of(begin(), end(), [](std::int64_t e) { return e == 0; });
  }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + rank_; }

  // The first rank() - count extents.
  Shape drop_back(int count) const {
    check(count >= 0 && count <= rank_, "cannot drop ", count, " dimensions from shape ", *this);
    return Shape(std::span<const std::int64_t>(begin(), end() - count));
  }
  // The last rank() - count extents.
  Shape drop_front(int count) const {
    check(count >= 0 && count <= rank_, "cannot drop ", count, " dimensions from shape ", *this);
    return Shape(std::span<const std::int64_t>(begin() + count, end()));
  }
  // Concatenation: Shape{2, 3} + Shape{4} == Shape{2, 3, 4}.
  friend Shape operator+(const Shape& a, const Shape& b) {
    check(a.rank_ + b.rank_ <= kMaxRank, "concatenating shapes ", a, " and ", b, " exceeds rank ", kMaxRank);
    Shape out = a;
    for (int d = 0; d < b.rank_; ++d) out.dims_[static_cast<std::size_t>(out.rank_++)] = b[d];
    return out;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) {
    out << '[';
    for (int d = 0; d < s.rank_; ++d) out << (d ? ", " : "") << s[d];
    return out << ']';
  }

 private:
  template <class It>
  void assign(It first, It last) {
    const auto n = std::distance(first, last);
    check(n <= kMaxRank, "a Shape holds at most ", kMaxRank, " dimensions, got ", n);
    rank_ = static_cast<int>(n);
    int d = 0;
    for (; first != last; ++first) {
      check(*first >= 0, "negative extent ", *first, " in dimension ", d, " of a Shape");
      dims_[static_cast<std::size_t>(d++)] = *first;
    }
  }

  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace hfc
