#pragma once
// `hfcnet gradcam`: for each image, PNGs of
//   <name>_gradcam.png        Grad-CAM of the last conv block over the input, jet-coloured (Fig. 9)
//   <name>_input.png          the network's input (gray, resized)
//   <name>_attention<i>.png   each HFC module's attention map a, min..max scaled (modules 0, 1, ...)
//   <name>_high.png, _low.png the input's high- and low-frequency components (Figs. 2-3), with the
//                             modules' filters (ideal, cutoff 0.25)
// Small inputs are enlarged (nearest neighbour) so that a 48 px face is visible.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <hfc/data/all.hpp>
#include <hfc/hfc.hpp>

#include "model.hpp"

namespace hfcnet {

struct GradcamFlags {
  std::filesystem::path weights, out;
  ModelOverrides model;
  std::vector<std::filesystem::path> images;
  std::string class_name;  // name or index; empty: the predicted class
};

namespace detail {

// A plane of floats resized to size x size (bilinear) and scaled from its min..max to [0, 1].
inline std::vector<float> display_plane(const float* data, int h, int w, int size) {
  std::vector<float> out(std::size_t(size) * std::size_t(size));
  hfc::resize_bilinear({data, std::size_t(h) * std::size_t(w)}, h, w, out, size, size);
  const auto [lo, hi] = std::minmax_element(out.begin(), out.end());
  const float low = *lo, range = std::max(*hi - *lo, 1e-12f);
  for (auto& v : out) v = (v - low) / range;
  return out;
}

// Matplotlib-like jet: blue, cyan, yellow, red.
inline std::array<float, 3> jet(float v) {
  auto ramp = [&](float centre) { return std::clamp(1.5f - std::abs(4 * v - centre), 0.0f, 1.0f); };
  return {ramp(3), ramp(2), ramp(1)};
}

// An image of size x size planes (values in [0, 1]), each pixel repeated `zoom` times.
template <class Pixel>
hfc::Image render(int size, int zoom, int channels, Pixel&& pixel) {
  hfc::Image image(size * zoom, size * zoom, channels);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const auto rgb = pixel(std::size_t(y / zoom) * std::size_t(size) + std::size_t(x / zoom));
      for (int c = 0; c < channels; ++c)
        image.at(y, x, c) = static_cast<std::uint8_t>(std::lround(255 * std::clamp(rgb[std::size_t(c)], 0.0f, 1.0f)));
    }
  return image;
}

inline std::int64_t class_index(const std::string& name, const std::vector<std::string>& classes) {
  if (name.empty()) return -1;
  for (std::size_t c = 0; c < classes.size(); ++c)
    if (hfc::detail::lowercase(classes[c]) == hfc::detail::lowercase(name)) return std::int64_t(c);
  try {
    const auto c = std::stoll(name);
    if (c >= 0 && c < std::int64_t(classes.size())) return c;
  } catch (const std::exception&) {
  }
  throw UsageError("--class " + name + ": not a class of the weights (" + nlohmann::json(classes).dump() + ")");
}

}  // namespace detail

inline int run_gradcam(const GradcamFlags& f) {
  auto loaded = load_model(f.weights, f.model);
  const auto& info = loaded->info;
  const auto target = detail::class_index(f.class_name, info.classes);
  const hfc::ImageTransform transform(info.transform());
  const int size = info.image_size, zoom = std::max(1, 192 / size);
  std::filesystem::create_directories(f.out);
  const hfc::HfcOptions filters;  // the modules' default filters

  for (const auto& path : f.images) {
    const auto x = transform(hfc::read_image(path));
    const std::string stem = (f.out / path.stem()).string();
    auto write = [&](const std::string& suffix, const hfc::Image& image) {
      hfc::write_png(stem + suffix, image);
      std::printf("  wrote %s%s\n", stem.c_str(), suffix.c_str());
    };
    std::visit(
        [&](auto& net) {
          const auto result = hfc::grad_cam(net, x, {target});
          const auto probabilities = hfc::softmax_rows(result.logits);
          const auto c = std::size_t(result.classes[0]);
          std::printf("%s: Grad-CAM for %s (probability %.1f%%)\n", path.string().c_str(), info.classes[c].c_str(),
                      100 * probabilities.data()[c]);
          // The input as the network saw it, back in [0, 1].
          std::vector<float> input(x.span().begin(), x.span().end());
          for (auto& v : input) v = v * info.std + info.mean;
          const auto cam = detail::display_plane(result.cam.data(), int(result.cam.size(2)), int(result.cam.size(3)), size);
          write("_input.png", detail::render(size, zoom, 1, [&](std::size_t i) { return std::array<float, 1>{input[i]}; }));
          write("_gradcam.png", detail::render(size, zoom, 3, [&](std::size_t i) {
                  const auto colour = detail::jet(cam[i]);
                  std::array<float, 3> out{};
                  for (std::size_t k = 0; k < 3; ++k) out[k] = 0.5f * input[i] + 0.5f * colour[k];
                  return out;
                }));
          for (std::size_t m = 0; m < net.attention.size(); ++m) {
            if (net.attention[m]->is_bam()) continue;
            const auto& a = net.attention[m]->hfc_attention().attention_map();
            const auto plane = detail::display_plane(a.data(), int(a.size(2)), int(a.size(3)), size);
            write("_attention" + std::to_string(m) + ".png",
                  detail::render(size, zoom, 1, [&](std::size_t i) { return std::array<float, 1>{plane[i]}; }));
          }
          for (const auto& [suffix, filter] : {std::pair{"_high.png", filters.high_pass()}, {"_low.png", filters.low_pass()}}) {
            const auto band = hfc::frequency_filter(x, filter);
            const auto plane = detail::display_plane(band.data(), size, size, size);
            write(suffix, detail::render(size, zoom, 1, [&](std::size_t i) { return std::array<float, 1>{plane[i]}; }));
          }
        },
        *loaded->net);
  }
  return 0;
}

}  // namespace hfcnet
