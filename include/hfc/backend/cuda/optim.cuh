#pragma once
// Fused optimiser updates and the softmax cross-entropy; the cpu backend's contracts, and the
// same per-element rules (backend/update_rules.hpp).
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/update_rules.hpp"

namespace hfc::cuda_backend {

namespace detail {
// An item of update_tensors_kernel's table and the index of its first element among all of them.
template <class Item>
struct Placed {
  Item item;
  std::int64_t begin;
};
// One index per element of all the tensors: table[k] covers [begin, begin + item.n).
template <class Item>
struct UpdateTensors {
  const Placed<Item>* table;
  int count;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    int lo = 0, hi = count - 1;  // the last item that begins at or before i
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (table[mid].begin <= i) lo = mid;
      else hi = mid - 1;
    }
    table[lo].item(i - table[lo].begin);
  }
};
// One index per sample: its loss in out[i], and 1 in out[n + i] when its label is out of range.
template <class T>
struct CrossEntropy {
  const T* logits;
  const std::int64_t* labels;
  std::int64_t n, k;
  double smoothing;
  T* grad;
  double* out;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t label = labels[i];
    const bool bad = label < 0 || label >= k;
    out[n + i] = bad ? 1.0 : 0.0;
    out[i] = bad ? 0.0 : update_rules::cross_entropy_row(logits + i * k, k, label, smoothing, double(n), grad + i * k);
  }
};
}  // namespace detail

// Every tensor of an optimiser step (update_rules.hpp: AdamTensor, SgdTensor, ZeroFill) in one
// launch: a ResNet18 step has 62 parameter tensors, a MobileNetV2 step 158, and launching each
// update and each gradient fill alone was 23-29% of a training step's launches. The table (about
// 110 bytes a tensor) goes to the device with the launch, in one copy.
template <class B, class Item>
  requires RunsCudaAlgorithms<B>
void update_tensors_kernel(B, std::span<const Item> items) {
  using Exec = executor_t<B>;
  std::vector<detail::Placed<Item>> placed;
  std::int64_t total = 0;
  for (const Item& item : items)
    if (item.n > 0) {
      placed.push_back({item, total});
      total += item.n;
    }
  if (total == 0) return;
  const auto count = static_cast<std::int64_t>(placed.size());
  typename Exec::template Buffer<detail::Placed<Item>> table(count);
  transfer(cpu{}, B{}, placed.data(), count, table.get());
  Exec::for_each(total, detail::UpdateTensors<Item>{table.get(), static_cast<int>(count)});
}

// Returns the mean loss, which waits for the kernel (as PyTorch's loss.item() does).
template <class B, class T>
  requires RunsCudaAlgorithms<B>
double cross_entropy_kernel(B, const T* logits, const std::int64_t* labels, std::int64_t n, std::int64_t k,
                            double smoothing, T* grad, std::int64_t* bad) {
  using Exec = executor_t<B>;
  typename Exec::template Buffer<double> out(2 * n);
  Exec::for_each(n, detail::CrossEntropy<T>{logits, labels, n, k, smoothing, grad, out.get()});
  std::vector<double> host(static_cast<std::size_t>(2 * n));
  transfer(B{}, cpu{}, out.get(), 2 * n, host.data());
  *bad = -1;
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (host[static_cast<std::size_t>(n + i)] != 0.0) {
      *bad = i;
      return 0;
    }
    total += host[static_cast<std::size_t>(i)];
  }
  return total / double(n);
}

}  // namespace hfc::cuda_backend
