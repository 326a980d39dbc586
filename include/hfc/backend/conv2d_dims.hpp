#pragma once
// The geometry of one 2-D convolution call, shared by the ops front end and every backend.
#include <cstdint>

#include "hfc/backend/host_device.hpp"  // the derived sizes serve host code and cuda kernels alike

namespace hfc {

// torch.nn.Conv2d's hyper-parameters (stride, padding, dilation, groups), as (h, w) pairs.
struct Conv2dGeometry {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;

  static Conv2dGeometry square(std::int64_t stride, std::int64_t padding, std::int64_t dilation = 1,
                               std::int64_t groups = 1) {
    return {stride, stride, padding, padding, dilation, dilation, groups};
  }
};

// Everything a kernel needs: input [n, c, h, w], weight [o, c/groups, kh, kw], output [n, o, oh, ow].
struct Conv2dDims {
  std::int64_t n, c, h, w;
  std::int64_t o, kh, kw;
  std::int64_t oh, ow;
  Conv2dGeometry g;

  HFC_HOST_DEVICE std::int64_t c_per_group() const { return c / g.groups; }
  HFC_HOST_DEVICE std::int64_t o_per_group() const { return o / g.groups; }
  // Rows of the im2col matrix of one group: (c/groups) * kh * kw.
  HFC_HOST_DEVICE std::int64_t patch() const { return c_per_group() * kh * kw; }
  HFC_HOST_DEVICE bool is_pointwise() const {  // 1x1, stride 1, no padding: the input is its own im2col matrix
    return kh == 1 && kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
  }
};

}  // namespace hfc
