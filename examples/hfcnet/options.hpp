#pragma once
// The hfcnet program's settings: the names its flags accept, what `train` and the data flags hold,
// and how --preset paper and the defaults resolve into one complete configuration.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <hfc/components.hpp>
#include <nlohmann/json.hpp>

namespace hfcnet {

// A mistake in how the program was called (exit status 2), as opposed to a failure while running.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ModelKind { resnet18, mobilenet_v2 };
enum class DatasetKind { synthetic, fer2013, jaffe, ckplus, ck48, folder };
enum class OptimizerKind { adam, adamw, sgd };

// Each enum's command-line names, in the order help lists them.
template <class E>
const std::map<std::string, E>& names_of();
template <>
inline const std::map<std::string, ModelKind>& names_of() {
  static const std::map<std::string, ModelKind> m{{"resnet18", ModelKind::resnet18},
                                                  {"mobilenet_v2", ModelKind::mobilenet_v2}};
  return m;
}
template <>
inline const std::map<std::string, hfc::Attention>& names_of() {
  using A = hfc::Attention;
  static const std::map<std::string, A> m{{"none", A::none},       {"hfc", A::hfc},
                                          {"lfc", A::lfc},         {"hfc_lfc", A::hfc_lfc},
                                          {"hfc_lfc_hl", A::hfc_lfc_hl}, {"bam_official", A::bam_official},
                                          {"bam_paper", A::bam_paper}};
  return m;
}
template <>
inline const std::map<std::string, DatasetKind>& names_of() {
  using D = DatasetKind;
  static const std::map<std::string, D> m{{"synthetic", D::synthetic}, {"fer2013", D::fer2013}, {"jaffe", D::jaffe},
                                          {"ckplus", D::ckplus},       {"ck48", D::ck48},       {"folder", D::folder}};
  return m;
}
template <>
inline const std::map<std::string, OptimizerKind>& names_of() {
  static const std::map<std::string, OptimizerKind> m{
      {"adam", OptimizerKind::adam}, {"adamw", OptimizerKind::adamw}, {"sgd", OptimizerKind::sgd}};
  return m;
}

template <class E>
std::string name_of(E value) {
  for (const auto& [name, v] : names_of<E>())
    if (v == value) return name;
  return "?";
}
template <class E>
E parse_name(const std::string& name, const char* what) {
  const auto& m = names_of<E>();
  const auto it = m.find(name);
  if (it == m.end()) hfc::fail("unknown ", what, " '", name, "'");
  return it->second;
}

// "ResNet18 + HFC", as the paper's tables name a row.
inline std::string display_name(ModelKind model, hfc::Attention attention) {
  std::string name = model == ModelKind::resnet18 ? "ResNet18" : "MobileNetV2";
  if (attention == hfc::Attention::none) return name;
  static const std::map<hfc::Attention, std::string> suffix{
      {hfc::Attention::hfc, "HFC"},         {hfc::Attention::lfc, "LFC"},
      {hfc::Attention::hfc_lfc, "HFC+LFC"}, {hfc::Attention::hfc_lfc_hl, "HFC+LFC+HL"},
      {hfc::Attention::bam_official, "BAM (official)"}, {hfc::Attention::bam_paper, "BAM (paper)"}};
  return name + " + " + suffix.at(attention);
}

// Where the samples come from, and how they are split and shown to the network.
struct DataOptions {
  DatasetKind dataset = DatasetKind::synthetic;
  std::filesystem::path data;        // file or folder; not used by the synthetic set
  bool skip_bad = false;
  bool subject_split = false;        // CK+, CK+48, JAFFE: no person on both sides
  std::int64_t synthetic_count = 1750;  // train + validation; a fifth is held out
  std::uint64_t seed = 0;            // the split (and the synthetic set's drawing)
};

// The defaults of plain `hfcnet train`: measured to finish in about 3 minutes on 2 cores (docs/trainer.md).
inline constexpr int kDefaultEpochs = 10;
inline constexpr int kDefaultImageSize = 48;
inline constexpr int kDefaultBatch = 16;
inline constexpr double kDefaultLr = 1e-3;

// What `train` was asked for; unset values resolve through the preset and the defaults.
struct TrainFlags {
  DataOptions data;
  ModelKind model = ModelKind::resnet18;
  hfc::Attention attention = hfc::Attention::hfc;
  std::string preset;  // "" or "paper"
  std::optional<int> epochs, batch_size, image_size;
  std::optional<double> lr;
  std::optional<OptimizerKind> optimizer;
  std::optional<std::string> device;  // cpu when not given; on --resume, the run's own unless given
  std::filesystem::path out = "run";
  bool resume = false;
  int loader_threads = 2;
};

// A complete training configuration: what config.json records.
struct TrainConfig {
  DataOptions data;
  ModelKind model;
  hfc::Attention attention;
  std::string preset;
  int epochs, batch_size, image_size;
  double lr;
  OptimizerKind optimizer;
  double plateau_factor = 0.3;  // ReduceLROnPlateau on the validation loss, as the paper
  int plateau_patience = 5;
  float mean = 0.5f, std = 0.5f;  // input normalisation (x - mean) / std of [0, 1] pixels
  std::string device;
  std::filesystem::path out;
  int loader_threads;
};

// The paper's learning rate and batch per model and dataset (DESIGN.md "Networks"). The synthetic
// set and image folders take FER2013's.
inline double paper_lr(ModelKind model, DatasetKind dataset) {
  const bool small = dataset == DatasetKind::jaffe || dataset == DatasetKind::ckplus || dataset == DatasetKind::ck48;
  return model == ModelKind::mobilenet_v2 && small ? 1e-3 : 1e-4;
}
inline int paper_batch(DatasetKind dataset) {
  switch (dataset) {
    case DatasetKind::jaffe: return 8;
    case DatasetKind::ckplus:
    case DatasetKind::ck48: return 16;
    default: return 32;
  }
}

// The data flags train and eval share; raises UsageError naming the flag.
inline void validate(const DataOptions& d) {
  if (d.dataset != DatasetKind::synthetic && d.data.empty())
    throw UsageError("--dataset " + name_of(d.dataset) + " needs --data PATH");
  if (d.synthetic_count < 14) throw UsageError("--synthetic-count must be at least 14 (two of each class)");
  const bool has_subjects =
      d.dataset == DatasetKind::ckplus || d.dataset == DatasetKind::ck48 || d.dataset == DatasetKind::jaffe;
  if (d.subject_split && !has_subjects)
    throw UsageError("--subject-split: --dataset " + name_of(d.dataset) +
                     " does not record who is in each image (ckplus, ck48 and jaffe do)");
}

// The flags --resume takes from the command line.
inline void validate_resume(const TrainFlags& f) {
  if (f.epochs && *f.epochs < 1) throw UsageError("--epochs must be at least 1");
  if (f.lr && !(*f.lr > 0)) throw UsageError("--lr must be positive");
}

inline TrainConfig resolve(const TrainFlags& f) {
  if (!f.preset.empty() && f.preset != "paper") throw UsageError("--preset: unknown preset '" + f.preset + "' (paper)");
  const bool paper = f.preset == "paper";
  TrainConfig c{.data = f.data,
                .model = f.model,
                .attention = f.attention,
                .preset = f.preset,
                .epochs = f.epochs.value_or(paper ? 100 : kDefaultEpochs),
                .batch_size = f.batch_size.value_or(paper ? paper_batch(f.data.dataset) : kDefaultBatch),
                .image_size = f.image_size.value_or(paper ? 224 : kDefaultImageSize),
                .lr = f.lr.value_or(paper ? paper_lr(f.model, f.data.dataset) : kDefaultLr),
                .optimizer = f.optimizer.value_or(OptimizerKind::adam),
                .device = f.device.value_or("cpu"),
                .out = f.out,
                .loader_threads = f.loader_threads};
  if (c.epochs < 1) throw UsageError("--epochs must be at least 1");
  if (c.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (c.image_size < 32) throw UsageError("--image-size must be at least 32 (the networks downsample 32 times)");
  if (!(c.lr > 0)) throw UsageError("--lr must be positive");
  validate(c.data);
  return c;
}

inline nlohmann::json to_json(const DataOptions& d) {
  return {{"dataset", name_of(d.dataset)}, {"data", d.data.string()},    {"skip_bad", d.skip_bad},
          {"subject_split", d.subject_split}, {"synthetic_count", d.synthetic_count}, {"seed", d.seed}};
}
inline nlohmann::json to_json(const TrainConfig& c) {
  return {{"data", to_json(c.data)},
          {"model", name_of(c.model)},
          {"attention", name_of(c.attention)},
          {"preset", c.preset},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"image_size", c.image_size},
          {"lr", c.lr},
          {"optimizer", name_of(c.optimizer)},
          {"scheduler", {{"name", "ReduceLROnPlateau"}, {"monitor", "val_loss"}, {"factor", c.plateau_factor},
                         {"patience", c.plateau_patience}}},
          {"normalize", {{"mean", c.mean}, {"std", c.std}}},
          {"device", c.device},
          {"out", c.out.string()},
          {"loader_threads", c.loader_threads}};
}

inline DataOptions data_options_from_json(const nlohmann::json& j) {
  return {.dataset = parse_name<DatasetKind>(j.at("dataset").get<std::string>(), "dataset"),
          .data = j.at("data").get<std::string>(),
          .skip_bad = j.at("skip_bad").get<bool>(),
          .subject_split = j.at("subject_split").get<bool>(),
          .synthetic_count = j.at("synthetic_count").get<std::int64_t>(),
          .seed = j.at("seed").get<std::uint64_t>()};
}
// config.json back into a configuration (for --resume).
inline TrainConfig train_config_from_json(const nlohmann::json& j) {
  return {.data = data_options_from_json(j.at("data")),
          .model = parse_name<ModelKind>(j.at("model").get<std::string>(), "model"),
          .attention = parse_name<hfc::Attention>(j.at("attention").get<std::string>(), "attention"),
          .preset = j.at("preset").get<std::string>(),
          .epochs = j.at("epochs").get<int>(),
          .batch_size = j.at("batch_size").get<int>(),
          .image_size = j.at("image_size").get<int>(),
          .lr = j.at("lr").get<double>(),
          .optimizer = parse_name<OptimizerKind>(j.at("optimizer").get<std::string>(), "optimizer"),
          .plateau_factor = j.at("scheduler").at("factor").get<double>(),
          .plateau_patience = j.at("scheduler").at("patience").get<int>(),
          .mean = j.at("normalize").at("mean").get<float>(),
          .std = j.at("normalize").at("std").get<float>(),
          .device = j.at("device").get<std::string>(),
          .out = j.at("out").get<std::string>(),
          .loader_threads = j.at("loader_threads").get<int>()};
}

}  // namespace hfcnet
