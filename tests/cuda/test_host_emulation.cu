// The cuda backend's algorithms run on the host (host_executor.cuh) against the cpu backend: every
// case of cases.hpp, with the same bounds as on the GPU. This runs everywhere, GPU or not, so CI
// tests the backend's indexing, chunking and algebra; test_layers_cuda.cu runs the same cases on
// the GPU itself.
#include <doctest/doctest.h>

#include "host_executor.cuh"

#include "compare.hpp"

using namespace hfc;

TEST_CASE("the cuda backend's algorithms, run on the host, match the cpu backend in every case") {
  test::check_all_cases_against_cpu<cuda_on_host>();
}

TEST_CASE("cuda conv2d: a sample whose im2col columns reach 2^31 elements is an hfc::Error, not a wrapped index") {
  // 64 channels, 3x3, a 2000 x 2000 map: input and output 2.6e8 elements, one sample's columns 2.3e9.
  // The check comes before any memory is touched, so no tensor is needed.
  const Conv2dDims d{1, 64, 2000, 2000, 64, 3, 3, 2000, 2000, Conv2dGeometry::square(1, 1)};
  const float* none = nullptr;
  float* no_output = nullptr;
  float weight_grad = 0;
  CHECK_THROWS_WITH_AS(cuda_backend::conv2d_forward_kernel(cuda_on_host{}, none, none, none, d, no_output),
                       doctest::Contains("conv2d (im2col of one sample)"), Error);
  CHECK_THROWS_WITH_AS(cuda_backend::conv2d_backward_kernel(cuda_on_host{}, none, none, none, d, no_output, false,
                                                            &weight_grad, no_output),
                       doctest::Contains("conv2d_backward (im2col of one sample)"), Error);
}

TEST_CASE("FastDivider: the quotient and remainder of / and % for every dividend below 2^31") {
  Rng rng(40);
  std::vector<std::int64_t> divisors;
  for (std::int64_t d = 1; d <= 1000; ++d) divisors.push_back(d);
  for (int k = 10; k < 31; ++k) divisors.insert(divisors.end(), {(std::int64_t(1) << k) - 1, std::int64_t(1) << k,
                                                                 (std::int64_t(1) << k) + 1});
  for (int i = 0; i < 200; ++i) divisors.push_back(1 + std::int64_t(rng.next_u64() % ((std::uint64_t(1) << 31) - 1)));
  const std::int64_t top = (std::int64_t(1) << 31) - 1;
  std::int64_t wrong = 0, tried = 0;
  for (const std::int64_t d : divisors) {
    const cuda_backend::FastDivider f(d);
    auto check_one = [&](std::int64_t n) {
      if (n < 0 || n > top) return;
      ++tried;
      wrong += f.div(n) != n / d || f.mod(n) != n % d;
    };
    for (std::int64_t n = 0; n < 300; ++n) check_one(n);
    for (std::int64_t q : {std::int64_t(1), std::int64_t(2), std::int64_t(1000), top / d, top / d - 1})
      for (std::int64_t e = -1; e <= 1; ++e) check_one(q * d + e);
    for (int i = 0; i < 300; ++i) check_one(std::int64_t(rng.next_u64() % std::uint64_t(top + 1)));
    check_one(top);
  }
  CHECK(tried > 500000);
  CHECK(wrong == 0);
  CHECK_THROWS_AS(cuda_backend::FastDivider(0), Error);
  CHECK_THROWS_WITH_AS(cuda_backend::FastDivider::check_range(std::int64_t(1) << 31, "conv2d"),
                       doctest::Contains("conv2d: 2147483648 elements"), Error);
}
