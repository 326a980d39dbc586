#pragma once
// A live progress line for an epoch on a terminal (batch i/n, running loss and accuracy, images/s,
// ETA), redrawn in place at most ten times a second; when the output is not a terminal, a plain
// line at each quarter of the epoch instead. Written to stderr, so stdout keeps only the results.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace hfcnet {

inline std::string format_duration(double seconds) {
  const long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

class ProgressBar {
 public:
  using clock = std::chrono::steady_clock;

  ProgressBar(std::string label, std::size_t batches, bool terminal = ::isatty(STDERR_FILENO) != 0)
      : label_(std::move(label)), batches_(batches), terminal_(terminal), start_(clock::now()) {}

  // After batch `done` (1-based) of the epoch, with the epoch's running mean loss and accuracy.
  void update(std::size_t done, double loss, double accuracy, std::size_t images) {
    const double elapsed = seconds();
    const bool last = done == batches_;
    if (terminal_) {
      if (!last && elapsed - drawn_at_ < 0.1) return;
      drawn_at_ = elapsed;
    } else {
      const std::size_t quarter = batches_ >= 4 ? done * 4 / batches_ : (last ? 4 : 0);
      if (quarter == printed_quarter_ || quarter == 0) return;
      printed_quarter_ = quarter;
    }
    const double rate = elapsed > 0 ? double(images) / elapsed : 0;
    const double eta = done > 0 ? elapsed * double(batches_ - done) / double(done) : 0;
    constexpr int kWidth = 24;
    const int filled = batches_ ? int(double(kWidth) * double(done) / double(batches_)) : kWidth;
    std::string bar(std::size_t(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "%s%s [%s] %zu/%zu  loss %.4f  acc %5.1f%%  %.0f img/s  ETA %s%s", terminal_ ? "\r" : "",
                 label_.c_str(), bar.c_str(), done, batches_, loss, 100 * accuracy, rate, format_duration(eta).c_str(),
                 terminal_ ? "\x1b[K" : "\n");
    std::fflush(stderr);
  }
  // Clears the line on a terminal, so the epoch's summary takes its place.
  void finish() {
    if (terminal_) std::fprintf(stderr, "\r\x1b[K"), std::fflush(stderr);
  }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  std::string label_;
  std::size_t batches_;
  bool terminal_;
  clock::time_point start_;
  double drawn_at_ = -1;
  std::size_t printed_quarter_ = 0;
};

}  // namespace hfcnet
