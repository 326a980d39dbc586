#pragma once
// One training step (forward, cross-entropy, backward, Adam) of a network at batch 32, as a
// Google Benchmark body for any backend: bench_networks.cpp (cpu) and
// cuda/bench_networks_cuda.cu (GPU) share it. `finish` runs after each step: nothing on the cpu,
// a stream synchronisation on the GPU so that each iteration is timed whole.
// Include after the backend's headers (hfc/hfc.hpp or hfc/cuda.cuh).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace hfc::bench {

inline constexpr std::int64_t kBatch = 32;

template <class Net, class Finish>
void train_step(benchmark::State& state, Attention attention, Finish&& finish) {
  using B = typename Net::backend_type;
  const std::int64_t px = state.range(0);
  Rng rng(1);
  Net net({.in_channels = 1, .num_classes = 7, .attention = attention}, rng);
  Adam<float, B> opt(parameters(net), {.lr = 1e-4});
  const auto images = init::normal<float, B>(Shape{kBatch, 1, px, px}, 0, 1, rng);
  std::vector<std::int64_t> labels(kBatch);
  for (std::int64_t i = 0; i < kBatch; ++i) labels[std::size_t(i)] = i % 7;
  const auto targets = Tensor<std::int64_t, cpu>::from(Shape{kBatch}, labels).template to<B>();
  auto step = [&] {
    opt.zero_grad();
    const auto loss = cross_entropy(net.forward(images), targets);
    net.backward(loss.grad);
    opt.step();
    finish();
    return loss.loss;
  };
  step();  // warm-up: first-touch allocations, FFT plans, cuBLAS's heuristics
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["images/s"] = benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace hfc::bench
