// Google Benchmark: every component of the HFC module and the whole module, forward and
// forward+backward, batch 32, at the paper's (C, H=W) in {(64,112), (64,56), (128,28), (256,14)}.
// bench/compare_cpu.py runs this beside the PyTorch implementation and writes the table in
// docs/performance.md.
#include <benchmark/benchmark.h>

#include <hfc/hfc.hpp>

namespace {

constexpr std::int64_t kBatch = 32;

template <class T = float>
hfc::Tensor<T> randn(const hfc::Shape& s, std::uint64_t seed = 1) {
  hfc::Rng rng(seed);
  return hfc::init::normal<T>(s, 0.0, 1.0, rng);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, hw] : {std::pair{64, 112}, {64, 56}, {128, 28}, {256, 14}}) b->Args({c, hw});
  b->ArgNames({"C", "HW"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_Filter(benchmark::State& state) {
  const auto hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, 1, hw, hw});
  for (auto _ : state) benchmark::DoNotOptimize(hfc::frequency_filter(x, hfc::IdealHighPass{0.25}).data());
}
BENCHMARK(BM_Filter)->Apply(shapes);

// A filter with no band to exploit: FFTW's r2c and c2r (the ideal one above takes the band path).
void BM_FilterGaussian(benchmark::State& state) {
  const auto hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, 1, hw, hw});
  for (auto _ : state) benchmark::DoNotOptimize(hfc::frequency_filter(x, hfc::GaussianHighPass{0.25}).data());
}
BENCHMARK(BM_FilterGaussian)->Apply(shapes);

void BM_SvdValues(benchmark::State& state) {
  const auto hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, hw, hw});
  for (auto _ : state) benchmark::DoNotOptimize(hfc::svd(x, false).S.data());
}
BENCHMARK(BM_SvdValues)->Apply(shapes);

void BM_SvdWithVectors(benchmark::State& state) {
  const auto hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, hw, hw});
  for (auto _ : state) benchmark::DoNotOptimize(hfc::svd(x).U.data());
}
BENCHMARK(BM_SvdWithVectors)->Apply(shapes);

void BM_SvdBackward(benchmark::State& state) {
  const auto hw = state.range(1);
  const auto r = hfc::svd(randn(hfc::Shape{kBatch, hw, hw}));
  const auto ds = randn(r.S.shape(), 2);
  for (auto _ : state) benchmark::DoNotOptimize(hfc::svd_backward(r, ds).data());
}
BENCHMARK(BM_SvdBackward)->Apply(shapes);

void BM_CorrelationFwdBwd(benchmark::State& state) {
  const auto hw = state.range(1);
  const std::vector<hfc::SigmaPair<float, hfc::cpu>> pairs = {{randn(hfc::Shape{kBatch, hw}), randn(hfc::Shape{kBatch, hw}, 2)}};
  const auto dm = randn(hfc::Shape{kBatch, 1, hw, hw}, 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hfc::correlation(pairs, hw, hw).data());
    benchmark::DoNotOptimize(hfc::correlation_backward(dm, pairs).front().query.data());
  }
}
BENCHMARK(BM_CorrelationFwdBwd)->Apply(shapes);

void BM_PointwiseConvFwdBwd(benchmark::State& state) {
  const auto c = state.range(0), hw = state.range(1);
  hfc::Conv2d<float> conv(hfc::Conv2dOptions::square(c, 1, 1, 1, 0, false));
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  const auto dy = randn(hfc::Shape{kBatch, 1, hw, hw}, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(conv.forward(x).data());
    benchmark::DoNotOptimize(conv.backward(dy).data());
  }
}
BENCHMARK(BM_PointwiseConvFwdBwd)->Apply(shapes);

void BM_Conv7x7FwdBwd(benchmark::State& state) {
  const auto hw = state.range(1);
  hfc::Conv2d<float> conv(hfc::Conv2dOptions::square(1, 1, 7, 1, 3, false));
  const auto x = randn(hfc::Shape{kBatch, 1, hw, hw});
  for (auto _ : state) {
    const auto y = conv.forward(x);
    benchmark::DoNotOptimize(conv.backward(y).data());
  }
}
BENCHMARK(BM_Conv7x7FwdBwd)->Apply(shapes);

// ResNet18's 3x3 stride-1 convolutions at 224 px (layer1 to layer4: C -> C, padding 1), where the
// GEMMs do the work: Winograd down to 8x8 maps, im2col + GEMM below.
void BM_Conv3x3FwdBwd(benchmark::State& state) {
  const std::int64_t c = state.range(0), hw = state.range(1);
  hfc::Conv2d<float> conv(hfc::Conv2dOptions::square(c, c, 3, 1, 1, false));
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  for (auto _ : state) {
    const auto y = conv.forward(x);
    benchmark::DoNotOptimize(conv.backward(y).data());
  }
}
BENCHMARK(BM_Conv3x3FwdBwd)
    ->Args({64, 56})->Args({128, 28})->Args({256, 14})->Args({512, 7})
    ->ArgNames({"C", "HW"})->Unit(benchmark::kMillisecond)->UseRealTime();

// MobileNetV2's maps at 48 px (FER2013's size), where planes are small: (C, H=W) from the first
// block's 32 x 24 x 24 to the last blocks' 960 x 2 x 2.
void mobilenet_48px_shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, hw] : {std::pair{32, 24}, {144, 12}, {192, 6}, {576, 3}, {960, 2}}) b->Args({c, hw});
  b->ArgNames({"C", "HW"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

// A layer's forward and backward on [32, C, HW, HW] maps with the output's shape unchanged; items
// are the input's values.
template <class Layer>
void forward_backward(benchmark::State& state, Layer& layer) {
  const std::int64_t c = state.range(0), hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  const auto dy = randn(hfc::Shape{kBatch, c, hw, hw}, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(layer.forward(x).data());
    benchmark::DoNotOptimize(layer.backward(dy).data());
  }
  state.SetItemsProcessed(state.iterations() * x.numel());
}

// BatchNorm2d with its ReLU6 in training mode (batch statistics).
void BM_BatchNormReLU6FwdBwd(benchmark::State& state) {
  hfc::BatchNorm2d<float> bn(state.range(0), hfc::BatchNormActivation::relu6);
  forward_backward(state, bn);
}
BENCHMARK(BM_BatchNormReLU6FwdBwd)->Apply(mobilenet_48px_shapes);

// MobileNetV2's 3x3 depthwise convolution, stride 1.
void BM_DepthwiseConvFwdBwd(benchmark::State& state) {
  const std::int64_t c = state.range(0);
  hfc::Conv2d<float> conv(hfc::Conv2dOptions::square(c, c, 3, 1, 1, false, c));
  forward_backward(state, conv);
}
BENCHMARK(BM_DepthwiseConvFwdBwd)->Apply(mobilenet_48px_shapes);

void BM_GateFwdBwd(benchmark::State& state) {
  const auto c = state.range(0), hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  const auto z = randn(hfc::Shape{kBatch, 1, hw, hw}, 2);
  for (auto _ : state) {
    const auto g = hfc::sigmoid_gate(z, x);
    benchmark::DoNotOptimize(hfc::sigmoid_gate_backward(g.y, x, g.gate).dx.data());
  }
}
BENCHMARK(BM_GateFwdBwd)->Apply(shapes);

// What the module runs: the gate's forward, its backward to z alone, and one pass for dx of both
// branches (gate and pointwise conv) with the pointwise weight's gradient.
void BM_GateAndProjectionFwdBwd(benchmark::State& state) {
  const auto c = state.range(0), hw = state.range(1);
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  const auto z = randn(hfc::Shape{kBatch, 1, hw, hw}, 2), dk = randn(z.shape(), 3);
  const auto weight = randn(hfc::Shape{1, c, 1, 1}, 4);
  auto dweight = hfc::Tensor<float>::zeros(weight.shape());
  for (auto _ : state) {
    const auto g = hfc::sigmoid_gate(z, x);
    hfc::GateGradients<float, hfc::cpu> dz_only{hfc::Tensor<float>(), hfc::Tensor<float>::empty(z.shape())};
    hfc::sigmoid_gate_backward(g.y, x, g.gate, dz_only);
    auto dx = hfc::Tensor<float>::empty(x.shape());
    hfc::gated_projection_backward(g.y, x, g.gate, weight, dk, dx, dweight);
    benchmark::DoNotOptimize(dx.data());
  }
}
BENCHMARK(BM_GateAndProjectionFwdBwd)->Apply(shapes);

void BM_ModuleFwd(benchmark::State& state) {
  const auto c = state.range(0), hw = state.range(1);
  hfc::HfcAttention<float> att(c);
  att.eval();
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  hfc::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(att.forward(x).data());
}
BENCHMARK(BM_ModuleFwd)->Apply(shapes);

void BM_ModuleFwdBwd(benchmark::State& state) {
  const auto c = state.range(0), hw = state.range(1);
  hfc::HfcAttention<float> att(c);
  const auto x = randn(hfc::Shape{kBatch, c, hw, hw});
  const auto dy = randn(x.shape(), 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(att.forward(x).data());
    benchmark::DoNotOptimize(att.backward(dy).data());
  }
}
BENCHMARK(BM_ModuleFwdBwd)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
