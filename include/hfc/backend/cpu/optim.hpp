#pragma once
// Fused optimiser updates and the softmax cross-entropy, on the cpu. PyTorch's update rules.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

// Adam (decoupled = false: weight decay added to the gradient) and AdamW (decoupled = true:
// p *= 1 - lr wd first). step is 1 for the first update.
template <class T>
void adam_update_kernel(cpu, T* p, const T* g, T* m, T* v, std::int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, bool decoupled, std::int64_t step) {
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  const double step_size = lr / bc1, sqrt_bc2 = std::sqrt(bc2);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    double grad = g[i];
    if (decoupled) p[i] = T(p[i] * (1 - lr * weight_decay));
    else grad += weight_decay * p[i];
    m[i] = T(beta1 * m[i] + (1 - beta1) * grad);
    v[i] = T(beta2 * v[i] + (1 - beta2) * grad * grad);
    p[i] = T(p[i] - step_size * m[i] / (std::sqrt(double(v[i])) / sqrt_bc2 + eps));
  }
}

// SGD with momentum, dampening, Nesterov and weight decay; first_step initialises the buffer
// with the gradient, as PyTorch does.
template <class T>
void sgd_update_kernel(cpu, T* p, const T* g, T* buf, std::int64_t n, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool first_step) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    double d = g[i] + weight_decay * p[i];
    if (momentum != 0) {
      buf[i] = T(first_step ? d : momentum * buf[i] + (1 - dampening) * d);
      d = nesterov ? d + momentum * buf[i] : double(buf[i]);
    }
    p[i] = T(p[i] - lr * d);
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
  for (std::int64_t i = 0; i < n; ++i) {
    const T* z = logits + i * k;
    const double zmax = *std::max_element(z, z + k);
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - zmax);
    const double log_sum = std::log(sum) + zmax;
    for (std::int64_t j = 0; j < k; ++j) {
      const double target = (j == labels[i] ? 1 - smoothing : 0.0) + smoothing / double(k);
      total -= target * (z[j] - log_sum);
      grad[i * k + j] = T((std::exp(z[j] - log_sum) - target) / double(n));
    }
  }
  return total / double(n);
}

}  // namespace hfc::cpu_backend
