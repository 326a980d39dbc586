#pragma once
// The built-in synthetic expression set. It is NOT facial-expression data: the images are cartoon
// faces drawn by this code, for running and testing the trainer without downloading a dataset.
// Accuracy on it says nothing about FER2013, JAFFE or CK+.
//
// Each sample is a 48x48 (or size x size) gray face in one of FER2013's 7 classes. The person
// varies (face size and shape, skin tone, hair, feature placement, tilt, position), and so do the
// background, a lighting gradient and pixel noise. The expression shows only in small local
// features, at a random intensity and with jitter: brow height and angle, eye openness, mouth
// curve, width and opening, nose wrinkles (disgust) and a frown furrow (anger), so a classifier
// has to find a few pixels that matter among many that vary. Sample i is drawn from (seed, i)
// alone and has label i % 7, so the classes are balanced and a seed gives the same set anywhere.
// write_image_folder (CK+48 layout) and write_fer2013_csv put it on disk in the real formats.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hfc/core/rng.hpp"
#include "hfc/data/dataset.hpp"
#include "hfc/data/seed.hpp"

namespace hfc {

namespace detail {

// What one face looks like, in the face's own frame: u across (-1..1 is the face's width), v down
// (-1..1 its height).
struct FaceParams {
  // The person and the picture.
  double cx, cy, half_width, half_height, tilt;
  double skin, background, background_slope, hair, hairline, contrast;
  double light, light_angle, noise;
  double eye_u, eye_v, eye_half_width, brow_gap, brow_thickness, mouth_v, mouth_half_width;
  bool has_hair;
  // The expression.
  double brow_raise = 0, brow_tilt = 0, brow_arch = 0;  // v offsets: raise < 0 lifts; tilt > 0 lowers the inner ends
  double eye_open = 0.075;                              // eye half-height
  double mouth_curve = 0, mouth_open = 0, mouth_width = 1, mouth_skew = 0;
  double teeth = 0, nose_wrinkle = 0, furrow = 0;
};

inline FaceParams random_face(int label, Rng& r) {
  FaceParams f{};
  f.cx = 24 + r.uniform(-2.5, 2.5);
  f.cy = 25 + r.uniform(-2.5, 2.5);
  f.half_width = r.uniform(14.5, 17.5);
  f.half_height = f.half_width * r.uniform(1.12, 1.3);
  f.tilt = r.uniform(-0.14, 0.14);
  f.skin = r.uniform(0.42, 0.82);
  f.background = r.uniform(0.05, 0.95);
  f.background_slope = r.uniform(-0.25, 0.25);
  f.has_hair = r.uniform() < 0.85;
  f.hair = r.uniform(0.03, 0.45);
  f.hairline = r.uniform(-0.82, -0.6);
  f.contrast = r.uniform(0.55, 0.9);
  f.light = r.uniform(0.0, 0.22);
  f.light_angle = r.uniform(0.0, 6.283185307179586);
  f.noise = r.uniform(0.01, 0.045);
  f.eye_u = r.uniform(0.33, 0.41);
  f.eye_v = r.uniform(-0.2, -0.1);
  f.eye_half_width = r.uniform(0.14, 0.18);
  f.brow_gap = r.uniform(0.17, 0.22);
  f.brow_thickness = r.uniform(0.03, 0.045);
  f.mouth_v = r.uniform(0.42, 0.52);
  f.mouth_half_width = r.uniform(0.27, 0.35);

  // The expression at a random intensity, each feature jittered so classes are not clean cuts.
  const double t = r.uniform(0.6, 1.0);
  switch (label) {
    case 0:  // Angry: brows down and drawn together, narrowed eyes, pressed mouth, a frown furrow
      f.brow_raise = 0.05 * t, f.brow_tilt = 0.1 * t, f.eye_open -= 0.025 * t;
      f.mouth_curve = -0.03 * t, f.mouth_width = 1 - 0.15 * t, f.furrow = t;
      break;
    case 1:  // Disgust: lowered brows, wrinkled nose, raised and skewed upper lip
      f.brow_raise = 0.03 * t, f.brow_tilt = 0.04 * t, f.eye_open -= 0.03 * t, f.nose_wrinkle = t;
      f.mouth_curve = -0.04 * t, f.mouth_skew = 0.07 * t, f.mouth_open = 0.02 * t;
      break;
    case 2:  // Fear: raised brows with the inner ends up, wide eyes, a stretched open mouth
      f.brow_raise = -0.07 * t, f.brow_tilt = -0.06 * t, f.eye_open += 0.035 * t;
      f.mouth_open = 0.05 * t, f.mouth_width = 1 + 0.15 * t, f.mouth_curve = -0.02 * t;
      break;
    case 3:  // Happy: squinted eyes, a wide smile showing teeth
      f.eye_open -= 0.025 * t, f.mouth_curve = 0.11 * t, f.mouth_open = 0.035 * t;
      f.mouth_width = 1 + 0.15 * t, f.teeth = t;
      break;
    case 4:  // Sad: inner brow ends up, slightly closed eyes, mouth corners down
      f.brow_tilt = -0.08 * t, f.brow_raise = -0.01 * t, f.eye_open -= 0.015 * t;
      f.mouth_curve = -0.09 * t, f.mouth_width = 1 - 0.05 * t;
      break;
    case 5:  // Surprise: high arched brows, wide eyes, a round open mouth
      f.brow_raise = -0.12 * t, f.brow_arch = 0.05 * t, f.eye_open += 0.04 * t;
      f.mouth_open = 0.13 * t, f.mouth_width = 1 - 0.4 * t;
      break;
    default:  // Neutral
      break;
  }
  f.brow_raise += r.normal(0, 0.012);
  f.brow_tilt += r.normal(0, 0.012);
  f.eye_open = std::max(0.02, f.eye_open + r.normal(0, 0.008));
  f.mouth_curve += r.normal(0, 0.012);
  f.mouth_open = std::max(0.0, f.mouth_open + r.normal(0, 0.006));
  return f;
}

inline double mix(double from, double to, double amount) { return from + (to - from) * amount; }

// The face's intensity at canonical point (x, y) of a 48x48 frame, before noise.
inline double face_intensity(const FaceParams& f, double x, double y) {
  const double c = std::cos(f.tilt), s = std::sin(f.tilt);
  const double dx = x - f.cx, dy = y - f.cy;
  const double u = (c * dx + s * dy) / f.half_width, v = (-s * dx + c * dy) / f.half_height;
  const double light = f.light * ((x - 24) * std::cos(f.light_angle) + (y - 24) * std::sin(f.light_angle)) / 24;
  const double r2 = u * u + v * v;

  double value = f.background + f.background_slope * (y - 24) / 24;
  if (std::abs(u) < 0.5 && v > 0.7) value = f.skin * 0.85;  // neck
  const bool in_hair = f.has_hair && u * u + (v + 0.08) * (v + 0.08) < 1.12 * 1.12 && v < f.hairline + 0.25 * u * u;
  if (in_hair) value = f.hair;
  if (r2 < 1 && !in_hair) {
    value = f.skin * (1 - 0.18 * r2);
    const double dark = f.skin * (1 - f.contrast);
    // Eyes: dark almonds, their height the eye openness.
    for (const double side : {-1.0, 1.0}) {
      const double eu = (u - side * f.eye_u) / f.eye_half_width, ev = (v - f.eye_v) / f.eye_open;
      if (eu * eu + ev * ev < 1) value = dark;
      // Brow: a thick curve from the inner end (t = 0) to the outer end (t = 1).
      const double bt = (side * u - (f.eye_u - 0.17)) / 0.34;
      if (bt >= 0 && bt <= 1) {
        const double centre = f.eye_v - f.brow_gap + f.brow_raise + f.brow_tilt * (0.5 - bt) -
                              f.brow_arch * (1 - (2 * bt - 1) * (2 * bt - 1));
        if (std::abs(v - centre) < f.brow_thickness) value = mix(value, std::min(dark, f.hair), 0.9);
      }
    }
    // Anger's furrow: two short vertical lines between the brows.
    if (f.furrow > 0 && std::abs(std::abs(u) - 0.07) < 0.035 && v > f.eye_v - f.brow_gap && v < f.eye_v)
      value = mix(value, dark, 0.6 * f.furrow);
    // Nose: nostrils, and disgust's wrinkles across the bridge.
    if ((std::abs(u) - 0.09) * (std::abs(u) - 0.09) / 0.0025 + (v - 0.27) * (v - 0.27) / 0.0009 < 1)
      value = mix(value, dark, 0.7);
    if (f.nose_wrinkle > 0 && std::abs(u) < 0.14 && v > -0.04 && v < 0.18 && std::fmod(v + 0.04, 0.07) < 0.022)
      value = mix(value, dark, 0.65 * f.nose_wrinkle);
    // Mouth: lips along a curve (corners up for a smile), opened around it.
    const double half_width = f.mouth_half_width * f.mouth_width;
    const double mx = u / half_width;
    if (std::abs(mx) < 1) {
      const double line = f.mouth_v - f.mouth_curve * mx * mx - f.mouth_skew * std::max(mx, 0.0);
      const double opening = f.mouth_open * std::sqrt(1 - mx * mx);
      if (std::abs(v - line) < opening + 0.028) {
        value = mix(value, dark, 0.85);
        if (f.teeth > 0 && v < line && v > line - opening + 0.01) value = std::min(1.0, f.skin + 0.3 * f.teeth);
      }
    }
  }
  return value + light;
}

}  // namespace detail

// One synthetic face of class `label` (FER2013 order), drawn from `seed`.
inline Image draw_synthetic_face(int label, std::uint64_t seed, int size = 48) {
  check(label >= 0 && label < 7, "draw_synthetic_face: label ", label, " is outside 0..6");
  check(size >= 8, "draw_synthetic_face: size must be at least 8, got ", size);
  Rng r(seed);
  const detail::FaceParams face = detail::random_face(label, r);
  Image image(size, size, 1);
  const double scale = 48.0 / size;
  constexpr int kSub = 3;  // 3x3 samples per pixel smooth the edges
  for (int py = 0; py < size; ++py)
    for (int px = 0; px < size; ++px) {
      double sum = 0;
      for (int sy = 0; sy < kSub; ++sy)
        for (int sx = 0; sx < kSub; ++sx)
          sum += detail::face_intensity(face, (px + (sx + 0.5) / kSub) * scale, (py + (sy + 0.5) / kSub) * scale);
      const double value = sum / (kSub * kSub) + face.noise * r.normal();
      image.at(py, px) = static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0, 1.0) * 255));
    }
  return image;
}

// `count` synthetic faces, sample i of class i % 7 drawn from (seed, i).
inline Dataset make_synthetic(std::size_t count, std::uint64_t seed = 0, int size = 48) {
  Dataset data("synthetic", fer_classes());
  data.samples.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Sample& s = data.samples.emplace_back();
    s.label = static_cast<int>(i % 7);
    s.source = "synthetic sample " + std::to_string(i);
    s.image = draw_synthetic_face(s.label, detail::derive_seed(seed, {i}), size);
  }
  return data;
}

}  // namespace hfc
