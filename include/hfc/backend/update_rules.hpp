#pragma once
// The optimisers' per-element update rules and the softmax cross-entropy of one row, in double,
// written once for every backend: the cpu kernels call them in their loops, the cuda kernel bodies
// per index (PyTorch's rules: torch.optim.Adam/AdamW/SGD, CrossEntropyLoss with label smoothing).
#include <cmath>
#include <cstdint>

#include "hfc/backend/host_device.hpp"

namespace hfc::update_rules {

struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: p *= 1 - lr wd first; Adam: wd p added to the gradient
  double step_size, sqrt_bc2;  // lr / (1 - beta1^t), sqrt(1 - beta2^t)

  static AdamStep at(double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                     std::int64_t step) {
    const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
    return {lr, beta1, beta2, eps, weight_decay, decoupled, lr / bc1, std::sqrt(bc2)};
  }
  template <class T>
  HFC_HOST_DEVICE void operator()(T& p, T g, T& m, T& v) const {
    step_moments(p, g, m, v);
    step_parameter(p, m, sqrt(double(v)));
  }
  // The step in two halves, around sqrt(v): the cpu kernel takes the square roots of a block at
  // once (update_tensors_kernel in backend/cpu/optim.hpp). Returns the new v.
  template <class T>
  HFC_HOST_DEVICE double step_moments(T& p, T g, T& m, T& v) const {
    double grad = g;
    if (decoupled) p = T(p * (1 - lr * weight_decay));
    else grad += weight_decay * p;
    m = T(beta1 * m + (1 - beta1) * grad);
    v = T(beta2 * v + (1 - beta2) * grad * grad);
    return double(v);
  }
  template <class T>
  HFC_HOST_DEVICE void step_parameter(T& p, T m, double sqrt_v) const {
    p = T(p - step_size * m / (sqrt_v / sqrt_bc2 + eps));
  }
};

struct SgdStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;  // the first step initialises the buffer with the gradient
  template <class T>
  HFC_HOST_DEVICE void operator()(T& p, T g, T* buf) const {
    double d = g + weight_decay * p;
    if (momentum != 0) {
      *buf = T(first_step ? d : momentum * *buf + (1 - dampening) * d);
      d = nesterov ? d + momentum * *buf : double(*buf);
    }
    p = T(p - lr * d);
  }
};

// One tensor's share of an optimiser step (or of zero_grad), for update_tensors_kernel, which takes
// every tensor of a step at once (on the GPU in one launch, as torch.optim's foreach and fused
// implementations do): n elements, and operator()(j) updates element j.
template <class T>
struct AdamTensor {
  T* p;
  const T* g;
  T *m, *v;
  std::int64_t n;
  AdamStep rule;
  HFC_HOST_DEVICE void operator()(std::int64_t j) const { rule(p[j], g[j], m[j], v[j]); }
};
template <class T>
struct SgdTensor {
  T* p;
  const T* g;
  T* buf;  // null without momentum
  std::int64_t n;
  SgdStep rule;
  HFC_HOST_DEVICE void operator()(std::int64_t j) const { rule(p[j], g[j], buf ? buf + j : nullptr); }
};
template <class T>
struct ZeroFill {  // Optimizer::zero_grad's share
  T* p;
  std::int64_t n;
  HFC_HOST_DEVICE void operator()(std::int64_t j) const { p[j] = T(0); }
};

// Row z[0..k) with class `label`: writes (softmax - target) / n into grad[0..k) and returns the
// row's loss; the target is (1 - smoothing) one-hot + smoothing / k.
template <class T>
HFC_HOST_DEVICE double cross_entropy_row(const T* z, std::int64_t k, std::int64_t label, double smoothing, double n,
                                         T* grad) {
  double zmax = z[0];
  for (std::int64_t j = 1; j < k; ++j) zmax = z[j] > zmax ? double(z[j]) : zmax;
  double sum = 0;
  for (std::int64_t j = 0; j < k; ++j) sum += exp(z[j] - zmax);
  const double log_sum = log(sum) + zmax;
  double loss = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    const double target = (j == label ? 1 - smoothing : 0.0) + smoothing / double(k);
    loss -= target * (z[j] - log_sum);
    grad[j] = T((exp(z[j] - log_sum) - target) / n);
  }
  return loss;
}

}  // namespace hfc::update_rules
