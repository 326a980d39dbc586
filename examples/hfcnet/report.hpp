#pragma once
// report.md: a run's result in the form of the paper's Table 2 (accuracy per class, their
// average, the overall accuracy, parameters and the delta from the vanilla network), with the
// best epoch and the confusion matrix behind the numbers.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include <hfc/components.hpp>

#include "evaluate.hpp"
#include "options.hpp"

namespace hfcnet {

// 11173831 -> "11,173,831"; signed values keep their sign: "+708".
inline std::string with_commas(std::int64_t v, bool sign = false) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : sign ? "+" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
inline std::string percent(double fraction) {
  if (std::isnan(fraction)) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.1f", 100 * fraction);
  return text;
}

struct ReportHeader {
  ModelKind model;
  hfc::Attention attention;
  std::vector<std::string> classes;
  std::string dataset;        // "synthetic (1750 images)"
  std::string evaluated_on;   // "validation split: stratified, a fifth held out, seed 0 (350 images)"
  std::string weights;        // which file and epoch: "best.safetensors, epoch 7 of 8"
  std::string best_epoch;     // the epoch the weights are from ("-" when unknown)
  std::int64_t parameters = 0, vanilla_parameters = 0;
};

inline std::string markdown_report(const ReportHeader& h, const Evaluation& e) {
  const auto& m = e.confusion;
  std::ostringstream md;
  md << "# hfcnet: " << display_name(h.model, h.attention) << " on " << h.dataset << "\n\n"
     << "- Weights: " << h.weights << "\n"
     << "- Evaluated on: " << h.evaluated_on << "\n"
     << "- Loss: " << std::setprecision(4) << std::fixed << e.loss << std::defaultfloat << "\n\n"
     << "## Accuracy (%), as the paper's Table 2\n\n| Model | Param. | Best Epoch |";
  for (const auto& c : h.classes) md << ' ' << c << " |";
  md << " Average | Overall |\n|---|---:|---:|";
  for (std::size_t c = 0; c < h.classes.size(); ++c) md << "---:|";
  md << "---:|---:|\n| " << display_name(h.model, h.attention) << " | " << with_commas(h.parameters) << " ("
     << with_commas(h.parameters - h.vanilla_parameters, true) << ") | " << h.best_epoch << " |";
  for (int c = 0; c < m.classes(); ++c) md << ' ' << percent(m.class_accuracy(c)) << " |";
  md << ' ' << percent(m.mean_class_accuracy()) << " | " << percent(m.accuracy()) << " |\n\n"
     << "Average is the mean of the per-class accuracies (the paper's Average); Overall is " << m.correct() << " of " << m.total()
     << " images right. Param. is the parameter count and, in brackets, what the attention adds to the vanilla "
     << display_name(h.model, hfc::Attention::none) << ".\n\n"
     << "## Confusion matrix (rows: true class, columns: predicted)\n\n| true \\ predicted |";
  for (const auto& c : h.classes) md << ' ' << c << " |";
  md << " total |\n|---|";
  for (std::size_t c = 0; c <= h.classes.size(); ++c) md << "---:|";
  md << '\n';
  for (int t = 0; t < m.classes(); ++t) {
    md << "| " << h.classes[std::size_t(t)] << " |";
    for (int p = 0; p < m.classes(); ++p) md << ' ' << m.count(t, p) << " |";
    md << ' ' << m.class_total(t) << " |\n";
  }
  return md.str();
}

}  // namespace hfcnet
