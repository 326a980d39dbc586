#pragma once
// 2-D convolution, NCHW, with stride, padding, dilation, groups and an optional bias.
#include <cstdint>

#include "hfc/backend/conv2d_dims.hpp"
#include "hfc/core/tensor.hpp"

namespace hfc {

// Validates x [N, C, H, W] against weight [O, C/groups, kh, kw] and returns the full geometry.
template <Scalar T, Backend B>
Conv2dDims conv2d_dims(const Tensor<T, B>& x, const Tensor<T, B>& weight, const Conv2dGeometry& g) {
  check_rank(x, 4, "conv2d: input");
  check_rank(weight, 4, "conv2d: weight");
  check(g.stride_h >= 1 && g.stride_w >= 1, "conv2d: stride must be >= 1, got (", g.stride_h, ", ", g.stride_w, ")");
  check(g.pad_h >= 0 && g.pad_w >= 0, "conv2d: padding must be >= 0, got (", g.pad_h, ", ", g.pad_w, ")");
  check(g.dilation_h >= 1 && g.dilation_w >= 1, "conv2d: dilation must be >= 1, got (", g.dilation_h, ", ",
        g.dilation_w, ")");
  check(g.groups >= 1, "conv2d: groups must be >= 1, got ", g.groups);
  Conv2dDims d{x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3), 0, 0, g};
  check(d.c % g.groups == 0 && d.o % g.groups == 0, "conv2d: groups=", g.groups, " must divide the input channels (",
        d.c, ") and the output channels (", d.o, ")");
  check(weight.size(1) == d.c / g.groups, "conv2d: weight of shape ", weight.shape(), " expects ",
        weight.size(1) * g.groups, " input channels, but the input has shape ", x.shape());
  const std::int64_t eff_h = g.dilation_h * (d.kh - 1) + 1, eff_w = g.dilation_w * (d.kw - 1) + 1;
  d.oh = (d.h + 2 * g.pad_h - eff_h) / g.stride_h + 1;
  d.ow = (d.w + 2 * g.pad_w - eff_w) / g.stride_w + 1;
  check(d.h + 2 * g.pad_h >= eff_h && d.w + 2 * g.pad_w >= eff_w, "conv2d: input of shape ", x.shape(),
        " with padding (", g.pad_h, ", ", g.pad_w, ") is smaller than the dilated kernel ", eff_h, "x", eff_w);
  return d;
}

// y = conv2d(x, weight) + bias into `y`, which holds N O OH OW elements (it may be a view: rows of
// a larger tensor, see Tensor::narrow); bias is [O] or an undefined tensor.
template <Scalar T, Backend B>
void conv2d(const Tensor<T, B>& x, const Tensor<T, B>& weight, const Tensor<T, B>& bias, const Conv2dGeometry& g,
            Tensor<T, B>& y) {
  const Conv2dDims d = conv2d_dims(x, weight, g);
  if (bias.defined()) check_shape(bias, Shape{d.o}, "conv2d: bias");
  check(y.defined() && y.numel() == d.n * d.o * d.oh * d.ow, "conv2d: output of shape ", y.shape(),
        " does not hold the ", Shape{d.n, d.o, d.oh, d.ow}, " result");
  conv2d_forward_kernel(B{}, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr, d, y.data());
}
template <Scalar T, Backend B>
Tensor<T, B> conv2d(const Tensor<T, B>& x, const Tensor<T, B>& weight, const Tensor<T, B>& bias,
                    const Conv2dGeometry& g = {}) {
  const Conv2dDims d = conv2d_dims(x, weight, g);
  auto y = Tensor<T, B>::empty(Shape{d.n, d.o, d.oh, d.ow});
  conv2d(x, weight, bias, g, y);
  return y;
}

// Where conv2d_backward puts its results. Null members are not computed. dx is overwritten
// unless accumulate_dx; weight and bias gradients are always added to.
template <Scalar T, Backend B>
struct Conv2dGradients {
  Tensor<T, B>* dx = nullptr;
  bool accumulate_dx = false;
  Tensor<T, B>* dweight = nullptr;
  Tensor<T, B>* dbias = nullptr;
};

template <Scalar T, Backend B>
void conv2d_backward(const Tensor<T, B>& dy, const Tensor<T, B>& x, const Tensor<T, B>& weight,
                     const Conv2dGeometry& g, const Conv2dGradients<T, B>& out) {
  const Conv2dDims d = conv2d_dims(x, weight, g);
  check_shape(dy, Shape{d.n, d.o, d.oh, d.ow}, "conv2d_backward: grad");
  // Accumulating into an undefined dx means starting from zero: the kernel then overwrites it.
  const bool accumulate = out.dx && out.accumulate_dx && out.dx->defined();
  if (out.dx) {
    if (!accumulate) *out.dx = Tensor<T, B>::empty(x.shape());
    check_shape(*out.dx, x.shape(), "conv2d_backward: dx");
  }
  if (out.dweight) check_shape(*out.dweight, weight.shape(), "conv2d_backward: weight grad");
  if (out.dbias) check_shape(*out.dbias, Shape{d.o}, "conv2d_backward: bias grad");
  conv2d_backward_kernel(B{}, dy.data(), x.data(), weight.data(), d, out.dx ? out.dx->data() : nullptr, accumulate,
                         out.dweight ? out.dweight->data() : nullptr,
                         out.dbias ? out.dbias->data() : nullptr);
}

}  // namespace hfc
