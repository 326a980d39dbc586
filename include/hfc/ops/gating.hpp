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

namespace detail {
template <Scalar T, Backend B>
void check_projection_shapes(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate,
                             const Tensor<T, B>& weight, const Tensor<T, B>& dx, const Tensor<T, B>& dweight) {
  check_gate_shapes(gate, x, "gated_projection_backward");
  check_shape(dy, x.shape(), "gated_projection_backward: grad");
  check_shape(weight, Shape{1, x.size(1), 1, 1}, "gated_projection_backward: weight");
  check_shape(dweight, weight.shape(), "gated_projection_backward: weight grad");
  check_shape(dx, x.shape(), "gated_projection_backward: dx");
}
}  // namespace detail

// The input gradient of x [N, C, H, W] when x feeds both a sigmoid gate, y = gate * x, and a
// 1x1 convolution to one channel without bias, k = sum_c weight_c x_c (HfcAttention's x~):
// dx = gate * dy + weight_c * dk is written into dx (x's shape), and sum x * dk is added to
// dweight ([1, C, 1, 1]), in one pass over dy and x. dk: [N, 1, H, W].
template <Scalar T, Backend B>
void gated_projection_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate,
                               const Tensor<T, B>& weight, const Tensor<T, B>& dk, Tensor<T, B>& dx,
                               Tensor<T, B>& dweight) {
  detail::check_projection_shapes(dy, x, gate, weight, dx, dweight);
  check_shape(dk, gate.shape(), "gated_projection_backward: dk");
  gated_projection_backward_kernel(B{}, dy.data(), x.data(), gate.data(), weight.data(), dk.data(), x.size(0),
                                   x.size(1), x.size(2) * x.size(3), dx.data(), dweight.data());
}

// gated_projection_backward when dk is a function of the gate's gradient dz (as in HfcAttention,
// where dz flows back through the attention branch to x~): writes dz (the gate's shape), calls
// map_gradient(dz_rows, dk_rows, first) to fill dk_rows from dz_rows, the rows [first, first +
// rows) of both, for ranges of samples that together cover the batch, then writes dx and adds to
// dweight. When the batch's dy and x exceed the cache, the cpu backend takes each thread's samples
// a few at a time through all three steps (backend/cpu/gating.hpp), so map_gradient may run on
// several threads at once, each on its own rows; whatever else it writes must be its rows' own
// too. An exception from it is rethrown here.
template <Scalar T, Backend B, class MapGradient>
void gated_projection_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& gate,
                               const Tensor<T, B>& weight, MapGradient&& map_gradient, Tensor<T, B>& dz,
                               Tensor<T, B>& dx, Tensor<T, B>& dweight) {
  detail::check_projection_shapes(dy, x, gate, weight, dx, dweight);
  check_shape(dz, gate.shape(), "gated_projection_backward: dz");
  auto dk = Tensor<T, B>::empty(gate.shape());
  auto fill_rows = [&](std::int64_t first, std::int64_t rows) {
    auto dk_rows = dk.narrow(first, rows);
    const T* where = dk_rows.data();
    map_gradient(dz.narrow(first, rows), dk_rows, first);
    check(dk_rows.data() == where && dk_rows.numel() == rows * x.size(2) * x.size(3),
          "gated_projection_backward: the map gradient must write into the dk rows it is given, not replace them");
  };
  chained_gate_backward_kernel(B{}, dy.data(), x.data(), gate.data(), weight.data(), x.size(0), x.size(1),
                               x.size(2) * x.size(3), fill_rows, dz.data(), dk.data(), dx.data(), dweight.data());
}

}  // namespace hfc
