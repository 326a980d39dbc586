#pragma once
// BAM's gate (Park et al. 2018): y = (1 + sigmoid(z)) * x, with z the product (the authors' code)
// or the sum (the BAM paper's eq. 1) of a channel attention Mc [N, C] and a spatial attention
// Ms [N, 1, H, W], each broadcast to [N, C, H, W].
#include "hfc/core/tensor.hpp"

namespace hfc {

enum class BamCombine { product, sum };

namespace detail {
template <Scalar T, Backend B>
void check_bam_gate_shapes(const Tensor<T, B>& x, const Tensor<T, B>& mc, const Tensor<T, B>& ms, const char* op) {
  check_rank(x, 4, op);
  check(mc.defined() && mc.rank() == 2 && mc.size(0) == x.size(0) && mc.size(1) == x.size(1), op,
        ": channel attention of shape ", mc.shape(), " does not match input of shape ", x.shape(), " (expected [",
        x.size(0), ", ", x.size(1), "])");
  check(ms.defined() && ms.rank() == 4 && ms.size(0) == x.size(0) && ms.size(1) == 1 && ms.size(2) == x.size(2) &&
            ms.size(3) == x.size(3),
        op, ": spatial attention of shape ", ms.shape(), " does not broadcast over input of shape ", x.shape(),
        " (expected [", x.size(0), ", 1, ", x.size(2), ", ", x.size(3), "])");
}
}  // namespace detail

template <Scalar T, Backend B>
Tensor<T, B> bam_gate(const Tensor<T, B>& x, const Tensor<T, B>& mc, const Tensor<T, B>& ms, BamCombine combine) {
  detail::check_bam_gate_shapes(x, mc, ms, "bam_gate");
  auto y = Tensor<T, B>::empty(x.shape());
  bam_gate_kernel(B{}, x.data(), mc.data(), ms.data(), x.size(0), x.size(1), x.size(2) * x.size(3),
                  combine == BamCombine::product, y.data());
  return y;
}

template <Scalar T, Backend B>
struct BamGateGradients {
  Tensor<T, B> dx;   // [N, C, H, W]: through the (1 + sigmoid) factor only
  Tensor<T, B> dmc;  // [N, C]
  Tensor<T, B> dms;  // [N, 1, H, W]
};

template <Scalar T, Backend B>
BamGateGradients<T, B> bam_gate_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& mc,
                                         const Tensor<T, B>& ms, BamCombine combine) {
  detail::check_bam_gate_shapes(x, mc, ms, "bam_gate_backward");
  check_shape(dy, x.shape(), "bam_gate_backward: grad");
  BamGateGradients<T, B> g{Tensor<T, B>::empty(x.shape()), Tensor<T, B>::empty(mc.shape()),
                           Tensor<T, B>::empty(ms.shape())};
  bam_gate_backward_kernel(B{}, dy.data(), x.data(), mc.data(), ms.data(), x.size(0), x.size(1),
                           x.size(2) * x.size(3), combine == BamCombine::product, g.dx.data(), g.dmc.data(),
                           g.dms.data());
  return g;
}

}  // namespace hfc
