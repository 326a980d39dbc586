#pragma once
// Where the GPU's time goes, kernel by kernel. While the profiler records, every kernel launch and
// library call of the cuda backend is bracketed by two CUDA events on the context's stream and
// filed under a name: the kernel body's type (`Im2col<float>`), the GEMM's shape
// (`cublasGemmEx 64x100352x576 NN tf32`), the SVD's plan. stop() waits for the work and returns
// the time per name, largest first; profile_table() prints it. by_kind() sums names by kind (all
// GEMMs together).
//
// The events bracket what the stream does between them: a kernel's run, and, when the GPU was idle
// waiting for it, the host's time to queue it (a few microseconds, cuBLAS's choice of kernel
// included). So a step that waits on launches shows its small kernels longer than they ran; Nsight
// Systems is the reference there. Copies are timed ("cudaMemcpyAsync H2D 6422528 B"); cuFFT's plan
// creation is not.
//
//   auto& profiler = hfc::cuda_backend::Profiler::get();
//   profiler.start();
//   train_step();
//   std::cout << hfc::cuda_backend::profile_table(profiler.stop(), {.top = 15});
//
// Cost: while it records, two cudaEventRecord calls per launch (a microsecond or two of host time
// each, so time the host's side of a step with the profiler off) and two events kept per launch
// until stop() (record a few steps, not a whole training run); otherwise two flag tests. Calls
// inside a timed call (the kernels of a library routine that is itself timed) are not timed again.
// Like the Context, it belongs to the one host thread that drives the stream. The same names are
// what HFC_CUDA_TRACE=1 prints before each launch (context.cuh).
#include <cuda_runtime.h>
#include <cxxabi.h>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/context.cuh"

namespace hfc::cuda_backend {

// The GPU time of the launches filed under one name.
struct KernelTime {
  std::string name;
  std::int64_t calls = 0;
  double ms = 0;
};

namespace detail {
// Totals keyed by name as a list, largest total first (ties by name).
inline std::vector<KernelTime> largest_first(std::map<std::string, KernelTime>&& totals) {
  std::vector<KernelTime> times;
  for (auto& [name, t] : totals) times.push_back(std::move(t));
  std::stable_sort(times.begin(), times.end(), [](const KernelTime& a, const KernelTime& b) { return a.ms > b.ms; });
  return times;
}
inline void add_to(std::map<std::string, KernelTime>& totals, const std::string& name, std::int64_t calls, double ms) {
  KernelTime& t = totals[name];
  t.name = name;
  t.calls += calls;
  t.ms += ms;
}
}  // namespace detail

// Per-name totals of (name, milliseconds) samples, largest total first.
inline std::vector<KernelTime> summarize_launches(const std::vector<std::pair<std::string, double>>& samples) {
  std::map<std::string, KernelTime> totals;
  for (const auto& [name, ms] : samples) detail::add_to(totals, name, 1, ms);
  return detail::largest_first(std::move(totals));
}

// The same totals summed by kind: each name up to its first space or '<' (every GEMM, every
// instance of a kernel body's template).
inline std::vector<KernelTime> by_kind(const std::vector<KernelTime>& times) {
  std::map<std::string, KernelTime> totals;
  for (const KernelTime& t : times) detail::add_to(totals, t.name.substr(0, t.name.find_first_of(" <")), t.calls, t.ms);
  return detail::largest_first(std::move(totals));
}

struct ProfileTableOptions {
  int top = 15;      // rows before the rest are summed into one
  double steps = 1;  // calls and times are divided by this (a profile of several steps, per step)
};

// A markdown table: name, calls, ms and share of the total; the rows past `top` in one line.
inline std::string profile_table(const std::vector<KernelTime>& times, const ProfileTableOptions& options = {}) {
  double total = 0;
  std::int64_t calls = 0;
  for (const KernelTime& t : times) {
    total += t.ms;
    calls += t.calls;
  }
  std::string table = "| kernel | calls | ms | share |\n|---|---|---|---|\n";
  auto row = [&](const std::string& name, double n, double ms) {
    char line[64];
    std::snprintf(line, sizeof line, " | %.4g | %.3f | %.1f%% |\n", n / options.steps, ms / options.steps,
                  total > 0 ? 100 * ms / total : 0.0);
    table += "| " + name + line;
  };
  const std::size_t shown = std::min(times.size(), static_cast<std::size_t>(std::max(options.top, 0)));
  double rest_ms = 0, rest_calls = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (i < shown) {
      row(times[i].name, double(times[i].calls), times[i].ms);
    } else {
      rest_ms += times[i].ms;
      rest_calls += double(times[i].calls);
    }
  }
  if (shown < times.size()) row("(" + std::to_string(times.size() - shown) + " others)", rest_calls, rest_ms);
  row("**all**", double(calls), total);
  return table;
}

// A type's name for the profile: demangled, without the library's namespaces.
template <class T>
const std::string& launch_type_name() {
  static const std::string name = [] {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status),
                                                           std::free);
    std::string s = status == 0 && demangled ? demangled.get() : typeid(T).name();
    for (const std::string_view prefix : {"hfc::cuda_backend::detail::", "hfc::cuda_backend::", "hfc::"})
      for (std::size_t at; (at = s.find(prefix)) != std::string::npos;) s.erase(at, prefix.size());
    return s;
  }();
  return name;
}

class Profiler {
 public:
  static Profiler& get() {
    static Profiler* profiler = new Profiler;  // never destroyed, as the Context
    return *profiler;
  }
  bool recording() const { return recording_; }
  // Starts recording; what an earlier start() recorded and no stop() collected is dropped.
  void start() {
    recycle();
    recording_ = true;
  }
  // Waits for the recorded launches, stops recording and returns their GPU time per name.
  std::vector<KernelTime> stop() {
    recording_ = false;
    Context::get().synchronize();
    std::vector<std::pair<std::string, double>> samples;
    for (const Launch& l : launches_) {
      if (!l.ended) continue;
      float ms = 0;
      HFC_CUDA_CHECK(cudaEventElapsedTime(&ms, l.begin, l.end));
      samples.emplace_back(l.name, double(ms));
    }
    recycle();
    return summarize_launches(samples);
  }

 private:
  friend class ProfiledLaunch;
  struct Launch {
    std::string name;
    cudaEvent_t begin, end;
    bool ended = false;
  };
  Profiler() = default;
  cudaEvent_t event() {
    if (!free_events_.empty()) {
      const cudaEvent_t e = free_events_.back();
      free_events_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    HFC_CUDA_CHECK(cudaEventCreate(&e));
    return e;
  }
  std::size_t begin(std::string name) {
    const cudaEvent_t b = event();
    cudaEvent_t e = nullptr;
    try {
      e = event();
    } catch (...) {
      free_events_.push_back(b);
      throw;
    }
    launches_.push_back({std::move(name), b, e});
    HFC_CUDA_CHECK(cudaEventRecord(b, stream()));
    return launches_.size() - 1;
  }
  void end(std::size_t index) noexcept {  // from a destructor: a failed record leaves the launch untimed
    Launch& l = launches_[index];
    l.ended = cudaEventRecord(l.end, stream()) == cudaSuccess;
    if (!l.ended) cudaGetLastError();
  }
  void recycle() {
    for (const Launch& l : launches_) free_events_.insert(free_events_.end(), {l.begin, l.end});
    launches_.clear();
    depth_ = 0;
  }
  bool recording_ = false;
  int depth_ = 0;  // timed calls open now: only the outermost is timed
  std::vector<Launch> launches_;
  std::vector<cudaEvent_t> free_events_;
};

// Times what runs on the stream during its lifetime, when the profiler records: put one before a
// kernel launch or library call. The name is made only then, or to be printed when
// Context::trace_launches is set (HFC_CUDA_TRACE=1).
class ProfiledLaunch {
 public:
  explicit ProfiledLaunch(const char* name) : ProfiledLaunch([name] { return std::string(name); }) {}
  template <class MakeName>
    requires std::invocable<MakeName&>
  explicit ProfiledLaunch(MakeName&& make_name) {
    Profiler& p = Profiler::get();
    const bool trace = Context::get().trace_launches, timed = p.recording_ && p.depth_ == 0;
    if (trace || timed) {
      std::string name = make_name();
      if (trace) std::fprintf(stderr, "hfc::cuda launch: %s\n", name.c_str());  // stderr is unbuffered
      if (timed) index_ = p.begin(std::move(name));  // if this throws, nothing is left open
    }
    if (!p.recording_) return;
    ++p.depth_;
    open_ = true;
  }
  ~ProfiledLaunch() {
    Profiler& p = Profiler::get();
    if (!open_ || p.depth_ == 0) return;  // depth 0: a start() or stop() came in between
    if (--p.depth_ == 0 && index_ < p.launches_.size()) p.end(index_);
  }
  ProfiledLaunch(const ProfiledLaunch&) = delete;
  ProfiledLaunch& operator=(const ProfiledLaunch&) = delete;

 private:
  static constexpr std::size_t kNone = ~std::size_t(0);
  bool open_ = false;
  std::size_t index_ = kNone;
};

}  // namespace hfc::cuda_backend
