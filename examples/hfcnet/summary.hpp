#pragma once
// `hfcnet summary`: the paper's Param. column, the parameters of a network and what its attention
// adds to the vanilla one; without --model/--attention, every model with every attention.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "model.hpp"
#include "report.hpp"

namespace hfcnet {

struct SummaryFlags {
  std::optional<ModelKind> model;
  std::optional<hfc::Attention> attention;
  int classes = 7;
};

inline int run_summary(const SummaryFlags& f) {
  std::vector<ModelKind> models;
  for (const auto& [name, m] : names_of<ModelKind>())
    if (!f.model || *f.model == m) models.push_back(m);
  std::sort(models.begin(), models.end());  // ResNet18 first, as the paper's tables
  std::vector<hfc::Attention> attentions;
  for (const auto& [name, a] : names_of<hfc::Attention>())
    if (f.attention ? *f.attention == a : true) attentions.push_back(a);
  std::sort(attentions.begin(), attentions.end());  // the enum's order: none, hfc, lfc, ...
  std::printf("%-28s %14s %10s\n", "network", "parameters", "delta");
  for (const auto m : models)
    for (const auto a : attentions) {
      const auto [parameters, vanilla] = parameters_and_vanilla(m, a, f.classes);
      std::printf("%-28s %14s %10s\n", display_name(m, a).c_str(), with_commas(parameters).c_str(),
                  with_commas(parameters - vanilla, true).c_str());
    }
  return 0;
}

}  // namespace hfcnet
