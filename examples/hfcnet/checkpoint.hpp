#pragma once
// What --resume needs, in one file written atomically after every epoch: last.state.safetensors
// holds the network's weights and buffers (under "model."), the optimiser's per-parameter state
// (Adam's moments, SGD's momentum) under the parameters' names, and in its metadata the epoch, the
// best epoch so far, the learning rate and the plateau scheduler's counters. One file, so a run
// killed at any moment resumes from a consistent epoch (last.safetensors is the weights alone, for
// eval and predict). Run folders from before the weights moved in resume from last.safetensors.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include <hfc/components.hpp>

#include "model.hpp"

namespace hfcnet {

template <class B>
using AnyOptimizerOn = std::variant<hfc::Adam<float, B>, hfc::AdamW<float, B>, hfc::Sgd<float, B>>;
template <class B>
using PlateauOn = hfc::ReduceLROnPlateau<hfc::Optimizer<float, B>>;

template <class B>
hfc::Optimizer<float, B>& base(AnyOptimizerOn<B>& opt) {
  return std::visit([](auto& o) -> hfc::Optimizer<float, B>& { return o; }, opt);
}

struct TrainingState {
  int epoch = 0;  // epochs completed
  int best_epoch = 0;
  double best_val_accuracy = -1;
};

namespace detail {
// Visits (name, parameter) of the network.
template <class B, class F>
void for_each_named_parameter(NetworkOn<B>& net, F&& f) {
  std::visit([&](auto& n) { n.for_each_parameter(f); }, net);
}
inline constexpr std::string_view kModelPrefix = "model.";
}  // namespace detail

template <class B>
void save_training_state(const std::filesystem::path& path, NetworkOn<B>& net, AnyOptimizerOn<B>& opt,
                         const PlateauOn<B>& plateau, const TrainingState& s) {
  auto tensors = std::visit([](auto& n) { return hfc::state_dict(n, detail::kModelPrefix); }, net);
  hfc::SafetensorsMetadata meta{{"epoch", std::to_string(s.epoch)},
                                {"best_epoch", std::to_string(s.best_epoch)},
                                {"best_val_accuracy", format_float(s.best_val_accuracy)},
                                {"lr", format_float(base(opt).lr())},
                                {"plateau_best", format_float(plateau.best())},
                                {"plateau_bad_epochs", std::to_string(plateau.num_bad_epochs())},
                                {"plateau_cooldown", std::to_string(plateau.cooldown_counter())}};
  std::visit(
      [&](auto& o) {
        using O = std::decay_t<decltype(o)>;
        detail::for_each_named_parameter(net, [&](std::string_view name, auto& p) {
          const auto it = o.state().find(&p);
          if (it == o.state().end()) return;  // not stepped yet
          if constexpr (std::is_same_v<O, hfc::Sgd<float, B>>) {
            if (it->second.defined()) tensors.emplace(std::string(name) + ".momentum_buffer", hfc::store(it->second));
          } else {
            tensors.emplace(std::string(name) + ".exp_avg", hfc::store(it->second.m));
            tensors.emplace(std::string(name) + ".exp_avg_sq", hfc::store(it->second.v));
            meta["adam_step"] = std::to_string(it->second.step);
          }
        });
      },
      opt);
  hfc::write_safetensors(path, tensors, meta);
}

// The network's weights from a state file; false for a state file written before they moved in.
template <class B>
bool load_state_weights(const hfc::SafetensorsFile& file, NetworkOn<B>& net) {
  hfc::SafetensorsFile weights{file.source, {}, {}};
  for (const auto& [name, tensor] : file.tensors)
    if (name.starts_with(detail::kModelPrefix))
      weights.tensors.emplace(name.substr(detail::kModelPrefix.size()), tensor);
  if (weights.tensors.empty()) return false;
  std::visit([&](auto& n) { hfc::load_safetensors(n, weights); }, net);
  return true;
}

// Restores the network, the optimiser and the scheduler from `path`, and returns the run's progress.
// A state file from before the weights moved in takes them from `older_weights` (last.safetensors),
// which must then be from the same epoch.
template <class B>
TrainingState load_training_state(const std::filesystem::path& path, const std::filesystem::path& older_weights,
                                  NetworkOn<B>& net, AnyOptimizerOn<B>& opt, PlateauOn<B>& plateau) {
  const auto file = hfc::read_safetensors(path);
  const auto& m = file.metadata;
  const std::string src = path.string();
  auto integer = [&](const char* key) { return metadata_number<int>(m, key, src); };
  auto real = [&](const char* key) { return metadata_number<double>(m, key, src); };
  TrainingState s{integer("epoch"), integer("best_epoch"), real("best_val_accuracy")};
  base(opt).set_lr(real("lr"));
  plateau.restore(real("plateau_best"), integer("plateau_bad_epochs"), integer("plateau_cooldown"));
  if (!load_state_weights(file, net)) {
    const auto weights = hfc::read_safetensors(older_weights);
    std::visit([&](auto& n) { hfc::load_safetensors(n, weights); }, net);
    const int epoch = metadata_number<int>(weights.metadata, "hfcnet.epoch", older_weights.string());
    hfc::check(epoch == s.epoch, older_weights.string(), " (epoch ", epoch, ") and ", src, " (epoch ", s.epoch,
               ") are not from the same epoch; the run was stopped between writing them");
  }
  std::visit(
      [&](auto& o) {
        using O = std::decay_t<decltype(o)>;
        detail::for_each_named_parameter(net, [&](std::string_view name, auto& p) {
          const std::string n(name);
          if constexpr (std::is_same_v<O, hfc::Sgd<float, B>>) {
            if (file.contains(n + ".momentum_buffer")) {
              auto buffer = file.tensor<float>(n + ".momentum_buffer");
              hfc::check(buffer.shape() == p.value.shape(), src, ": the state of '", n,
                         "' does not match the parameter's shape");
              o.state()[&p] = on_backend<B>(buffer);
            }
          } else if (file.contains(n + ".exp_avg")) {
            auto mt = file.tensor<float>(n + ".exp_avg"), vt = file.tensor<float>(n + ".exp_avg_sq");
            hfc::check(mt.shape() == p.value.shape() && vt.shape() == p.value.shape(), src, ": the state of '", n,
                       "' does not match the parameter's shape");
            o.state()[&p] = {on_backend<B>(mt), on_backend<B>(vt), metadata_number<std::int64_t>(m, "adam_step", src)};
          }
        });
      },
      opt);
  return s;
}

}  // namespace hfcnet
