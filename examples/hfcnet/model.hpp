#pragma once
// The network a run trains, and what its weights file records about it (safetensors metadata), so
// that eval, predict and gradcam need only --weights.
#include <charconv>
#include <concepts>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <hfc/components.hpp>
#include <nlohmann/json.hpp>

#include "options.hpp"

namespace hfcnet {

// The networks a run may train, on backend B (`hfc train --device`); eval, predict and gradcam use
// the cpu ones.
template <class B>
using NetworkOn = std::variant<hfc::ResNet18<float, B>, hfc::MobileNetV2<float, B>>;
using Network = NetworkOn<hfc::cpu>;

// A host tensor (the data pipeline's batches) on backend B, without a copy when B is the cpu.
template <class B, class E>
hfc::Tensor<E, B> on_backend(const hfc::Tensor<E, hfc::cpu>& t) {
  if constexpr (std::is_same_v<B, hfc::cpu>) return t;
  else return t.template to<B>();
}
// The same the other way: a result on the host, for metrics and files.
template <class E, class B>
hfc::Tensor<E, hfc::cpu> on_host(const hfc::Tensor<E, B>& t) {
  if constexpr (std::is_same_v<B, hfc::cpu>) return t;
  else return t.template to<hfc::cpu>();
}

// What a weights file needs to be used on its own.
struct ModelInfo {
  ModelKind model = ModelKind::resnet18;
  hfc::Attention attention = hfc::Attention::none;
  int image_size = kDefaultImageSize;
  std::vector<std::string> classes;
  float mean = 0.5f, std = 0.5f;

  hfc::TransformOptions transform() const { return {.size = image_size, .mean = mean, .std = std}; }
};

// Built in place, never moved: optimisers hold pointers to its parameters. `rng` draws the initial
// weights and, for MobileNetV2, the dropout masks, so it must outlive the network.
template <class B = hfc::cpu>
std::unique_ptr<NetworkOn<B>> make_network(const ModelInfo& info, hfc::Rng& rng) {
  const hfc::NetworkOptions o{.in_channels = 1,
                              .num_classes = static_cast<std::int64_t>(info.classes.size()),
                              .attention = info.attention};
  if (info.model == ModelKind::resnet18)
    return std::make_unique<NetworkOn<B>>(std::in_place_type<hfc::ResNet18<float, B>>, o, rng);
  return std::make_unique<NetworkOn<B>>(std::in_place_type<hfc::MobileNetV2<float, B>>, o, rng);
}

template <class B>
std::int64_t parameter_count(NetworkOn<B>& net) {
  return std::visit([](auto& n) { return hfc::parameter_count(n); }, net);
}

// Parameters of `model` with `attention`, and of the same model without attention (the paper's
// Param. column and its delta).
inline std::pair<std::int64_t, std::int64_t> parameters_and_vanilla(ModelKind model, hfc::Attention attention,
                                                                    int classes = 7) {
  std::vector<std::string> names(static_cast<std::size_t>(classes), "c");
  hfc::Rng rng(0);
  auto net = make_network({.model = model, .attention = attention, .classes = names}, rng);
  auto vanilla = make_network({.model = model, .attention = hfc::Attention::none, .classes = names}, rng);
  return {parameter_count(*net), parameter_count(*vanilla)};
}

// The shortest text that reads back as the same value (a resumed run's rates and counters exact; a
// float's mean 0.485 stays "0.485").
template <std::floating_point F>
std::string format_float(F v) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  return std::string(text, end);
}

// A number in a file's metadata; raises naming the file and the key.
template <class T>
T metadata_number(const hfc::SafetensorsMetadata& m, const std::string& key, const std::string& source) {
  const auto it = m.find(key);
  hfc::check(it != m.end(), source, ": no '", key, "' in its metadata");
  T value{};
  hfc::check(hfc::parse_number(it->second, value), source, ": metadata '", key, "' is '", it->second,
             "', not a number");
  return value;
}

inline hfc::SafetensorsMetadata to_metadata(const ModelInfo& info) {
  return {{"hfcnet.model", name_of(info.model)},
          {"hfcnet.attention", name_of(info.attention)},
          {"hfcnet.image_size", std::to_string(info.image_size)},
          {"hfcnet.classes", nlohmann::json(info.classes).dump()},
          {"hfcnet.mean", format_float(info.mean)},
          {"hfcnet.std", format_float(info.std)}};
}

// The model a weights file describes. `source` names the file in errors.
inline ModelInfo model_info_from_metadata(const hfc::SafetensorsMetadata& m, const std::string& source) {
  for (const char* key : {"hfcnet.model", "hfcnet.attention", "hfcnet.image_size", "hfcnet.classes", "hfcnet.mean",
                          "hfcnet.std"})
    hfc::check(m.contains(key), source, ": no '", key, "' in its metadata (not written by hfcnet train?); give "
               "--model, --attention, --image-size and --classes");
  try {
    ModelInfo info;
    info.model = parse_name<ModelKind>(m.at("hfcnet.model"), "model");
    info.attention = parse_name<hfc::Attention>(m.at("hfcnet.attention"), "attention");
    info.image_size = metadata_number<int>(m, "hfcnet.image_size", source);
    info.classes = nlohmann::json::parse(m.at("hfcnet.classes")).get<std::vector<std::string>>();
    info.mean = metadata_number<float>(m, "hfcnet.mean", source);
    info.std = metadata_number<float>(m, "hfcnet.std", source);
    return info;
  } catch (const hfc::Error&) {
    throw;
  } catch (const std::exception& e) {
    hfc::fail(source, ": malformed hfcnet metadata: ", e.what());
  }
}

// Flags that override (or stand in for) what a weights file records.
struct ModelOverrides {
  std::optional<ModelKind> model;
  std::optional<hfc::Attention> attention;
  std::optional<int> image_size;
  std::vector<std::string> classes;
};

struct LoadedModel {
  ModelInfo info;
  std::string epoch;  // the epoch the weights are from, when the file says
  hfc::Rng rng{0};
  std::unique_ptr<Network> net;
};

// A network with the weights of `path` (strictly loaded), in eval mode.
inline std::unique_ptr<LoadedModel> load_model(const std::filesystem::path& path, const ModelOverrides& flags) {
  const auto file = hfc::read_safetensors(path);
  auto loaded = std::make_unique<LoadedModel>();
  const bool described = file.metadata.contains("hfcnet.model");
  if (described) loaded->info = model_info_from_metadata(file.metadata, path.string());
  else {
    hfc::check(flags.model && flags.attention && !flags.classes.empty(), path.string(),
               ": its metadata does not describe the model (not written by hfcnet train?); give --model, --attention "
               "and --classes");
    loaded->info.classes = flags.classes;
  }
  if (const auto it = file.metadata.find("hfcnet.epoch"); it != file.metadata.end()) loaded->epoch = it->second;
  auto& info = loaded->info;
  if (flags.model) info.model = *flags.model;
  if (flags.attention) info.attention = *flags.attention;
  if (flags.image_size) info.image_size = *flags.image_size;
  if (!flags.classes.empty()) info.classes = flags.classes;
  loaded->net = make_network(info, loaded->rng);
  std::visit(
      [&](auto& net) {
        hfc::load_safetensors(net, file);
        net.eval();
      },
      *loaded->net);
  return loaded;
}

}  // namespace hfcnet
