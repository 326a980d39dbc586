#pragma once
// Fused optimiser updates and the softmax cross-entropy; the cpu backend's contracts, and the
// same per-element rules (backend/update_rules.hpp).
#include <cmath>
#include <cstdint>
#include <vector>

#include "hfc/backend/cuda/executor.cuh"
#include "hfc/backend/update_rules.hpp"

namespace hfc::cuda_backend {

namespace detail {
template <class T>
struct AdamUpdate {
  T* p;
  const T* g;
  T *m, *v;
  update_rules::AdamStep rule;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { rule(p[i], g[i], m[i], v[i]); }
};
template <class T>
struct SgdUpdate {
  T* p;
  const T* g;
  T* buf;
  update_rules::SgdStep rule;
  HFC_HOST_DEVICE void operator()(std::int64_t i) const { rule(p[i], g[i], buf ? buf + i : nullptr); }
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

template <class B, class T>
  requires RunsCudaAlgorithms<B>
void adam_update_kernel(B, T* p, const T* g, T* m, T* v, std::int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, bool decoupled, std::int64_t step) {
  executor_t<B>::for_each(
      n, detail::AdamUpdate<T>{p, g, m, v, update_rules::AdamStep::at(lr, beta1, beta2, eps, weight_decay, decoupled, step)});
}
template <class B, class T>
  requires RunsCudaAlgorithms<B>
void sgd_update_kernel(B, T* p, const T* g, T* buf, std::int64_t n, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool first_step) {
  executor_t<B>::for_each(
      n, detail::SgdUpdate<T>{p, g, buf, {lr, momentum, dampening, weight_decay, nesterov, first_step}});
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
