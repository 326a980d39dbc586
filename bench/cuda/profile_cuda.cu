// Where a GPU step's time goes, kernel by kernel: the HFC module's forward+backward at
// (32, 64, 56, 56) and a training step (forward, cross-entropy, backward, Adam) of each network at
// batch 32, through hfc::cuda's profiler (backend/cuda/profiler.cuh). Prints markdown: per case the
// step's wall time (unprofiled), the GPU's kernel and copy time in it (profiled; what the wall time
// has more is the GPU waiting for the host: launches, the loss's read-back), the time until the
// host returns from the step (it waits for the loss after the forward), and the kernels by kind and
// by name.
// bench/cuda/gpu_check.sh appends its output to the check's tables.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <hfc/cuda.cuh>

#include "../training_step.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using hfc::cuda_backend::Context;
using hfc::cuda_backend::Profiler;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Options {
  std::int64_t px = 224;
  int steps = 3, top = 12;
  std::string only;
  bool wanted(const std::string& name) const { return only.empty() || name.find(only) != std::string::npos; }
};

// Times `step` unprofiled (medians of 5: host time to queue it, wall time to finish it), then
// profiles `options.steps` of them, and prints the tables.
void report(const std::string& name, const std::function<void()>& step, const Options& options) {
  for (int i = 0; i < 2; ++i) step();  // warm-up: allocations, FFT plans, cuBLAS's heuristics
  Context::get().synchronize();
  std::vector<double> host, wall;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    step();
    host.push_back(ms_since(start));
    Context::get().synchronize();
    wall.push_back(ms_since(start));
  }
  Profiler& profiler = Profiler::get();
  profiler.start();
  for (int i = 0; i < options.steps; ++i) step();
  const auto times = profiler.stop();
  double kernels = 0;
  for (const auto& t : times) kernels += t.ms;
  const double step_ms = median(wall), kernel_ms = kernels / options.steps;
  std::printf("\n### %s\n\nA step: %.3f ms wall; GPU kernels and copies %.3f ms of it (profiled, %d steps), so the "
              "GPU waits for the host %.3f ms; the host is done with the step after %.3f ms.\n\nBy kind:\n\n",
              name.c_str(), step_ms, kernel_ms, options.steps, std::max(step_ms - kernel_ms, 0.0), median(host));
  const hfc::cuda_backend::ProfileTableOptions table{.top = options.top, .steps = double(options.steps)};
  std::cout << hfc::cuda_backend::profile_table(hfc::cuda_backend::by_kind(times), table) << "\nBy name:\n\n"
            << hfc::cuda_backend::profile_table(times, table) << std::flush;
}

template <class Net>
void network(const std::string& name, hfc::Attention attention, const Options& options) {
  if (!options.wanted(name)) return;
  hfc::bench::TrainingStep<Net> training(attention, options.px);
  report(name + ", " + std::to_string(options.px) + " px", [&] { training.step(); }, options);
}

void attention_module(const Options& options) {
  const std::string name = "HFC module forward+backward, (32, 64, 56, 56)";
  if (!options.wanted(name)) return;
  hfc::Rng rng(1);
  hfc::HfcAttention<float, hfc::cuda> att(64, {}, rng);
  const auto x = hfc::init::normal<float, hfc::cuda>(hfc::Shape{hfc::bench::kBatch, 64, 56, 56}, 0, 1, rng);
  const auto dy = hfc::init::normal<float, hfc::cuda>(x.shape(), 0, 1, rng);
  report(name, [&] {
    att.forward(x);
    att.backward(dy);
  }, options);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Where the GPU's time goes in the HFC module and in a training step of each network, kernel by "
               "kernel (hfc::cuda's profiler). Prints markdown."};
  app.add_option("--px", options.px, "image size of the training steps [224]")->check(CLI::Range(32, 1024));
  app.add_option("--steps", options.steps, "steps profiled per case [3]")->check(CLI::Range(1, 100));
  app.add_option("--top", options.top, "rows per table before the rest are summed [12]")->check(CLI::Range(1, 1000));
  app.add_option("--only", options.only, "only the cases whose name contains this text (e.g. MobileNetV2)");
  CLI11_PARSE(app, argc, argv);
  try {
    hfc::check(hfc::cuda_backend::device_available(), "hfc_profile_cuda: no CUDA device (",
               hfc::cuda_backend::device_status(), ")");
    std::printf("## Where the GPU time goes (%s; batch 32, float, TF32 convolutions)\n",
                hfc::cuda_backend::describe(hfc::cuda{}).c_str());
    using ResNet18 = hfc::ResNet18<float, hfc::cuda>;
    using MobileNetV2 = hfc::MobileNetV2<float, hfc::cuda>;
    attention_module(options);
    network<ResNet18>("ResNet18", hfc::Attention::none, options);
    network<ResNet18>("ResNet18 + HFC", hfc::Attention::hfc, options);
    network<MobileNetV2>("MobileNetV2", hfc::Attention::none, options);
    network<MobileNetV2>("MobileNetV2 + HFC", hfc::Attention::hfc, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
