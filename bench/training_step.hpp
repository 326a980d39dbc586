#pragma once
// One training step (forward, cross-entropy, backward, Adam) of a network at batch 32, for any
// backend: the Google Benchmark body of bench_networks.cpp (cpu) and cuda/bench_networks_cuda.cu
// (GPU), and cuda/profile_cuda.cu's profiled steps.
// Include after the backend's headers (hfc/hfc.hpp or hfc/cuda.cuh).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace hfc::bench {

inline constexpr std::int64_t kBatch = 32;

// The network, its optimiser and a fixed batch of px x px images; step() runs one step and returns
// the loss (on the GPU, the loss is read back, so the forward has finished; the rest may still run).
template <class Net>
class TrainingStep {
 public:
  using B = typename Net::backend_type;
  TrainingStep(Attention attention, std::int64_t px)
      : rng_(1),
        net_({.in_channels = 1, .num_classes = 7, .attention = attention}, rng_),
        opt_(parameters(net_), {.lr = 1e-4}),
        images_(init::normal<float, B>(Shape{kBatch, 1, px, px}, 0, 1, rng_)),
        targets_(labels().template to<B>()) {}
  TrainingStep(const TrainingStep&) = delete;  // the optimiser points into the network
  TrainingStep& operator=(const TrainingStep&) = delete;
  double step() {
    opt_.zero_grad();
    const auto loss = cross_entropy(net_.forward(images_), targets_);
    net_.backward(loss.grad);
    opt_.step();
    return loss.loss;
  }

 private:
  static Tensor<std::int64_t, cpu> labels() {
    std::vector<std::int64_t> labels(kBatch);
    for (std::int64_t i = 0; i < kBatch; ++i) labels[std::size_t(i)] = i % 7;
    return Tensor<std::int64_t, cpu>::from(Shape{kBatch}, labels);
  }
  Rng rng_;
  Net net_;
  Adam<float, B> opt_;
  Tensor<float, B> images_;
  Tensor<std::int64_t, B> targets_;
};

// The benchmark body: state.range(0) is the image size. `finish` runs after each step: nothing on
// the cpu, a stream synchronisation on the GPU so that each iteration is timed whole.
template <class Net, class Finish>
void train_step(benchmark::State& state, Attention attention, Finish&& finish) {
  TrainingStep<Net> training(attention, state.range(0));
  auto step = [&] {
    const double loss = training.step();
    finish();
    return loss;
  };
  step();  // warm-up: first-touch allocations, FFT plans, cuBLAS's heuristics
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["images/s"] = benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace hfc::bench
