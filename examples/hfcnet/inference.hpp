#pragma once
// `hfcnet eval` (accuracy per class and overall on a dataset's split) and `hfcnet predict` (class
// probabilities of single images), both from a weights file that describes its model.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <hfc/data/all.hpp>
#include <hfc/hfc.hpp>

#include "data_source.hpp"
#include "evaluate.hpp"
#include "model.hpp"
#include "report.hpp"
#include "run_files.hpp"

namespace hfcnet {

struct EvalFlags {
  std::filesystem::path weights;
  ModelOverrides model;
  DataOptions data;
  std::string split = "validation";  // validation | train | all
  int batch_size = 32;
  std::filesystem::path out;          // writes report.md and evaluation.json there when given
};

inline int run_eval(const EvalFlags& f) {
  validate(f.data);
  auto loaded = load_model(f.weights, f.model);
  const SplitData sd = load_split_data(f.data);
  hfc::check(sd.data.num_classes() == int(loaded->info.classes.size()), f.weights.string(), " was trained on ",
             loaded->info.classes.size(), " classes, ", sd.data.name, " has ", sd.data.num_classes());
  std::vector<std::size_t> indices = f.split == "train" ? sd.split.train : sd.split.test;
  std::string rule = f.split + " split, " + sd.split_rule;
  if (f.split == "all") {
    indices.resize(sd.data.size());
    std::iota(indices.begin(), indices.end(), std::size_t(0));
    rule = "every image";
  }
  hfc::BatchLoader loader(sd.data, indices, hfc::ImageTransform(loaded->info.transform()),
                          {.batch_size = f.batch_size, .shuffle = false});
  const auto e = evaluate(*loaded->net, loader, sd.data.num_classes());
  const auto [parameters, vanilla] = parameters_and_vanilla(loaded->info.model, loaded->info.attention,
                                                            sd.data.num_classes());
  const ReportHeader header{loaded->info.model, loaded->info.attention, loaded->info.classes,
                            sd.data.name + " (" + std::to_string(sd.data.size()) + " images)",
                            rule + " (" + std::to_string(indices.size()) + " images)", f.weights.string(),
                            loaded->epoch.empty() ? "-" : loaded->epoch, parameters, vanilla};
  const auto report = markdown_report(header, e);
  std::fputs(report.c_str(), stdout);
  if (!f.out.empty()) {
    std::filesystem::create_directories(f.out);
    write_text_file(f.out / "report.md", report);
    nlohmann::json j{{"weights", f.weights.string()}, {"loss", e.loss}, {"accuracy", e.confusion.accuracy()},
                     {"mean_class_accuracy", e.confusion.mean_class_accuracy()}, {"images", e.confusion.total()}};
    for (int c = 0; c < e.confusion.classes(); ++c)
      j["class_accuracy"][loaded->info.classes[std::size_t(c)]] = e.confusion.class_accuracy(c);
    write_text_file(f.out / "evaluation.json", j.dump(2) + "\n");
  }
  return 0;
}

struct PredictFlags {
  std::filesystem::path weights;
  ModelOverrides model;
  std::vector<std::filesystem::path> images;
};

// One line per image: the predicted class and every class's probability.
inline int run_predict(const PredictFlags& f) {
  auto loaded = load_model(f.weights, f.model);
  const hfc::ImageTransform transform(loaded->info.transform());
  const auto& classes = loaded->info.classes;
  for (const auto& path : f.images) {
    const auto x = transform(hfc::read_image(path));
    hfc::Tensor<float> p;
    std::visit(
        [&](auto& net) {
          hfc::NoGradGuard no_grad;
          p = hfc::softmax_rows(net.forward(x));
        },
        *loaded->net);
    const auto best = std::size_t(hfc::argmax_rows(p)[0]);
    std::printf("%s: %s %.1f%% |", path.string().c_str(), classes[best].c_str(), 100 * p.data()[best]);
    for (std::size_t c = 0; c < classes.size(); ++c) std::printf(" %s %.1f", classes[c].c_str(), 100 * p.data()[c]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace hfcnet
