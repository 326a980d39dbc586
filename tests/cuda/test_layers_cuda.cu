// Every op, layer, optimiser and both networks on the cuda backend against the cpu backend: the
// same code (cases.hpp) run on both, on random inputs, each result within a stated bound.
#include <doctest/doctest.h>

#include <hfc/cuda.cuh>

#include "compare.hpp"
#include "gpu.hpp"

using namespace hfc;

TEST_CASE("cuda ops, layers, optimisers and networks match the cpu backend on random inputs") {
  if (test::no_gpu()) return;
  const cuda_backend::ScopedSetting exact(cuda_backend::Context::get().allow_tf32_convolution, false);
  test::check_all_cases_against_cpu<cuda>();
}

TEST_CASE("cuda convolutions with TF32 stay within 1e-2 of the cpu backend") {
  if (test::no_gpu()) return;
  const cuda_backend::ScopedSetting tf32(cuda_backend::Context::get().allow_tf32_convolution, true);
  for (const char* name : {"conv 3x3", "conv 7x7 stride 2 (stem)", "conv 1x1"}) {
    INFO("case: ", name);
    const auto got = test::all_cases<cuda>().at(name)();
    const auto want = test::reference_case(name);
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("tensor: ", want[i].first);
      CHECK(test::scaled_error(got[i].second, want[i].second, 1e-30) <= 1e-2);
    }
  }
}

TEST_CASE("cuda host-to-device copies of large tensors (through pinned staging) keep every value, back to back") {
  if (test::no_gpu()) return;
  // Three 4 MB tensors in a row: the two staging buffers are reused while earlier copies may still
  // be in flight; then one small (pageable) copy between them.
  std::vector<Tensor<float, cuda>> on_device;
  std::vector<std::vector<float>> sent;
  for (int i = 0; i < 3; ++i) {
    sent.emplace_back(std::size_t(1) << 20);
    for (std::size_t j = 0; j < sent.back().size(); ++j) sent.back()[j] = float(i) * 1e6f + float(j);
    on_device.push_back(Tensor<float, cuda>::from(Shape{1 << 20}, sent.back()));
    on_device.push_back(Tensor<float, cuda>::full(Shape{5}, float(i)));
  }
  for (int i = 0; i < 3; ++i) {
    CHECK(on_device[std::size_t(2 * i)].to_vector() == sent[std::size_t(i)]);
    CHECK(on_device[std::size_t(2 * i + 1)].to_vector() == std::vector<float>(5, float(i)));
  }
}

TEST_CASE("cuda errors and bad input are hfc::Error naming the call or the tensor") {
  if (test::no_gpu()) return;
  // 4 TiB: cudaMalloc fails, the cache is released, the retry fails and says so.
  CHECK_THROWS_WITH_AS((Tensor<float, cuda>::empty(Shape{std::int64_t(1) << 40})), doctest::Contains("cudaMalloc"), Error);
  const auto x = Tensor<float, cuda>::zeros(Shape{2, 3, 8, 8});
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor<float, cuda>::zeros(Shape{4, 2, 3, 3}), Tensor<float, cuda>()),
                       doctest::Contains("channels"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d_backward(Tensor<float, cuda>::zeros(Shape{2, 3, 5, 5}),
                                           Tensor<std::int64_t, cuda>::zeros(Shape{2, 3, 5, 5}), x.shape(),
                                           MaxPoolGeometry{}),
                       doctest::Contains("max_pool2d_backward: grad"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(Tensor<float, cuda>::zeros(Shape{2, 7}),
                                     Tensor<std::int64_t, cpu>::from(Shape{2}, std::vector<std::int64_t>{1, 7}).to<cuda>()),
                       doctest::Contains("label of sample 1"), Error);
  // The device is still usable after the errors, and copies between and on backends keep values.
  CHECK(Tensor<float, cuda>::full(Shape{3}, 2.0f).to<cuda>().to<cpu>().to_vector() == std::vector<float>{2.0f, 2.0f, 2.0f});
}
