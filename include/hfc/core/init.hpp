#pragma once
// torch.nn.init-style initialisers. Values are drawn on the host in row-major order and copied
// to the tensor's backend, so a seed gives the same weights on cpu and cuda.
#include <cmath>
#include <vector>

#include "hfc/core/rng.hpp"
#include "hfc/core/tensor.hpp"

namespace hfc::init {

// fan_in and fan_out of a weight shaped [out, in, k...] (Linear: [out, in]).
inline std::int64_t fan_in(const Shape& w) {
  std::int64_t receptive = 1;
  for (int d = 2; d < w.rank(); ++d) receptive *= w[d];
  return w.rank() >= 2 ? w[1] * receptive : w[0];
}
inline std::int64_t fan_out(const Shape& w) {
  std::int64_t receptive = 1;
  for (int d = 2; d < w.rank(); ++d) receptive *= w[d];
  return w[0] * receptive;
}

template <Scalar T, Backend B = cpu, class Draw>
Tensor<T, B> generate(const Shape& shape, Draw&& draw) {
  std::vector<T> values(static_cast<std::size_t>(shape.numel()));
  for (auto& v : values) v = static_cast<T>(draw());
  return Tensor<T, B>::from(shape, values);
}

template <Scalar T, Backend B = cpu>
Tensor<T, B> uniform(const Shape& shape, double lo, double hi, Rng& rng = default_rng()) {
  return generate<T, B>(shape, [&] { return rng.uniform(lo, hi); });
}
template <Scalar T, Backend B = cpu>
Tensor<T, B> normal(const Shape& shape, double mean, double stddev, Rng& rng = default_rng()) {
  return generate<T, B>(shape, [&] { return rng.normal(mean, stddev); });
}

// torch.nn.init.kaiming_uniform_(w, a): bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)).
// PyTorch's default for Conv2d and Linear weights uses a = sqrt(5), i.e. bound = 1 / sqrt(fan_in).
template <Scalar T, Backend B = cpu>
Tensor<T, B> kaiming_uniform(const Shape& shape, double a = std::sqrt(5.0), Rng& rng = default_rng()) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in(shape)));
  return uniform<T, B>(shape, -bound, bound, rng);
}
// torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), torchvision's conv init.
template <Scalar T, Backend B = cpu>
Tensor<T, B> kaiming_normal_fan_out(const Shape& shape, Rng& rng = default_rng()) {
  return normal<T, B>(shape, 0.0, std::sqrt(2.0 / static_cast<double>(fan_out(shape))), rng);
}
// PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in.
template <Scalar T, Backend B = cpu>
Tensor<T, B> default_bias(std::int64_t channels, const Shape& weight_shape, Rng& rng = default_rng()) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight_shape)));
  return uniform<T, B>(Shape{channels}, -bound, bound, rng);
}

}  // namespace hfc::init
