#pragma once
// From an 8-bit image to the network's input plane: gray, scaled to [0, 1] (ToTensor), bilinear
// resize to size x size, optional augmentation (random crop from a zero-padded image, horizontal
// flip), then normalisation (x - mean) / std. The augmentation draws from a seed per sample, so a
// sample's result does not depend on the thread or the order in which it was made.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "hfc/core/error.hpp"
#include "hfc/core/rng.hpp"
#include "hfc/core/tensor.hpp"
#include "hfc/io/image.hpp"

namespace hfc {

// One plane resized as PyTorch's F.interpolate(mode="bilinear", align_corners=False,
// antialias=False) does it for float tensors: half-pixel centres, source = scale * (dst + 0.5) - 0.5
// clamped at 0, with scale = in / out rounded to float and the source position in double (as
// PyTorch 1.13 computes them; measured equal to within 1e-7 at 640x490 -> 224), and no
// antialiasing when shrinking.
inline void resize_bilinear(std::span<const float> src, int in_h, int in_w, std::span<float> dst, int out_h,
                            int out_w) {
  check(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0, "resize_bilinear: sizes must be positive, got ", in_h, "x",
        in_w, " -> ", out_h, "x", out_w);
  check(src.size() == std::size_t(in_h) * std::size_t(in_w) && dst.size() == std::size_t(out_h) * std::size_t(out_w),
        "resize_bilinear: buffer sizes do not match ", in_h, "x", in_w, " -> ", out_h, "x", out_w);
  struct Tap {
    int i0, i1;
    float w0, w1;
  };
  auto taps = [](int in, int out) {
    const float scale = float(in) / float(out);
    std::vector<Tap> t(static_cast<std::size_t>(out));
    for (int o = 0; o < out; ++o) {
      const double source = std::max(scale * (o + 0.5) - 0.5, 0.0);
      const int i0 = static_cast<int>(source);
      const auto lambda = static_cast<float>(std::min(source - i0, 1.0));
      t[std::size_t(o)] = {i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0f - lambda, lambda};
    }
    return t;
  };
  const auto rows = taps(in_h, out_h), cols = taps(in_w, out_w);
  for (int y = 0; y < out_h; ++y) {
    const Tap r = rows[std::size_t(y)];
    const float* top = src.data() + std::size_t(r.i0) * std::size_t(in_w);
    const float* bottom = src.data() + std::size_t(r.i1) * std::size_t(in_w);
    float* out = dst.data() + std::size_t(y) * std::size_t(out_w);
    for (int x = 0; x < out_w; ++x) {
      const Tap c = cols[std::size_t(x)];
      out[x] = r.w0 * (c.w0 * top[c.i0] + c.w1 * top[c.i1]) + r.w1 * (c.w0 * bottom[c.i0] + c.w1 * bottom[c.i1]);
    }
  }
}

struct TransformOptions {
  int size = 48;              // output side; the paper upscales to 224
  float mean = 0.5f;          // normalisation of the [0, 1] values: (x - mean) / std
  float std = 0.5f;
  bool flip = false;          // mirror left-right with probability 1/2
  int crop_padding = 0;       // crop size x size at a random offset from the image zero-padded by this much
};

class ImageTransform {
 public:
  explicit ImageTransform(TransformOptions options = {}) : options_(options) {
    check(options.size > 0, "ImageTransform: size must be positive, got ", options.size);
    check(options.std > 0, "ImageTransform: std must be positive, got ", options.std);
    check(options.crop_padding >= 0, "ImageTransform: crop_padding must be >= 0, got ", options.crop_padding);
  }

  const TransformOptions& options() const { return options_; }
  int size() const { return options_.size; }
  bool augments() const { return options_.flip || options_.crop_padding > 0; }

  // Writes size() x size() floats for `image` (gray or RGB). `seed` draws the augmentation.
  void apply(const Image& image, std::span<float> out, std::uint64_t seed = 0) const {
    const int s = options_.size;
    check(out.size() == std::size_t(s) * std::size_t(s), "ImageTransform: output holds ", out.size(),
          " values, expected ", s, "x", s);
    const Image gray = to_gray(image);
    std::vector<float> plane(gray.pixels.size());
    std::transform(gray.pixels.begin(), gray.pixels.end(), plane.begin(), [](std::uint8_t v) { return float(v) / 255.0f; });
    std::vector<float> resized(out.size());
    resize_bilinear(plane, gray.height, gray.width, resized, s, s);

    int dy = 0, dx = 0;  // where the crop starts in the padded image, minus the padding
    bool mirror = false;
    if (augments()) {
      Rng rng(seed);
      const int p = options_.crop_padding;
      if (p > 0) {
        dy = static_cast<int>(rng.below(std::uint64_t(2 * p + 1))) - p;
        dx = static_cast<int>(rng.below(std::uint64_t(2 * p + 1))) - p;
      }
      mirror = options_.flip && rng.uniform() < 0.5;
    }
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x) {
        const int sy = y + dy, sx = (mirror ? s - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < s && sx >= 0 && sx < s;
        const float v = inside ? resized[std::size_t(sy) * std::size_t(s) + std::size_t(sx)] : 0.0f;
        out[std::size_t(y) * std::size_t(s) + std::size_t(x)] = (v - options_.mean) / options_.std;
      }
  }

  // One image as a [1, 1, size, size] tensor (for predicting on a single image).
  Tensor<float> operator()(const Image& image, std::uint64_t seed = 0) const {
    auto t = Tensor<float>::empty(Shape{1, 1, options_.size, options_.size});
    apply(image, t.span(), seed);
    return t;
  }

 private:
  TransformOptions options_;
};

}  // namespace hfc
