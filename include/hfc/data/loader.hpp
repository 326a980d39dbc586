#pragma once
// hfc::BatchLoader: batches of transformed images and their labels, made on background threads a
// few batches ahead of the consumer (as PyTorch's DataLoader with workers and prefetching), so a
// training step does not wait for decoding and resizing.
//
// Order and content depend only on the seed and the epoch: epoch e's order is the indices
// shuffled by (seed, e), and the sample at position p draws its augmentation from (seed, e, p).
// Any thread count gives the same batches. The time next() is blocked waiting for a batch is
// recorded (waits()), so a caller or a test can see whether compute ever waited for data.
//
// The dataset must outlive the loader. Destroying the loader or starting another epoch mid-epoch
// stops the workers cleanly. An error in a worker (a corrupt image) is rethrown by next() when the
// consumer reaches that batch.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "hfc/core/tensor.hpp"
#include "hfc/data/dataset.hpp"
#include "hfc/data/seed.hpp"
#include "hfc/data/transform.hpp"

namespace hfc {

struct LoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;
  int threads = 2;        // background workers; 0 makes each batch inside next()
  int prefetch = 4;       // batches made ahead of the one the consumer holds
  bool drop_last = false; // leave out a final, smaller batch
};

struct Batch {
  Tensor<float> images;              // [n, 1, size, size]
  Tensor<std::int64_t> labels;       // [n]
  std::vector<std::size_t> indices;  // the samples' indices in the dataset
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, std::vector<std::size_t> indices, ImageTransform transform,
              LoaderOptions options = {})
      : data_(data), indices_(std::move(indices)), transform_(std::move(transform)), options_(options) {
    check(options.batch_size > 0, "BatchLoader: batch_size must be positive, got ", options.batch_size);
    check(options.threads >= 0, "BatchLoader: threads must be >= 0, got ", options.threads);
    check(options.prefetch >= 1, "BatchLoader: prefetch must be >= 1, got ", options.prefetch);
    for (const std::size_t i : indices_)
      check(i < data.size(), "BatchLoader: index ", i, " is out of range for ", data.name, " (", data.size(),
            " samples)");
  }
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;
  ~BatchLoader() { stop_workers(); }

  std::size_t samples() const { return indices_.size(); }
  std::size_t batches_per_epoch() const {
    const auto bs = static_cast<std::size_t>(options_.batch_size);
    return options_.drop_last ? indices_.size() / bs : (indices_.size() + bs - 1) / bs;
  }

  // Starts epoch `epoch` (stopping one in progress) and begins making its batches.
  void start_epoch(std::uint64_t epoch) {
    stop_workers();
    epoch_ = epoch;
    order_ = indices_;
    if (options_.shuffle) {
      Rng rng(detail::derive_seed(options_.seed, {epoch}));
      detail::shuffle(order_, rng);
    }
    batches_ = batches_per_epoch();
    claimed_ = taken_ = 0;
    done_.clear();
    waits_.clear();
    stopping_ = false;
    started_ = true;
    const auto threads = std::min<std::size_t>(std::size_t(options_.threads), batches_);
    for (std::size_t t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }

  // The next batch of the epoch, or nullopt at its end. Starts epoch 0 if none was started.
  std::optional<Batch> next() {
    if (!started_) start_epoch(0);
    if (taken_ == batches_) {
      stop_workers();
      return std::nullopt;
    }
    using clock = std::chrono::steady_clock;
    double waited = 0;
    Made made;
    if (workers_.empty()) {
      const auto start = clock::now();
      made = make(taken_);
      waited = std::chrono::duration<double>(clock::now() - start).count();
    } else {
      std::unique_lock lock(mutex_);
      if (!done_.contains(taken_)) {
        const auto start = clock::now();
        ready_.wait(lock, [&] { return done_.contains(taken_); });
        waited = std::chrono::duration<double>(clock::now() - start).count();
      }
      made = std::move(done_.at(taken_));
      done_.erase(taken_);
    }
    {
      std::lock_guard lock(mutex_);
      ++taken_;
    }
    space_.notify_all();
    waits_.push_back(waited);
    if (made.error) {
      stop_workers();
      taken_ = batches_;
      std::rethrow_exception(made.error);
    }
    return std::move(made.batch);
  }

  // Seconds each next() of the current epoch was blocked because its batch was not made yet (with
  // threads == 0: the time making it), in order. A batch that was ready counts 0.
  const std::vector<double>& waits() const { return waits_; }

 private:
  struct Made {
    Batch batch;
    std::exception_ptr error;
  };

  Made make(std::size_t k) const {
    Made made;
    try {
      const auto bs = static_cast<std::size_t>(options_.batch_size);
      const std::size_t first = k * bs, n = std::min(bs, order_.size() - first);
      const std::int64_t s = transform_.size(), plane = s * s;
      Batch& b = made.batch;
      b.images = Tensor<float>::empty(Shape{std::int64_t(n), 1, s, s});
      b.labels = Tensor<std::int64_t>::empty(Shape{std::int64_t(n)});
      b.indices.assign(order_.begin() + std::ptrdiff_t(first), order_.begin() + std::ptrdiff_t(first + n));
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t i = b.indices[j];
        transform_.apply(data_.gray_image(i), b.images.span().subspan(j * std::size_t(plane), std::size_t(plane)),
                         detail::derive_seed(options_.seed, {epoch_, first + j}));
        b.labels.data()[j] = data_.samples[i].label;
      }
    } catch (...) {
      made.error = std::current_exception();
    }
    return made;
  }

  void work() {
    const auto ahead = static_cast<std::size_t>(options_.prefetch);
    for (;;) {
      std::size_t k = 0;
      {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return stopping_ || claimed_ >= batches_ || claimed_ < taken_ + ahead; });
        if (stopping_ || claimed_ >= batches_) return;
        k = claimed_++;
      }
      Made made = make(k);
      {
        std::lock_guard lock(mutex_);
        done_.emplace(k, std::move(made));
      }
      ready_.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    space_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  const Dataset& data_;
  std::vector<std::size_t> indices_;
  ImageTransform transform_;
  LoaderOptions options_;

  // Set by start_epoch while no worker runs; read-only for the workers.
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
  std::size_t batches_ = 0;
  bool started_ = false;

  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<std::size_t, Made> done_;  // made and not yet taken
  std::size_t claimed_ = 0, taken_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::vector<double> waits_;
};

}  // namespace hfc
