#include "support.hpp"

using namespace hfc;

TEST_CASE("Shape: extents, numel, negative indexing and concatenation") {
  Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  CHECK(s.at(-1) == 4);
  CHECK(s.drop_back(1) + Shape{5, 6} == Shape{2, 3, 5, 6});
  CHECK(s.drop_front(1) == Shape{3, 4});
  CHECK_THROWS_AS(s.drop_front(4), Error);
  CHECK_THROWS_AS(s.at(3), Error);
  CHECK_THROWS_AS(Shape({1, -2}), Error);
  CHECK(Shape{0, 3}.has_zero_extent());
}

TEST_CASE("Tensor: zero-initialised, shared on copy, independent on clone") {
  Tensor<float> x({2, 3});
  CHECK(x.numel() == 6);
  CHECK(std::all_of(x.span().begin(), x.span().end(), [](float v) { return v == 0.f; }));
  Tensor<float> alias = x;
  alias(1, 2) = 5.f;
  CHECK(x(1, 2) == 5.f);
  Tensor<float> copy = x.clone();
  copy(1, 2) = 7.f;
  CHECK(x(1, 2) == 5.f);
  CHECK(x.reshape(Shape{3, 2})(2, 1) == 5.f);
  CHECK_THROWS_AS(x.reshape(Shape{4, 2}), Error);
  CHECK_THROWS_AS(x(1, 2, 0), Error);
  CHECK(reinterpret_cast<std::uintptr_t>(x.data()) % 64 == 0);
  CHECK_FALSE(Tensor<float>().defined());
  CHECK_THROWS_WITH_AS(Tensor<float>::from(Shape{2, 2}, std::vector<float>{1, 2, 3}),
                       doctest::Contains("3 values given for shape [2, 2]"), Error);
}

TEST_CASE("Tensor::narrow: rows of the first dimension as a view, writes show in both, outside rows is an error") {
  auto x = Tensor<float>::from(Shape{4, 2, 3}, [] {
    std::vector<float> v(24);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i);
    return v;
  }());
  auto rows = x.narrow(1, 2);
  CHECK(rows.shape() == Shape{2, 2, 3});
  CHECK(rows(0, 0, 0) == 6.f);  // row 1 starts at element 6
  CHECK(rows(1, 1, 2) == 17.f);
  rows(1, 0, 0) = -1.f;
  CHECK(x(2, 0, 0) == -1.f);
  CHECK(rows.shares_storage_with(x));
  CHECK_FALSE(rows.clone().shares_storage_with(x));
  CHECK(x.narrow(4, 0).numel() == 0);
  CHECK_THROWS_WITH_AS(x.narrow(3, 2), doctest::Contains("rows [3, 5) of a tensor of shape [4, 2, 3]"), Error);
  CHECK_THROWS_AS(x.narrow(-1, 1), Error);
  // The view keeps the storage alive after the original handle is gone.
  Tensor<float> kept;
  {
    auto y = Tensor<float>::full(Shape{3, 5}, 2.f);
    kept = y.narrow(2, 1);
  }
  CHECK(kept.span()[4] == 2.f);
}

TEST_CASE("Rng: deterministic per seed, and its distributions have the right moments") {
  Rng a(42), b(42), c(43);
  CHECK(a.next_u64() == b.next_u64());
  CHECK(a.next_u64() != c.next_u64());
  Rng r(7);
  const int n = 200000;
  double sum = 0, sum2 = 0, usum = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    sum += z;
    sum2 += z * z;
    usum += r.uniform();
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sum2 / n - 1.0) < 0.01);
  CHECK(std::abs(usum / n - 0.5) < 0.005);
}

TEST_CASE("init: kaiming_uniform(a=sqrt 5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like PyTorch") {
  Rng rng(1);
  const Shape w{16, 8, 3, 3};
  CHECK(init::fan_in(w) == 72);
  CHECK(init::fan_out(w) == 144);
  auto t = init::kaiming_uniform<float>(w, std::sqrt(5.0), rng);
  const float bound = 1.f / std::sqrt(72.f);
  const auto [lo, hi] = std::minmax_element(t.span().begin(), t.span().end());
  CHECK(*lo >= -bound);
  CHECK(*hi <= bound);
  CHECK(*hi > 0.9f * bound);  // the range is used, not a narrower one
  auto k = init::kaiming_normal_fan_out<double>(Shape{64, 64, 3, 3}, rng);
  double s2 = 0;
  for (double v : k.span()) s2 += v * v;
  CHECK(std::sqrt(s2 / k.numel()) == doctest::Approx(std::sqrt(2.0 / 576)).epsilon(0.02));
}

TEST_CASE("NoGradGuard switches gradient recording off in its scope only") {
  CHECK(grad_enabled());
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
  }
  CHECK(grad_enabled());
}
