#pragma once
// Fused optimiser updates and the softmax cross-entropy, on the cpu. PyTorch's update rules.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "hfc/backend/cpu/lanes.hpp"
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

// Adam's tensors a block of elements at a time: the moments, the block's square roots (lane_sqrt:
// std::sqrt does not vectorise without -fno-math-errno, and with a scalar square root and two
// scalar divisions per element Adam took 15% of a ResNet18 + HFC step at 48 px), then the
// parameters. The same rule, in the same order, as the per-element form.
template <class T>
void update_tensors_kernel(cpu, std::span<const update_rules::AdamTensor<T>> items) {
  constexpr std::int64_t kBlock = 256;
  for (const auto& item : items) {
    const auto local = item;
    const std::int64_t blocks = (local.n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (local.n > (1 << 16))
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t j0 = b * kBlock, len = std::min(kBlock, local.n - j0);
      T* HFC_RESTRICT p = local.p + j0;
      T* HFC_RESTRICT m = local.m + j0;
      T* HFC_RESTRICT v = local.v + j0;
      const T* HFC_RESTRICT g = local.g + j0;
      alignas(64) double root[kBlock];
      for (std::int64_t j = 0; j < len; ++j) root[j] = local.rule.step_moments(p[j], g[j], m[j], v[j]);
      std::int64_t j = 0;
      for (; j + kLanes <= len; j += kLanes) lane_sqrt(root + j, root + j);
      for (; j < len; ++j) root[j] = std::sqrt(root[j]);
      for (j = 0; j < len; ++j) local.rule.step_parameter(p[j], m[j], root[j]);
    }
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
