#pragma once
// Classification metrics as the paper reports them (Table 2): a confusion matrix, each class's
// accuracy (the share of its samples predicted as it: recall), their unweighted mean, and the
// overall accuracy; and class probabilities from logits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "hfc/core/tensor.hpp"

namespace hfc {

// The index of the largest logit in each row of [N, K] logits (the first on ties).
template <Scalar T>
std::vector<std::int64_t> argmax_rows(const Tensor<T, cpu>& logits) {
  check_rank(logits, 2, "argmax_rows: logits");
  const std::int64_t n = logits.size(0), k = logits.size(1);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = logits.data() + i * k;
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < k; ++j)
      if (row[j] > row[best]) best = j;
    out[static_cast<std::size_t>(i)] = best;
  }
  return out;
}

// Class probabilities: the softmax of each row of [N, K] logits, computed stably (max shifted).
template <Scalar T>
Tensor<T, cpu> softmax_rows(const Tensor<T, cpu>& logits) {
  check_rank(logits, 2, "softmax_rows: logits");
  const std::int64_t n = logits.size(0), k = logits.size(1);
  auto out = Tensor<T, cpu>::empty(logits.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = logits.data() + i * k;
    T* p = out.data() + i * k;
    T largest = row[0];
    for (std::int64_t j = 1; j < k; ++j) largest = std::max(largest, row[j]);
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) sum += std::exp(double(row[j] - largest));
    for (std::int64_t j = 0; j < k; ++j) p[j] = T(std::exp(double(row[j] - largest)) / sum);
  }
  return out;
}

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int classes = 0) : classes_(classes), counts_(std::size_t(classes) * std::size_t(classes)) {
    check(classes >= 0, "ConfusionMatrix: classes must be >= 0, got ", classes);
  }

  void add(int truth, int predicted) {
    check(truth >= 0 && truth < classes_ && predicted >= 0 && predicted < classes_, "ConfusionMatrix: pair (", truth,
          ", ", predicted, ") is outside 0..", classes_ - 1);
    ++counts_[index(truth, predicted)];
  }
  // A batch: the argmax of each row of `logits` against `labels`.
  template <Scalar T>
  void add(const Tensor<T, cpu>& logits, const Tensor<std::int64_t, cpu>& labels) {
    check_shape(labels, Shape{logits.size(0)}, "ConfusionMatrix::add: labels");
    const auto predicted = argmax_rows(logits);
    for (std::size_t i = 0; i < predicted.size(); ++i) add(int(labels.data()[i]), int(predicted[i]));
  }

  int classes() const { return classes_; }
  // Samples of class `truth` predicted as `predicted`.
  std::int64_t count(int truth, int predicted) const { return counts_.at(index(truth, predicted)); }
  std::int64_t class_total(int truth) const {
    std::int64_t n = 0;
    for (int p = 0; p < classes_; ++p) n += count(truth, p);
    return n;
  }
  std::int64_t total() const {
    std::int64_t n = 0;
    for (const auto c : counts_) n += c;
    return n;
  }
  std::int64_t correct() const {
    std::int64_t n = 0;
    for (int c = 0; c < classes_; ++c) n += count(c, c);
    return n;
  }
  // Correct over all samples; NaN when there are none.
  double accuracy() const { return ratio(correct(), total()); }
  // Class `truth`'s samples predicted correctly over its samples; NaN when it has none.
  double class_accuracy(int truth) const { return ratio(count(truth, truth), class_total(truth)); }
  // The unweighted mean of the class accuracies of the classes that have samples.
  double mean_class_accuracy() const {
    double sum = 0;
    int present = 0;
    for (int c = 0; c < classes_; ++c)
      if (class_total(c) > 0) sum += class_accuracy(c), ++present;
    return present ? sum / present : std::numeric_limits<double>::quiet_NaN();
  }

 private:
  std::size_t index(int truth, int predicted) const {
    return std::size_t(truth) * std::size_t(classes_) + std::size_t(predicted);
  }
  static double ratio(std::int64_t a, std::int64_t b) {
    return b > 0 ? double(a) / double(b) : std::numeric_limits<double>::quiet_NaN();
  }
  int classes_;
  std::vector<std::int64_t> counts_;  // row: truth, column: prediction
};

}  // namespace hfc
