// The cuda backend's profiler (backend/cuda/profiler.cuh): its bookkeeping on the host, and on the
// GPU that it names and times exactly the launches an op makes.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <hfc/cuda.cuh>

#include "gpu.hpp"

using namespace hfc;
using cuda_backend::KernelTime;

namespace {

const KernelTime* find(const std::vector<KernelTime>& times, const std::string& name) {
  for (const KernelTime& t : times)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

TEST_CASE("profiler: launches summed per name, largest first, and per kind (the name up to a space or a template)") {
  const auto times = cuda_backend::summarize_launches({{"Im2col<float>", 1.0},
                                                       {"cublasGemmEx 4x8x9 NN tf32", 2.0},
                                                       {"Im2col<float>", 1.5},
                                                       {"cublasGemmEx 2x3x4 NT", 0.25}});
  REQUIRE(times.size() == 3);
  CHECK(times[0].name == "Im2col<float>");
  CHECK(times[0].calls == 2);
  CHECK(times[0].ms == doctest::Approx(2.5));
  CHECK(times[1].name == "cublasGemmEx 4x8x9 NN tf32");
  CHECK(times[2].ms == doctest::Approx(0.25));

  const auto kinds = cuda_backend::by_kind(times);
  REQUIRE(kinds.size() == 2);
  CHECK(kinds[0].name == "Im2col");
  CHECK(kinds[1].name == "cublasGemmEx");
  CHECK(kinds[1].calls == 2);
  CHECK(kinds[1].ms == doctest::Approx(2.25));
  // A kernel body's instances are one kind.
  const auto bodies = cuda_backend::by_kind(
      cuda_backend::summarize_launches({{"DirectForward<float, 3>", 1.0}, {"DirectForward<float>", 0.5}}));
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].name == "DirectForward");
  CHECK(bodies[0].calls == 2);
}

TEST_CASE("profiler: the table shows the top rows, sums the rest into one, and divides by the steps") {
  const auto times = cuda_backend::summarize_launches({{"a", 6.0}, {"b", 3.0}, {"c", 1.0}, {"a", 2.0}});
  const std::string table = cuda_backend::profile_table(times, {.top = 1, .steps = 2});
  CHECK(table.find("| a | 1 | 4.000 | 66.7% |") != std::string::npos);
  CHECK(table.find("| (2 others) | 1 | 2.000 | 33.3% |") != std::string::npos);
  CHECK(table.find("| **all** | 2 | 6.000 | 100.0% |") != std::string::npos);
  CHECK(table.find("| b |") == std::string::npos);
  const std::string all = cuda_backend::profile_table(times);
  CHECK(all.find("| b | 1 | 3.000 | 25.0% |") != std::string::npos);
  CHECK(all.find("others") == std::string::npos);
}

TEST_CASE("profiler: kernel bodies are named by their type, without the library's namespaces") {
  CHECK(cuda_backend::launch_type_name<cuda_backend::detail::Im2col<float>>() == "Im2col<float>");
  CHECK(cuda_backend::launch_type_name<cuda_backend::detail::ScaleSpectrum<float2, float>>() ==
        "ScaleSpectrum<float2, float>");
}

TEST_CASE("profiler: while it does not record, a timed launch makes no name (nor events), unless traced") {
  REQUIRE_FALSE(cuda_backend::Profiler::get().recording());
  bool named = false;
  {
    const cuda_backend::ProfiledLaunch timing([&] {
      named = true;
      return std::string("never");
    });
  }
  CHECK_FALSE(named);
  // HFC_CUDA_TRACE=1's switch: the name is made, to be printed, without recording.
  const cuda_backend::ScopedSetting trace(cuda_backend::Context::get().trace_launches, true);
  {
    const cuda_backend::ProfiledLaunch timing([&] {
      named = true;
      return std::string("traced");
    });
  }
  CHECK(named);
  CHECK_FALSE(cuda_backend::Profiler::get().recording());
}

TEST_CASE("profiler on the GPU: a convolution's forward is its im2col, one GEMM and the scatter, timed") {
  if (test::no_gpu()) return;
  Rng rng(3);
  const auto x = init::normal<float, cuda>(Shape{2, 3, 8, 8}, 0, 1, rng);
  const auto w = init::normal<float, cuda>(Shape{4, 3, 3, 3}, 0, 1, rng);
  const auto g = Conv2dGeometry::square(1, 1);
  auto& profiler = cuda_backend::Profiler::get();

  conv2d(x, w, Tensor<float, cuda>(), g);  // not recorded
  profiler.start();
  CHECK(profiler.stop().empty());

  const auto start = std::chrono::steady_clock::now();
  profiler.start();
  conv2d(x, w, Tensor<float, cuda>(), g);
  const auto times = profiler.stop();
  const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK_FALSE(profiler.recording());
  REQUIRE(times.size() == 3);
  const std::string gemm = std::string("cublasGemmEx 4x128x27 NN") +
                           (cuda_backend::Context::get().allow_tf32_convolution ? " tf32" : "");
  double total = 0;
  for (const char* name : {"Im2col<float>", gemm.c_str(), "ScatterOutput<float>"}) {
    INFO(name);
    const KernelTime* t = find(times, name);
    REQUIRE(t != nullptr);
    CHECK(t->calls == 1);
    CHECK(t->ms > 0);
    total += t->ms;
  }
  CHECK(total < wall);
}

TEST_CASE("profiler on the GPU: a timed call's own launches are not timed again and start() drops what was not collected") {
  if (test::no_gpu()) return;
  auto& profiler = cuda_backend::Profiler::get();
  auto t = Tensor<float, cuda>::zeros(Shape{1000});
  profiler.start();
  fill_n(cuda{}, t.data(), t.numel(), 1.0f);
  profiler.start();
  {
    const cuda_backend::ProfiledLaunch outer("outer");
    fill_n(cuda{}, t.data(), t.numel(), 2.0f);
    fill_n(cuda{}, t.data(), t.numel(), 3.0f);
  }
  fill_n(cuda{}, t.data(), t.numel(), 4.0f);
  const auto times = profiler.stop();
  REQUIRE(times.size() == 2);
  REQUIRE(find(times, "outer") != nullptr);
  CHECK(find(times, "outer")->calls == 1);
  REQUIRE(find(times, "Fill<float>") != nullptr);
  CHECK(find(times, "Fill<float>")->calls == 1);
  CHECK(t.to_vector()[999] == 4.0f);
}
