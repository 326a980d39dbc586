// GPU benchmark: the HFC module forward and forward+backward at the paper's shapes (batch 32),
// and one training step of each network at 224 px (batch 32, Adam), on hfc::cuda. Convolutions
// use TF32 as PyTorch's cuDNN does by default. bench/cuda/gpu_check.sh runs this beside
// PyTorch (bench/cuda/pytorch_gpu_bench.py) and prints the table for docs/performance.md.
#include <benchmark/benchmark.h>

#include <hfc/cuda.cuh>

#include "../training_step.hpp"

namespace {

bool need_gpu(benchmark::State& state) {
  if (hfc::cuda_backend::device_available()) return true;
  state.SkipWithError("no CUDA device");
  return false;
}
void synchronize() { hfc::cuda_backend::Context::get().synchronize(); }

void shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, hw] : {std::pair{64, 112}, {64, 56}, {128, 28}, {256, 14}}) b->Args({c, hw});
  b->ArgNames({"C", "HW"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_CudaModuleFwd(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const auto c = state.range(0), hw = state.range(1);
  hfc::Rng rng(1);
  hfc::HfcAttention<float, hfc::cuda> att(c, {}, rng);
  att.eval();
  const auto x = hfc::init::normal<float, hfc::cuda>(hfc::Shape{hfc::bench::kBatch, c, hw, hw}, 0, 1, rng);
  hfc::NoGradGuard no_grad;
  att.forward(x);
  synchronize();
  for (auto _ : state) {
    benchmark::DoNotOptimize(att.forward(x).data());
    synchronize();
  }
}
BENCHMARK(BM_CudaModuleFwd)->Apply(shapes);

void BM_CudaModuleFwdBwd(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const auto c = state.range(0), hw = state.range(1);
  hfc::Rng rng(1);
  hfc::HfcAttention<float, hfc::cuda> att(c, {}, rng);
  const auto x = hfc::init::normal<float, hfc::cuda>(hfc::Shape{hfc::bench::kBatch, c, hw, hw}, 0, 1, rng);
  const auto dy = hfc::init::normal<float, hfc::cuda>(x.shape(), 0, 1, rng);
  auto step = [&] {
    benchmark::DoNotOptimize(att.forward(x).data());
    benchmark::DoNotOptimize(att.backward(dy).data());
    synchronize();
  };
  step();
  for (auto _ : state) step();
}
BENCHMARK(BM_CudaModuleFwdBwd)->Apply(shapes);

// The same with the Gram-Jacobi SVD (svd_gram.cuh) and the shared-memory one-sided kernel (svd.cuh)
// in place of the default register kernel, to choose Context::svd_algorithm's default.
void BM_CudaModuleFwdBwd_GramSvd(benchmark::State& state) {
  const hfc::cuda_backend::ScopedSetting gram(hfc::cuda_backend::Context::get().svd_algorithm,
                                              hfc::cuda_backend::SvdAlgorithm::gram_jacobi);
  BM_CudaModuleFwdBwd(state);
}
BENCHMARK(BM_CudaModuleFwdBwd_GramSvd)->Apply(shapes);

void BM_CudaModuleFwdBwd_OneSidedSvd(benchmark::State& state) {
  const hfc::cuda_backend::ScopedSetting one_sided(hfc::cuda_backend::Context::get().svd_algorithm,
                                                   hfc::cuda_backend::SvdAlgorithm::one_sided_jacobi);
  BM_CudaModuleFwdBwd(state);
}
BENCHMARK(BM_CudaModuleFwdBwd_OneSidedSvd)->Apply(shapes);

template <class Net>
void step(benchmark::State& state, hfc::Attention attention) {
  if (!need_gpu(state)) return;
  hfc::bench::train_step<Net>(state, attention, synchronize);
}
using ResNet18 = hfc::ResNet18<float, hfc::cuda>;
using MobileNetV2 = hfc::MobileNetV2<float, hfc::cuda>;
void BM_CudaResNet18(benchmark::State& s) { step<ResNet18>(s, hfc::Attention::none); }
void BM_CudaResNet18_HFC(benchmark::State& s) { step<ResNet18>(s, hfc::Attention::hfc); }
void BM_CudaResNet18_BAM(benchmark::State& s) { step<ResNet18>(s, hfc::Attention::bam_official); }
void BM_CudaMobileNetV2(benchmark::State& s) { step<MobileNetV2>(s, hfc::Attention::none); }
void BM_CudaMobileNetV2_HFC(benchmark::State& s) { step<MobileNetV2>(s, hfc::Attention::hfc); }
// The HFC networks with the shared-memory one-sided SVD (svd.cuh) in place of the default.
template <class Net>
void step_one_sided_svd(benchmark::State& state) {
  const hfc::cuda_backend::ScopedSetting one_sided(hfc::cuda_backend::Context::get().svd_algorithm,
                                                   hfc::cuda_backend::SvdAlgorithm::one_sided_jacobi);
  step<Net>(state, hfc::Attention::hfc);
}
void BM_CudaResNet18_HFC_OneSidedSvd(benchmark::State& s) { step_one_sided_svd<ResNet18>(s); }
void BM_CudaMobileNetV2_HFC_OneSidedSvd(benchmark::State& s) { step_one_sided_svd<MobileNetV2>(s); }
// ResNet18 + HFC with the convolutions' im2col workspace (Context::conv_workspace_bytes) cut from
// 256 MB to L2 size and below: layer1's columns (7.2 MB a sample) then go 4 or 1 samples at a time,
// in more, smaller GEMMs whose columns may stay in the L2 cache.
template <std::size_t MiB>
void step_with_conv_workspace(benchmark::State& state) {
  const hfc::cuda_backend::ScopedSetting workspace(hfc::cuda_backend::Context::get().conv_workspace_bytes, MiB << 20);
  step<ResNet18>(state, hfc::Attention::hfc);
}
void BM_CudaResNet18_HFC_ConvWorkspace32MB(benchmark::State& s) { step_with_conv_workspace<32>(s); }
void BM_CudaResNet18_HFC_ConvWorkspace8MB(benchmark::State& s) { step_with_conv_workspace<8>(s); }
#define HFC_CUDA_NETWORK_BENCH(fn) BENCHMARK(fn)->Arg(224)->Unit(benchmark::kMillisecond)->UseRealTime()
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18);
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18_HFC);
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18_BAM);
HFC_CUDA_NETWORK_BENCH(BM_CudaMobileNetV2);
HFC_CUDA_NETWORK_BENCH(BM_CudaMobileNetV2_HFC);
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18_HFC_OneSidedSvd);
HFC_CUDA_NETWORK_BENCH(BM_CudaMobileNetV2_HFC_OneSidedSvd);
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18_HFC_ConvWorkspace32MB);
HFC_CUDA_NETWORK_BENCH(BM_CudaResNet18_HFC_ConvWorkspace8MB);

}  // namespace

BENCHMARK_MAIN();
