#pragma once
// curves.svg: loss and accuracy against epoch, train and validation, as a self-contained SVG that
// any browser shows. Drawn by hand: two panels, axes with a few ticks, one polyline per series.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "run_files.hpp"

namespace hfcnet {

namespace detail {
struct Series {
  std::string name, colour;
  std::function<double(const EpochMetrics&)> value;
};

inline std::string number(double v, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

// One panel at (x0, y0), w x h: y from 0 to y_max over epochs 1..n.
inline void panel(std::ostringstream& svg, const std::vector<EpochMetrics>& rows, const std::vector<Series>& series,
                  const std::string& title, double y_max, double y_scale, int decimals, double x0, double y0) {
  constexpr double w = 380, h = 240;
  const int n = rows.empty() ? 1 : rows.back().epoch;
  auto px = [&](double epoch) { return x0 + (n > 1 ? (epoch - 1) / (n - 1) : 0.5) * w; };
  auto py = [&](double v) { return y0 + h - std::clamp(v / y_max, 0.0, 1.0) * h; };
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 - 12 << "' text-anchor='middle' font-weight='bold'>" << title
      << "</text>\n<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#999'/>\n";
  for (int k = 0; k <= 4; ++k) {  // horizontal grid and labels
    const double v = y_max * k / 4;
    svg << "<line x1='" << x0 << "' x2='" << x0 + w << "' y1='" << py(v) << "' y2='" << py(v)
        << "' stroke='#eee'/><text x='" << x0 - 6 << "' y='" << py(v) + 4 << "' text-anchor='end'>"
        << number(v * y_scale, decimals) << "</text>\n";
  }
  const int step = std::max(1, n / 8);
  for (int e = 1; e <= n; e += step)
    svg << "<text x='" << px(e) << "' y='" << y0 + h + 16 << "' text-anchor='middle'>" << e << "</text>\n";
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h + 34 << "' text-anchor='middle'>epoch</text>\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    svg << "<polyline fill='none' stroke-width='2' stroke='" << series[s].colour << "' points='";
    for (const auto& r : rows) svg << px(r.epoch) << ',' << py(series[s].value(r)) << ' ';
    svg << "'/>\n";
    for (const auto& r : rows)
      svg << "<circle r='2.5' fill='" << series[s].colour << "' cx='" << px(r.epoch) << "' cy='"
          << py(series[s].value(r)) << "'/>\n";
    svg << "<text x='" << x0 + w - 8 << "' y='" << y0 + 18 + 16 * double(s) << "' text-anchor='end' fill='"
        << series[s].colour << "'>" << series[s].name << "</text>\n";
  }
}
}  // namespace detail

inline std::string curves_svg(const std::vector<EpochMetrics>& rows, const std::string& title) {
  double loss_max = 1e-9;
  for (const auto& r : rows)
    for (double v : {r.train_loss, r.val_loss})
      if (std::isfinite(v)) loss_max = std::max(loss_max, v);
  const std::vector<detail::Series> loss{{"train", "#1f77b4", [](const EpochMetrics& r) { return r.train_loss; }},
                                         {"validation", "#d62728", [](const EpochMetrics& r) { return r.val_loss; }}};
  const std::vector<detail::Series> acc{
      {"train", "#1f77b4", [](const EpochMetrics& r) { return r.train_accuracy; }},
      {"validation", "#d62728", [](const EpochMetrics& r) { return r.val_accuracy; }}};
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='900' height='360' font-family='sans-serif' "
         "font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n<text x='450' y='20' "
         "text-anchor='middle' font-size='14'>"
      << title << "</text>\n";
  detail::panel(svg, rows, loss, "cross-entropy loss", loss_max * 1.05, 1, 2, 60, 60);
  detail::panel(svg, rows, acc, "accuracy (%)", 1.0, 100, 0, 500, 60);
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace hfcnet
