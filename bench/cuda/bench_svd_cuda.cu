// GPU benchmark: singular values (with U and V) of 32 square matrices, hfcnet's batched Jacobi
// kernels (one-sided in shared memory; Gram matrix with two-sided Jacobi; one-sided in registers)
// against cuSOLVER: gesvdjBatched (n <= 32 only), a loop of gesvdj (what
// torch.linalg.svdvals does above 32) and gesvdaStridedBatched (approximate, Gram-based).
#include <benchmark/benchmark.h>
#include <cusolverDn.h>

#include <vector>

#include <hfc/cuda.cuh>

namespace {

constexpr int kBatch = 32;

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

using hfc::cuda_backend::SvdAlgorithm;

// Our batched SVD by `algorithm` (with `lanes` lanes per column pair for the register kernel, 0:
// chosen by size), with U and V or singular values alone.
void hfc_svd(benchmark::State& state, SvdAlgorithm algorithm, int lanes, bool vectors) {
  if (!need_gpu(state)) return;
  auto& context = hfc::cuda_backend::Context::get();
  const hfc::cuda_backend::ScopedSetting chosen(context.svd_algorithm, algorithm);
  const hfc::cuda_backend::ScopedSetting lanes_setting(context.svd_lanes_per_pair, lanes);
  const int n = static_cast<int>(state.range(0));
  const auto a = random_batch(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hfc::svd(a, vectors).S.data());
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

// One-sided Jacobi with the matrix in shared memory, a warp per column pair (svd.cuh).
void BM_HfcSvdOneSided(benchmark::State& s) { hfc_svd(s, SvdAlgorithm::one_sided_jacobi, 0, true); }
void BM_HfcSvdOneSidedValues(benchmark::State& s) { hfc_svd(s, SvdAlgorithm::one_sided_jacobi, 0, false); }
// The Gram matrix's two-sided Jacobi in double (svd_gram.cuh).
void BM_HfcSvdGram(benchmark::State& s) { hfc_svd(s, SvdAlgorithm::gram_jacobi, 0, true); }
// One-sided Jacobi in registers (svd_registers.cuh, the default), lanes per column pair chosen by
// size (second argument 0) or given: which G to choose.
void BM_HfcSvdRegisters(benchmark::State& s) {
  hfc_svd(s, SvdAlgorithm::register_jacobi, static_cast<int>(s.range(1)), true);
}
void BM_HfcSvdRegistersValues(benchmark::State& s) { hfc_svd(s, SvdAlgorithm::register_jacobi, 0, false); }

#define HFC_SVD_SIZES Arg(14)->Arg(28)->Arg(32)->Arg(56)->Arg(112)
BENCHMARK(BM_HfcSvdOneSided)->HFC_SVD_SIZES->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HfcSvdGram)->HFC_SVD_SIZES->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HfcSvdRegisters)
    ->Args({14, 0})->Args({28, 0})->Args({32, 0})->Args({56, 0})->Args({112, 0})
    ->Args({56, 4})->Args({56, 16})->Args({56, 32})->Args({112, 8})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HfcSvdOneSidedValues)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HfcSvdRegistersValues)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

// cuSOLVER overwrites its input: each call gets a fresh copy of `a` in `input`.
struct CusolverBuffers {
  explicit CusolverBuffers(int n)
      : a(random_batch(n)),
        input(a.clone()),
        s(hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n})),
        u(hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{kBatch, n, n})),
        v(u.clone()),
        info(hfc::Tensor<int, hfc::cuda>::empty(hfc::Shape{kBatch})) {}
  void refresh_input() { hfc::cuda_backend::copy_n(hfc::cuda{}, a.data(), a.numel(), input.data()); }
  int* info_data() { return info.data(); }
  hfc::Tensor<float, hfc::cuda> a, input, s, u, v;
  hfc::Tensor<int, hfc::cuda> info;  // cuSOLVER status per matrix
};

// The context's cuSOLVER handle, on the context's stream, so that its calls are ordered after the
// input copies queued there.
struct Solver {
  cusolverDnHandle_t handle = hfc::cuda_backend::Context::get().cusolver();
  gesvdjInfo_t params{};
  Solver() { HFC_CUSOLVER_CHECK(cusolverDnCreateGesvdjInfo(&params)); }
  ~Solver() { cusolverDnDestroyGesvdjInfo(params); }
};

void BM_CusolverGesvdjBatched(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  CusolverBuffers m(n);
  Solver solver;
  int lwork = 0;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdjBatched_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, m.input.data(), n,
                                                         m.s.data(), m.u.data(), n, m.v.data(), n, &lwork, solver.params,
                                                         kBatch));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  for (auto _ : state) {
    m.refresh_input();
    HFC_CUSOLVER_CHECK(cusolverDnSgesvdjBatched(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, m.input.data(), n,
                                                m.s.data(), m.u.data(), n, m.v.data(), n, work.data(), lwork,
                                                m.info_data(), solver.params, kBatch));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdjBatched)->Arg(14)->Arg(28)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CusolverGesvdjLoop(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  CusolverBuffers m(n);
  Solver solver;
  int lwork = 0;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdj_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, n, n, m.input.data(), n,
                                                  m.s.data(), m.u.data(), n, m.v.data(), n, &lwork, solver.params));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  for (auto _ : state) {
    m.refresh_input();
    for (int b = 0; b < kBatch; ++b)
      HFC_CUSOLVER_CHECK(cusolverDnSgesvdj(solver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, n, n, m.input.data() + b * n * n, n,
                                          m.s.data() + b * n, m.u.data() + b * n * n, n, m.v.data() + b * n * n, n,
                                          work.data(), lwork, m.info_data() + b, solver.params));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdjLoop)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CusolverGesvdaStridedBatched(benchmark::State& state) {
  if (!need_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  CusolverBuffers m(n);  // gesvda leaves its input intact
  Solver solver;
  int lwork = 0;
  const long long nn = static_cast<long long>(n) * n;
  HFC_CUSOLVER_CHECK(cusolverDnSgesvdaStridedBatched_bufferSize(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, n,
                                                                m.a.data(), n, nn, m.s.data(), n, m.u.data(), n, nn,
                                                                m.v.data(), n, nn, &lwork, kBatch));
  auto work = hfc::Tensor<float, hfc::cuda>::empty(hfc::Shape{lwork});
  std::vector<double> residual(kBatch);
  for (auto _ : state) {
    HFC_CUSOLVER_CHECK(cusolverDnSgesvdaStridedBatched(solver.handle, CUSOLVER_EIG_MODE_VECTOR, n, n, n, m.a.data(), n,
                                                       nn, m.s.data(), n, m.u.data(), n, nn, m.v.data(), n, nn,
                                                       work.data(), lwork, m.info_data(), residual.data(), kBatch));
    HFC_CUDA_CHECK(cudaDeviceSynchronize());
  }
}
BENCHMARK(BM_CusolverGesvdaStridedBatched)->Arg(56)->Arg(112)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
