// Google Benchmark: the data pipeline at the paper's 224 px, in images per second, against what a
// training step consumes (a 224-px ResNet18 + HFC step takes batch 32 in about 2.5 s on this
// machine's two cores: 13 images/s, docs/performance.md). One epoch of BatchLoader over 512
// synthetic faces, batch 32, two workers:
//   InMemory - decoded 48x48 images: bilinear resize to 224, normalise, batch;
//   FromPng  - the same faces as PNG files in the CK+48 layout, decoded on the workers (lazy).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <numeric>

#include <hfc/data/all.hpp>
#include <hfc/hfc.hpp>

namespace {

constexpr std::size_t kImages = 512;

void run_epochs(benchmark::State& state, const hfc::Dataset& data) {
  std::vector<std::size_t> indices(data.size());
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  hfc::BatchLoader loader(data, indices, hfc::ImageTransform({.size = 224, .flip = true}),
                          {.batch_size = 32, .seed = 1, .threads = 2});
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    loader.start_epoch(epoch++);
    while (auto batch = loader.next()) benchmark::DoNotOptimize(batch->images.data());
  }
  state.counters["images/s"] =
      benchmark::Counter(double(data.size()), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DataPipeline224_InMemory(benchmark::State& state) {
  run_epochs(state, hfc::make_synthetic(kImages, 3));
}

void BM_DataPipeline224_FromPng(benchmark::State& state) {
  const auto root = std::filesystem::temp_directory_path() / "hfc_bench_data_ck48";
  std::filesystem::remove_all(root);
  hfc::write_image_folder(hfc::make_synthetic(kImages, 3), root);
  run_epochs(state, hfc::read_ck48(root, {.lazy = true}));
  std::filesystem::remove_all(root);
}

BENCHMARK(BM_DataPipeline224_InMemory)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_DataPipeline224_FromPng)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
