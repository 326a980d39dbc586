#pragma once
// Exceptions out of OpenMP loops. An exception that leaves an OpenMP region ends the program
// (std::terminate), so a loop body that may throw (one that calls back into user code, or into
// ops that check their input) runs inside FirstException::run, which keeps the first exception
// and skips the iterations after it; the caller rethrows it once the region has ended.
#include <atomic>
#include <exception>
#include <mutex>

namespace hfc::cpu_backend {

class FirstException {
 public:
  template <class F>
  void run(F&& body) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      body();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  // Call after the parallel region.
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace hfc::cpu_backend
