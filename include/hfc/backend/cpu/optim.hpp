#pragma once
// Fused optimiser updates and the softmax cross-entropy, on the cpu. PyTorch's update rules.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/update_rules.hpp"

namespace hfc::cpu_backend {

// Adam (decoupled = false: weight decay added to the gradient) and AdamW (decoupled = true:
// p *= 1 - lr wd first). step is 1 for the first update. The rules: backend/update_rules.hpp.
template <class T>
void adam_update_kernel(cpu, T* p, const T* g, T* m, T* v, std::int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, bool decoupled, std::int64_t step) {
  const auto rule = update_rules::AdamStep::at(lr, beta1, beta2, eps, weight_decay, decoupled, step);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) rule(p[i], g[i], m[i], v[i]);
}

// SGD with momentum, dampening, Nesterov and weight decay; first_step initialises the buffer
// with the gradient, as PyTorch does.
template <class T>
void sgd_update_kernel(cpu, T* p, const T* g, T* buf, std::int64_t n, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool first_step) {
  const update_rules::SgdStep rule{lr, momentum, dampening, weight_decay, nesterov, first_step};
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) rule(p[i], g[i], buf ? buf + i : nullptr);
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
