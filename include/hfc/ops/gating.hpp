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

// Writes into out.dx and out.dz, which must have the shapes of x and gate. An undefined out.dx is
// not computed (see gated_projection_backward, which writes it together with another branch's
// gradient).
template <Scalar T, Backend B>
void sigmoid_gate_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate,
                           GateGradients<T, B>& out) {
  detail::check_gate_shapes(gate, x, "sigmoid_gate_backward");
  check_shape(dy, x.shape(), "sigmoid_gate_backward: grad");
  if (out.dx.defined()) check_shape(out.dx, x.shape(), "sigmoid_gate_backward: dx");
  check_shape(out.dz, gate.shape(), "sigmoid_gate_backward: dz");
  sigmoid_gate_backward_kernel(B{}, dy.data(), x.data(), gate.data(), x.size(0), x.size(1), x.size(2) * x.size(3),
                               out.dx.defined() ? out.dx.data() : nullptr, out.dz.data());
}

template <Scalar T, Backend B>
GateGradients<T, B> sigmoid_gate_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate) {
  GateGradients<T, B> g{Tensor<T, B>::empty(x.shape()), Tensor<T, B>::empty(gate.shape())};
  sigmoid_gate_backward(dy, x, gate, g);
  return g;
}

// The input gradient of x [N, C, H, W] when x feeds both a sigmoid gate, y = gate * x, and a
// 1x1 convolution to one channel without bias, k = sum_c weight_c x_c (HfcAttention's x~):
// dx = gate * dy + weight_c * dk is written into dx (x's shape), and sum x * dk is added to
// dweight ([1, C, 1, 1]), in one pass over dy and x. dk: [N, 1, H, W].
template <Scalar T, Backend B>
void gated_projection_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate,
                               const Tensor<T, B>& weight, const Tensor<T, B>& dk, Tensor<T, B>& dx,
                               Tensor<T, B>& dweight) {
  detail::check_gate_shapes(gate, x, "gated_projection_backward");
  check_shape(dy, x.shape(), "gated_projection_backward: grad");
  check_shape(dk, gate.shape(), "gated_projection_backward: dk");
  check_shape(weight, Shape{1, x.size(1), 1, 1}, "gated_projection_backward: weight");
  check_shape(dweight, weight.shape(), "gated_projection_backward: weight grad");
  check_shape(dx, x.shape(), "gated_projection_backward: dx");
  gated_projection_backward_kernel(B{}, dy.data(), x.data(), gate.data(), weight.data(), dk.data(), x.size(0),
                                   x.size(1), x.size(2) * x.size(3), dx.data(), dweight.data());
}

}  // namespace hfc
