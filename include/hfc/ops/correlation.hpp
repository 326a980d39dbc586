#pragma once
// Outer-product correlation (the paper's eq. 8): for each (query, key) pair of singular-value
// vectors, M = sigma_q sigma_k^T, zero-padded to h x w; several pairs are stacked as channels.
#include <cstdint>
#include <vector>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
struct SigmaPair {
  Tensor<T, B> query;  // [N, lq], lq <= h
  Tensor<T, B> key;    // [N, lk], lk <= w
};

// Returns [N, P, h, w]; channel p is pairs[p].query[i] * pairs[p].key[j].
template <Scalar T, Backend B>
Tensor<T, B> correlation(const std::vector<SigmaPair<T, B>>& pairs, std::int64_t h, std::int64_t w) {
  check(!pairs.empty(), "correlation: needs at least one (query, key) pair");
  check(h > 0 && w > 0, "correlation: map size must be positive, got ", h, "x", w);
  const std::int64_t n = pairs.front().query.defined() ? pairs.front().query.size(0) : 0;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const auto& [q, k] = pairs[p];
    check_rank(q, 2, "correlation: query");
    check_rank(k, 2, "correlation: key");
    check(q.size(0) == n && k.size(0) == n, "correlation: pair ", p, " has batch sizes ", q.size(0), " and ",
          k.size(0), ", expected ", n);
    check(q.size(1) <= h && k.size(1) <= w, "correlation: pair ", p, " has vectors of length ", q.size(1), " and ",
          k.size(1), ", longer than the ", h, "x", w, " map");
  }
  const auto count = static_cast<std::int64_t>(pairs.size());
  auto out = Tensor<T, B>::empty(Shape{n, count, h, w});
  for (std::int64_t p = 0; p < count; ++p) {
    const auto& [q, k] = pairs[static_cast<std::size_t>(p)];
    outer_product_kernel(B{}, q.data(), q.size(1), k.data(), k.size(1), n, h, w, out.data() + p * h * w,
                         count * h * w);
  }
  return out;
}

// Gradients of correlation: for each pair, (d query, d key) with the pair's shapes.
template <Scalar T, Backend B>
std::vector<SigmaPair<T, B>> correlation_backward(const Tensor<T, B>& grad, const std::vector<SigmaPair<T, B>>& pairs) {
  check_rank(grad, 4, "correlation_backward: grad");
  const auto count = static_cast<std::int64_t>(pairs.size());
  check(grad.size(1) == count, "correlation_backward: grad has ", grad.size(1), " channels for ", count, " pairs");
  const std::int64_t n = grad.size(0), h = grad.size(2), w = grad.size(3);
  std::vector<SigmaPair<T, B>> grads;
  for (std::int64_t p = 0; p < count; ++p) {
    const auto& [q, k] = pairs[static_cast<std::size_t>(p)];
    SigmaPair<T, B> g{Tensor<T, B>::zeros(q.shape()), Tensor<T, B>::zeros(k.shape())};
    outer_product_backward_kernel(B{}, grad.data() + p * h * w, count * h * w, q.data(), q.size(1), k.data(),
                                  k.size(1), n, w, g.query.data(), g.key.data());
    grads.push_back(std::move(g));
  }
  return grads;
}

}  // namespace hfc
