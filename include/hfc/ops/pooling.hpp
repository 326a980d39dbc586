#pragma once
// Max pooling (torch.nn.MaxPool2d, square window, floor mode) and global average pooling
// (torch.nn.AdaptiveAvgPool2d(1)), NCHW.
#include <cstdint>

#include "hfc/core/tensor.hpp"

namespace hfc {

struct MaxPoolGeometry {
  std::int64_t kernel = 3, stride = 2, padding = 1;  // torchvision ResNet's stem pool
};

template <Scalar T, Backend B>
struct MaxPoolResult {
  Tensor<T, B> y;
  Tensor<std::int64_t, B> argmax;  // flat index of each output's maximum in its input plane
};

namespace detail {
inline std::int64_t pooled_size(std::int64_t in, const MaxPoolGeometry& g) {
  return (in + 2 * g.padding - g.kernel) / g.stride + 1;
}
}  // namespace detail

template <Scalar T, Backend B>
MaxPoolResult<T, B> max_pool2d(const Tensor<T, B>& x, const MaxPoolGeometry& g = {}) {
  check_rank(x, 4, "max_pool2d: input");
  check(g.kernel >= 1 && g.stride >= 1 && g.padding >= 0, "max_pool2d: kernel ", g.kernel, ", stride ", g.stride,
        " and padding ", g.padding, " must be >= 1, >= 1 and >= 0");
  check(2 * g.padding <= g.kernel, "max_pool2d: padding ", g.padding, " must be at most half the kernel ", g.kernel);
  const std::int64_t h = x.size(2), w = x.size(3);
  check(h + 2 * g.padding >= g.kernel && w + 2 * g.padding >= g.kernel, "max_pool2d: input of shape ", x.shape(),
        " is smaller than the ", g.kernel, "x", g.kernel, " window");
  const std::int64_t oh = detail::pooled_size(h, g), ow = detail::pooled_size(w, g);
  const Shape out{x.size(0), x.size(1), oh, ow};
  MaxPoolResult<T, B> r{Tensor<T, B>::empty(out), Tensor<std::int64_t, B>::empty(out)};
  max_pool_kernel(B{}, x.data(), x.size(0) * x.size(1), h, w, g.kernel, g.stride, g.padding, oh, ow, r.y.data(),
                  r.argmax.data());
  return r;
}

// `input` and `g` are the forward's input shape and geometry.
template <Scalar T, Backend B>
Tensor<T, B> max_pool2d_backward(const Tensor<T, B>& dy, const Tensor<std::int64_t, B>& argmax, const Shape& input,
                                 const MaxPoolGeometry& g) {
  check(input.rank() == 4, "max_pool2d_backward: input shape ", input, " is not 4-d");
  check_shape(dy, Shape{input[0], input[1], detail::pooled_size(input[2], g), detail::pooled_size(input[3], g)},
              "max_pool2d_backward: grad");
  check_shape(argmax, dy.shape(), "max_pool2d_backward: argmax");
  auto dx = Tensor<T, B>::empty(input);
  max_pool_backward_kernel(B{}, dy.data(), argmax.data(), input[0] * input[1], input[2], input[3], g.kernel, g.stride,
                           g.padding, dy.size(2), dy.size(3), dx.data());
  return dx;
}

// [N, C, H, W] -> [N, C, 1, 1], the mean of each plane.
template <Scalar T, Backend B>
Tensor<T, B> global_avg_pool2d(const Tensor<T, B>& x) {
  check_rank(x, 4, "global_avg_pool2d: input");
  auto y = Tensor<T, B>::empty(Shape{x.size(0), x.size(1), 1, 1});
  global_avg_pool_kernel(B{}, x.data(), x.size(0) * x.size(1), x.size(2) * x.size(3), y.data());
  return y;
}

template <Scalar T, Backend B>
Tensor<T, B> global_avg_pool2d_backward(const Tensor<T, B>& dy, const Shape& input) {
  check_shape(dy, Shape{input[0], input[1], 1, 1}, "global_avg_pool2d_backward: grad");
  auto dx = Tensor<T, B>::empty(input);
  global_avg_pool_backward_kernel(B{}, dy.data(), input[0] * input[1], input[2] * input[3], false, dx.data());
  return dx;
}

// Adds the gradient into dx (the input's shape): for a parent whose input also feeds another
// branch, without a temporary of the input's size.
template <Scalar T, Backend B>
void global_avg_pool2d_backward_add(const Tensor<T, B>& dy, Tensor<T, B>& dx) {
  check_rank(dx, 4, "global_avg_pool2d_backward_add: dx");
  check_shape(dy, Shape{dx.size(0), dx.size(1), 1, 1}, "global_avg_pool2d_backward_add: grad");
  global_avg_pool_backward_kernel(B{}, dy.data(), dx.size(0) * dx.size(1), dx.size(2) * dx.size(3), true, dx.data());
}

}  // namespace hfc
