// Drops hfc::HfcAttention into user code: a feature map in, a refined feature map out, gradients
// back to the input and into the module's C + 49 weights.
//
//   hfc_attention_demo [--out DIR] [--channels C] [--steps N]
//
// It draws a synthetic face-like image, writes it with its high- and low-frequency components
// (the paper's Fig. 2) and the module's attention map as PNGs, and fits the module for a few SGD
// steps to show the loss going down.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <hfc/hfc.hpp>
#include <hfc/io/image.hpp>

namespace {

// A 48x48 image: a smooth oval "face", two eyes, a mouth and a few fine wrinkles.
hfc::Tensor<float> draw_face(std::int64_t size) {
  hfc::Tensor<float> img({1, 1, size, size});
  const double c = (size - 1) / 2.0;
  for (std::int64_t y = 0; y < size; ++y)
    for (std::int64_t x = 0; x < size; ++x) {
      const double dx = (x - c) / (0.38 * size), dy = (y - c) / (0.46 * size);
      double v = 0.2 + 0.6 * std::exp(-0.5 * (dx * dx + dy * dy) * 2.0);
      for (double ex : {-0.35, 0.35}) {  // eyes
        const double ux = (x - c - ex * size * 0.45) / (0.06 * size), uy = (y - c + 0.12 * size) / (0.04 * size);
        v -= 0.5 * std::exp(-(ux * ux + uy * uy));
      }
      const double mx = (x - c) / (0.18 * size), my = (y - c - 0.22 * size) / (0.03 * size);
      v -= 0.4 * std::exp(-(mx * mx + my * my));  // mouth
      if (std::abs(y - c - 0.15 * size) < 0.08 * size && std::abs(std::abs(x - c) - 0.25 * size) < 0.05 * size)
        v += 0.08 * std::sin(2.5 * x);  // wrinkles: fine, high-frequency detail
      img(0, 0, y, x) = static_cast<float>(v);
    }
  return img;
}

// Writes a [h, w] slice as an 8-bit grayscale PNG, scaled to its own min..max.
void write_png(const std::filesystem::path& path, const float* data, std::int64_t h, std::int64_t w, int scale = 4) {
  float lo = data[0], hi = data[0];
  for (std::int64_t i = 0; i < h * w; ++i) lo = std::min(lo, data[i]), hi = std::max(hi, data[i]);
  hfc::Image image(int(w * scale), int(h * scale), 1);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      image.at(y, x) = static_cast<std::uint8_t>(255.0f * (data[(y / scale) * w + x / scale] - lo) /
                                                 std::max(hi - lo, 1e-12f));
  hfc::write_png(path, image);
  std::printf("  wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) try {
  std::filesystem::path out = "hfc_demo";
  std::int64_t channels = 16;
  int steps = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) hfc::fail("option ", arg, " needs a value");
      return argv[++i];
    };
    auto number = [&](auto& target) {
      const std::string text = value();
      if (!hfc::parse_number(text, target) || target < 1)
        hfc::fail("option ", arg, ": '", text, "' is not a positive integer");
    };
    if (arg == "--out") out = value();
    else if (arg == "--channels") number(channels);
    else if (arg == "--steps") number(steps);
    else if (arg == "--help" || arg == "-h") {
      std::puts("usage: hfc_attention_demo [--out DIR] [--channels C] [--steps N]");
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (try --help)\n", arg.c_str());
      return 2;
    }
  }
  std::filesystem::create_directories(out);
  hfc::manual_seed(0);

  // A stand-in for your backbone: one conv layer turning images into C feature maps.
  const std::int64_t batch = 8, size = 48;
  auto image = draw_face(size);
  hfc::Tensor<float> images({batch, 1, size, size});
  hfc::Rng noise(1);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t p = 0; p < size * size; ++p)
      images.data()[b * size * size + p] = image.data()[p] + 0.05f * static_cast<float>(noise.normal());
  hfc::Conv2d<float> backbone(hfc::Conv2dOptions::square(1, channels, 3, 1, 1));
  const auto features = backbone.forward(images);

  // The module: ideal high-pass, cutoff 0.25, query HFC(x~), key x~ (DESIGN.md defaults).
  hfc::HfcAttention<float> attention(channels);
  std::printf("HfcAttention(%lld channels): %lld parameters (C + 49)\n", static_cast<long long>(channels),
              static_cast<long long>(hfc::parameter_count(attention)));
  attention.for_each_parameter([](std::string_view name, auto& p) {
    std::ostringstream shape;
    shape << p.value.shape();
    std::printf("  %-18.*s shape %s\n", int(name.size()), name.data(), shape.str().c_str());
  });

  std::puts("Figures:");
  write_png(out / "input.png", image.data(), size, size);
  write_png(out / "high_frequency.png", hfc::frequency_filter(image, hfc::IdealHighPass{0.25}).data(), size, size);
  write_png(out / "low_frequency.png", hfc::frequency_filter(image, hfc::IdealLowPass{0.25}).data(), size, size);

  // Fit the module so that it passes 70% of each feature through: the loss is the mean squared
  // difference between y = a * x and 0.7 x, so only the attention map a has to move.
  std::printf("Fitting the attention map towards 0.7 with SGD (%d steps):\n", steps);
  const float lr = 20.0f;
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step <= steps; ++step) {
    const auto y = attention.forward(features);
    hfc::Tensor<float> grad(y.shape());
    double loss = 0;
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      const float diff = y.data()[i] - 0.7f * features.data()[i];
      loss += double(diff) * diff;
      grad.data()[i] = 2.0f * diff / static_cast<float>(y.numel());
    }
    loss /= static_cast<double>(y.numel());
    hfc::zero_grad(attention);
    attention.backward(grad);
    attention.for_each_parameter([&](std::string_view, auto& p) { hfc::add_(p.value, p.grad, -lr); });
    if (step % 5 == 0) std::printf("  step %2d  loss %.6f\n", step, loss);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  %.2f ms per forward+backward at batch %lld, %lldx%lldx%lld\n", ms / (steps + 1),
              static_cast<long long>(batch), static_cast<long long>(channels), static_cast<long long>(size),
              static_cast<long long>(size));
  write_png(out / "attention_map.png", attention.attention_map().data(), size, size);
  return 0;
} catch (const hfc::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
