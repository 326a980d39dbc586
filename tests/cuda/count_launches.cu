// What a training step launches on the GPU, counted without a GPU: the cuda backend's algorithms run
// on the host executor with their work skipped (host_executor.cuh's LaunchCounter), one step of each
// network at batch 32 (the benchmarks' step: zero_grad, forward, cross-entropy, backward, Adam)
// after a first one. The counts behind docs/performance.md's launches per step; a developer's tool,
// not a test.
//   hfc_count_launches [--px 224] [--conv-workspace-mb MB] [--by-name]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "host_executor.cuh"

#include "../../bench/training_step.hpp"

namespace {

using namespace hfc;
using B = cuda_backend::cuda_on_host;
using Counts = std::map<std::string, std::int64_t>;

// The benchmarks' training step (bench/training_step.hpp), built for real and then run twice with
// the work skipped; the second step's launches.
template <class Net>
Counts count_step(Attention attention, std::int64_t px) {
  bench::TrainingStep<Net> training(attention, px);
  const cuda_backend::LaunchCounter counter(/*skip_work=*/true);
  training.step();  // buffers made on first use (optimiser state) count once, as on the GPU's first step
  auto& counts = cuda_backend::LaunchCounter::active()->by_name;
  counts.clear();
  training.step();
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kernel launches, GEMMs and per-channel sums of one training step of each network at batch 32, "
               "counted by running the cuda backend's algorithms on the host with their work skipped (no GPU "
               "needed)."};
  std::int64_t px = 224, workspace_mb = 0;
  bool by_name = false;
  app.add_option("--px", px, "image size")->check(CLI::Range(32, 1024))->capture_default_str();
  app.add_option("--conv-workspace-mb", workspace_mb,
                 "the convolutions' im2col workspace (Context::conv_workspace_bytes); 0 keeps the default")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--by-name", by_name, "each network's launches by kernel, GEMM kind and sum");
  CLI11_PARSE(app, argc, argv);
  auto& context = cuda_backend::Context::get();
  if (workspace_mb > 0) context.conv_workspace_bytes = std::size_t(workspace_mb) << 20;

  struct Row {
    const char* name;
    Counts counts;
  };
  const std::vector<Row> rows{
      {"ResNet18", count_step<ResNet18<float, B>>(Attention::none, px)},
      {"ResNet18 + HFC", count_step<ResNet18<float, B>>(Attention::hfc, px)},
      {"MobileNetV2", count_step<MobileNetV2<float, B>>(Attention::none, px)},
      {"MobileNetV2 + HFC", count_step<MobileNetV2<float, B>>(Attention::hfc, px)},
  };
  std::printf("Per training step at %lld px, batch 32, conv workspace %zu MB. \"launches\": kernels, GEMMs and "
              "per-channel sums; SVDs and frequency filters (cuFFT R2C, a kernel, C2R each) apart; copies not "
              "counted.\n\n| network | launches | SVDs | frequency filters |\n|---|---|---|---|\n",
              static_cast<long long>(px), context.conv_workspace_bytes >> 20);
  for (const auto& row : rows) {
    std::int64_t launches = 0, svds = 0, filters = 0;
    for (const auto& [name, n] : row.counts) {
      if (name == "svd") svds += n;
      else if (name == "frequency filter") filters += n;
      else launches += n;
    }
    std::printf("| %s | %lld | %lld | %lld |\n", row.name, static_cast<long long>(launches),
                static_cast<long long>(svds), static_cast<long long>(filters));
  }
  if (by_name)
    for (const auto& row : rows) {
      std::printf("\n%s:\n", row.name);
      for (const auto& [name, n] : row.counts) std::printf("%6lld  %s\n", static_cast<long long>(n), name.c_str());
    }
  return 0;
}
