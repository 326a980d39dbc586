#pragma once
// Fused optimiser updates and the softmax cross-entropy, on the cpu. PyTorch's update rules.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/update_rules.hpp"

namespace hfc::cpu_backend {

// Every tensor of an optimiser step (update_rules.hpp: AdamTensor, SgdTensor, ZeroFill), one
// after another, each split over the threads when it is large.
template <class Item>
void update_tensors_kernel(cpu, std::span<const Item> items) {
  for (const Item& item : items) {
    const Item local = item;  // the loop's pointers, not re-read through a reference
#pragma omp parallel for schedule(static) if (local.n > (1 << 16))
    for (std::int64_t j = 0; j < local.n; ++j) local(j);
  }
}

// Mean softmax cross-entropy of logits [n, k] against class indices, with label smoothing eps:
// the target distribution is (1 - eps) one-hot + eps / k. Writes d loss / d logits into grad and
// returns the loss. A bad label index is reported through `bad` (its position) and returns 0.
template <class T>
double cross_entropy_kernel(cpu, const T* logits, const std::int64_t* labels, std::int64_t n, std::int64_t k,
                            double smoothing, T* grad, std::int64_t* bad) {
  *bad = -1;
  for (std::int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= k) {
      *bad = i;
      return 0;
    }
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i)
    total += update_rules::cross_entropy_row(logits + i * k, k, labels[i], smoothing, double(n), grad + i * k);
  return total / double(n);
}

}  // namespace hfc::cpu_backend
