#pragma once
// Sigmoid gating (the paper's eqs. 9-10 after the conv): y = sigmoid(z) * x, with one gate map
// z [N, 1, H, W] broadcast over the C channels of x [N, C, H, W].
#include "hfc/core/tensor.hpp"

namespace hfc {

template <Scalar T, Backend B>
struct GateResult {
  Tensor<T, B> y;     // [N, C, H, W]
  Tensor<T, B> gate;  // sigmoid(z), [N, 1, H, W]: the attention map, kept for backward
};

namespace detail {
template <Scalar T, Backend B>
void check_gate_shapes(const Tensor<T, B>& z, const Tensor<T, B>& x, const char* op) {
  check_rank(x, 4, op);
  check_rank(z, 4, op);
  check(z.size(0) == x.size(0) && z.size(1) == 1 && z.size(2) == x.size(2) && z.size(3) == x.size(3), op,
        ": gate of shape ", z.shape(), " does not broadcast over input of shape ", x.shape(), " (expected [",
        x.size(0), ", 1, ", x.size(2), ", ", x.size(3), "])");
}
}  // namespace detail

template <Scalar T, Backend B>
GateResult<T, B> sigmoid_gate(const Tensor<T, B>& z, const Tensor<T, B>& x) {
  detail::check_gate_shapes(z, x, "sigmoid_gate");
  GateResult<T, B> r{Tensor<T, B>::empty(x.shape()), Tensor<T, B>::empty(z.shape())};
  sigmoid_gate_kernel(B{}, z.data(), x.data(), x.size(0), x.size(1), x.size(2) * x.size(3), r.gate.data(),
                      r.y.data());
  return r;
}

template <Scalar T, Backend B>
struct GateGradients {
  Tensor<T, B> dx;  // sigmoid(z) * dy
  Tensor<T, B> dz;  // sigmoid'(z) * sum_c dy * x
};

template <Scalar T, Backend B>
GateGradients<T, B> sigmoid_gate_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate) {
  detail::check_gate_shapes(gate, x, "sigmoid_gate_backward");
  check_shape(dy, x.shape(), "sigmoid_gate_backward: grad");
  GateGradients<T, B> g{Tensor<T, B>::empty(x.shape()), Tensor<T, B>::empty(gate.shape())};
  sigmoid_gate_backward_kernel(B{}, dy.data(), x.data(), gate.data(), x.size(0), x.size(1), x.size(2) * x.size(3),
                               g.dx.data(), g.dz.data());
  return g;
}

}  // namespace hfc
