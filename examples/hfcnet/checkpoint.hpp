#pragma once
// What --resume needs beyond the weights: last.state.safetensors beside last.safetensors holds the
// optimiser's per-parameter state (Adam's moments, SGD's momentum) under the parameters' names,
// and in its metadata the epoch, the best epoch so far, the learning rate and the plateau
// scheduler's counters. Both files carry the epoch, so a resume can tell that they belong together.
#include <filesystem>
#include <string>
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
inline const std::string& metadata_at(const hfc::SafetensorsMetadata& m, const std::string& key,
                                      const std::string& source) {
  const auto it = m.find(key);
  hfc::check(it != m.end(), source, ": no '", key, "' in its metadata");
  return it->second;
}
}  // namespace detail

template <class B>
void save_training_state(const std::filesystem::path& path, NetworkOn<B>& net, AnyOptimizerOn<B>& opt,
                         const PlateauOn<B>& plateau, const TrainingState& s) {
  hfc::StoredTensors tensors;
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

// Restores the optimiser and scheduler from `path` and returns the run's progress.
template <class B>
TrainingState load_training_state(const std::filesystem::path& path, NetworkOn<B>& net, AnyOptimizerOn<B>& opt,
                                  PlateauOn<B>& plateau) {
  const auto file = hfc::read_safetensors(path);
  const auto& m = file.metadata;
  const std::string src = path.string();
  auto integer = [&](const char* key) { return std::stoi(detail::metadata_at(m, key, src)); };
  auto real = [&](const char* key) { return std::stod(detail::metadata_at(m, key, src)); };
  TrainingState s{integer("epoch"), integer("best_epoch"), real("best_val_accuracy")};
  base(opt).set_lr(real("lr"));
  plateau.restore(real("plateau_best"), integer("plateau_bad_epochs"), integer("plateau_cooldown"));
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
            o.state()[&p] = {on_backend<B>(mt), on_backend<B>(vt), std::stoll(detail::metadata_at(m, "adam_step", src))};
          }
        });
      },
      opt);
  return s;
}

}  // namespace hfcnet
