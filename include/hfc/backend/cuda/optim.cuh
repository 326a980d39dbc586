#pragma once
// Fused optimiser updates and the softmax cross-entropy; the cpu backend's contracts and
// arithmetic (backend/cpu/optim.hpp: double intermediates, PyTorch's update rules).
#include <cmath>
#include <cstdint>
#include <vector>

#include "hfc/backend/cuda/executor.cuh"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct AdamUpdate {
  T *p;
  const T* g;
  T *m, *v;
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;
  double step_size, sqrt_bc2;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    double grad = g[i];
    if (decoupled) p[i] = T(p[i] * (1 - lr * weight_decay));
    else grad += weight_decay * p[i];
    m[i] = T(beta1 * m[i] + (1 - beta1) * grad);
    v[i] = T(beta2 * v[i] + (1 - beta2) * grad * grad);
    p[i] = T(p[i] - step_size * m[i] / (sqrt(double(v[i])) / sqrt_bc2 + eps));
  }
};
template <class T>
struct SgdUpdate {
  T* p;
  const T* g;
  T* buf;
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const {
    double d = g[i] + weight_decay * p[i];
    if (momentum != 0) {
      buf[i] = T(first_step ? d : momentum * buf[i] + (1 - dampening) * d);
      d = nesterov ? d + momentum * buf[i] : double(buf[i]);
    }
    p[i] = T(p[i] - lr * d);
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
    out[n + i] = (label < 0 || label >= k) ? 1.0 : 0.0;
    if (out[n + i] != 0.0) return;
    const T* z = logits + i * k;
    double zmax = z[0];
    for (std::int64_t j = 1; j < k; ++j) zmax = z[j] > zmax ? double(z[j]) : zmax;
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) sum += exp(z[j] - zmax);
    const double log_sum = log(sum) + zmax;
    double loss = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const double target = (j == label ? 1 - smoothing : 0.0) + smoothing / double(k);
      loss -= target * (z[j] - log_sum);
      grad[i * k + j] = T((exp(z[j] - log_sum) - target) / double(n));
    }
    out[i] = loss;
  }
};
}  // namespace detail

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void adam_update_kernel(B, T* p, const T* g, T* m, T* v, std::int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, bool decoupled, std::int64_t step) {
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  executor_t<B>::for_each(n, detail::AdamUpdate<T>{p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled,
                                                   lr / bc1, std::sqrt(bc2)});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void sgd_update_kernel(B, T* p, const T* g, T* buf, std::int64_t n, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool first_step) {
  executor_t<B>::for_each(n, detail::SgdUpdate<T>{p, g, buf, lr, momentum, dampening, weight_decay, nesterov,
                                                  first_step});
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
