#pragma once
// Batched singular value decomposition with the backward of the singular values.
#include <algorithm>
#include <cstdint>

#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
struct SvdResult {
  Tensor<T, B> S;  // [..., k], descending, k = min(m, n)
  Tensor<T, B> U;  // [..., m, k], orthonormal columns; undefined when vectors were not asked for
  Tensor<T, B> V;  // [..., n, k]
};

// Thin SVD of every trailing m x n matrix of a (rank >= 2). With compute_uv false only S is
// computed (what inference needs).
template <Scalar T, Backend B>
SvdResult<T, B> svd(const Tensor<T, B>& a, bool compute_uv = true) {
  check(a.defined() && a.rank() >= 2, "svd: input must have rank >= 2, got shape ", a.shape());
  check(!a.shape().has_zero_extent(), "svd: input has a zero-size dimension: ", a.shape());
  const std::int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n);
  const std::int64_t batch = a.numel() / (m * n);
  const Shape lead = a.shape().drop_back(2);
  SvdResult<T, B> r;
  r.S = Tensor<T, B>::empty(lead + Shape{k});
  if (compute_uv) {
    r.U = Tensor<T, B>::empty(lead + Shape{m, k});
    r.V = Tensor<T, B>::empty(lead + Shape{n, k});
  }
  svd_kernel(B{}, a.data(), batch, m, n, r.S.data(), compute_uv ? r.U.data() : nullptr,
             compute_uv ? r.V.data() : nullptr);
  return r;
}

// dA = U diag(dS) V^T: the gradient of the singular values (for simple, nonzero ones; the same
// formula is the gradient PyTorch's svdvals gives).
template <Scalar T, Backend B>
Tensor<T, B> svd_backward(const SvdResult<T, B>& r, const Tensor<T, B>& dS) {
  check(r.U.defined() && r.V.defined(), "svd_backward: the forward svd was computed without U and V");
  check_shape(dS, r.S.shape(), "svd_backward: dS");
  const std::int64_t m = r.U.size(-2), n = r.V.size(-2);
  const std::int64_t k = r.S.size(-1), batch = r.S.numel() / k;
  auto da = Tensor<T, B>::empty(r.U.shape().drop_back(2) + Shape{m, n});
  svd_backward_kernel(B{}, r.U.data(), r.V.data(), dS.data(), batch, m, n, da.data());
  return da;
}

}  // namespace hfc
