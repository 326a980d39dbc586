// GPU benchmark: singular values (with U and V) of 32 square matrices, hfcnet's batched Jacobi
// kernel against cuSOLVER: gesvdjBatched (n <= 32 only), a loop of gesvdj (what
// torch.linalg.svdvals does above 32) and gesvdaStridedBatched (approximate, Gram-based).
#include <benchmark/benchmark.h>
#include <cusolverDn.h>

#include <vector>

#include <hfc/cuda.cuh>

namespace {

constexpr int kBatch = 32;

#define HFC_CUSOLVER_CHECK(call)                                                              \
  do {                                                                                        \
    const cusolverStatus_t status_ = (call);                                                  \
    if (status_ != CUSOLVER_STATUS_SUCCESS) hfc::fail("cuSOLVER status ", int(status_), " in ", #call); \
  } while (0)

hfc::Tensor<float, hfc::cuda> random_batch(int n) {
  hfc::Rng rng(1);
  std::vector<float> host(static_cast<std::size_t>(kBatch) * n * n);
  for (auto& x : host) x = static_cast<float>(rng.normal());
  return hfc::Tensor<float, hfc::cuda>::from(hfc::Shape{kBatch, n, n}, host);
}

bool need_gpu(benchmark::State& state) {
  if (hfc::cuda_backend::device_available()) return true;
  state.SkipWithError("no CUDA device");
  return false;
}

void BM_HfcSvd(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hfc::svd(a).S.data());
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_HfcSvd)->Arg(14)->Arg(28)->Arg(32)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HfcSvdValues(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hfc::svd(a, false).S.data());
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_HfcSvdValues)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

struct Solver {
  cusolverDnHandle_t handle{};
  gesvdjInfo_t params{};
  Solver() {
    HFC_CUSOLVER_CHECK(cusolverDnCreate(&handle));
    HFC_CUSOLVER_CHECK(cusolverDnCreateGesvdjInfo(&params));
  }
  ~Solver() {
    cusolverDnDestroyGesvdjInfo(params);
    cusolverDnDestroy(handle);
  }
};

void BM_CusolverGesvdjBatched(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  auto work_a = a.clone();
  auto s = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n});
  auto u = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n, n}), v = u.clone();
  auto info = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch});
  Solver solver;
  int lwork = 0;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdjBatched_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, work_a.data(), n,
                                                         s.data(), u.data(), n, v.data(), n, &lwork, solver.params, kBatch));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  for (auto _ : state) {
    hfc::cuda_backend::copy_n(hfc::cuda{}, a.data(), a.numel(), work_a.data());
    HFC_CUSOLVER_CHECK(cusolverDnSgesvdjBatched(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, work_a.data(), n, s.data(),
                                                u.data(), n, v.data(), n, work.data(), lwork,
                                                reinterpret_cast<int*>(info.data()), solver.params, kBatch));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdjBatched)->Arg(14)->Arg(28)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CusolverGesvdjLoop(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  auto work_a = a.clone();
  auto s = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n});
  auto u = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n, n}), v = u.clone();
  auto info = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch});
  Solver solver;
  int lwork = 0;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdj_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, n, n, work_a.data(), n,
                                                  s.data(), u.data(), n, v.data(), n, &lwork, solver.params));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  for (auto _ : state) {
    hfc::cuda_backend::copy_n(hfc::cuda{}, a.data(), a.numel(), work_a.data());
    for (int b = 0; b < kBatch; ++b)
      HFC_CUSOLVER_CHECK(cusolverDnSgesvdj(solver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, n, n, work_a.data() + b * n * n, n,
                                          s.data() + b * n, u.data() + b * n * n, n, v.data() + b * n * n, n, work.data(),
                                          lwork, reinterpret_cast<int*>(info.data()) + b, solver.params));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdjLoop)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CusolverGesvdaStridedBatched(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  auto s = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n});
  auto u = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n, n}), v = u.clone();
  auto info = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch});
  Solver solver;
  int lwork = 0;
  const long long nn = static_cast<long long>(n) * n;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdaStridedBatched_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, n,
                                                                a.data(), n, nn, s.data(), n, u.data(), n, nn, v.data(),
                                                                n, nn, &lwork, kBatch));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  std::vector<double> residual(kBatch);
  for (auto _ : state) {
    HFC_CUSOLVER_CHECK(cusolverDnSgesvdaStridedBatched(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, n, a.data(), n, nn,
                                                       s.data(), n, u.data(), n, nn, v.data(), n, nn, work.data(), lwork,
                                                       reinterpret_cast<int*>(info.data()), residual.data(), kBatch));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdaStridedBatched)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
