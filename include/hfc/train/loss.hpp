#pragma once
// Softmax cross-entropy (torch.nn.CrossEntropyLoss, reduction "mean", optional label smoothing).
#include <cstdint>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
struct LossResult {
  double loss;        // the mean over the batch
  Tensor<T, B> grad;  // d loss / d logits, [N, K]
};

template <Scalar T, Backend B>
LossResult<T, B> cross_entropy(const Tensor<T, B>& logits, const Tensor<std::int64_t, B>& labels,
                               double label_smoothing = 0.0) {
  check_rank(logits, 2, "cross_entropy: logits");
  check_shape(labels, Shape{logits.size(0)}, "cross_entropy: labels");
  check(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got ",
        label_smoothing);
  LossResult<T, B> r{0.0, Tensor<T, B>::empty(logits.shape())};
  std::int64_t bad = -1;
  r.loss = cross_entropy_kernel(B{}, logits.data(), labels.data(), logits.size(0), logits.size(1), label_smoothing,
                                r.grad.data(), &bad);
  check(bad < 0, "cross_entropy: label of sample ", bad, " is outside [0, ", logits.size(1), ")");
  return r;
}

}  // namespace hfc
