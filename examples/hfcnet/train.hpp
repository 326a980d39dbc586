#pragma once
// `hfcnet train`: the paper's protocol (cross-entropy, Adam, ReduceLROnPlateau on the validation
// loss, best epoch by validation accuracy) on the chosen dataset, with the run folder DESIGN.md
// lists: metrics.csv, metrics.jsonl, config.json, best.safetensors, last.safetensors (and
// last.state.safetensors for --resume), report.md and curves.svg.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>

#include <hfc/data/all.hpp>
#include <hfc/components.hpp>
#include <nlohmann/json.hpp>

#include "checkpoint.hpp"
#include "data_source.hpp"
#include "evaluate.hpp"
#include "model.hpp"
#include "options.hpp"
#include "plot.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_files.hpp"

namespace hfcnet {

namespace detail {

inline TrainConfig config_for(const TrainFlags& flags) {
  if (!flags.resume) {
    auto config = resolve(flags);
    hfc::check(!std::filesystem::exists(config.out / "last.safetensors"), config.out.string(),
               " already holds a run (last.safetensors): continue it with --resume, or choose another --out");
    return config;
  }
  validate_resume(flags);
  const auto path = flags.out / "config.json";
  std::ifstream in(path);
  hfc::check(in.good(), "--resume: cannot read ", path.string(), " (is ", flags.out.string(), " a run folder?)");
  TrainConfig config;
  try {
    config = train_config_from_json(nlohmann::json::parse(in).at("config"));
  } catch (const std::exception& e) {
    hfc::fail(path.string(), ": ", e.what());
  }
  if (flags.epochs) config.epochs = *flags.epochs;
  if (flags.lr) config.lr = *flags.lr;
  if (flags.device) config.device = *flags.device;  // a run may continue on the other device
  config.out = flags.out;
  config.loader_threads = flags.loader_threads;
  std::cerr << "hfcnet: resuming " << flags.out.string() << " as its config.json records it (only --epochs, --lr "
               "and --device are taken from the command line)\n";
  return config;
}

template <class B>
AnyOptimizerOn<B> make_optimizer(const TrainConfig& c, NetworkOn<B>& net) {
  using Any = AnyOptimizerOn<B>;
  return std::visit(
      [&](auto& n) -> Any {
        auto params = hfc::parameters(n);
        switch (c.optimizer) {
          case OptimizerKind::adamw: return Any(std::in_place_type<hfc::AdamW<float, B>>, params,
                                                hfc::AdamOptions{.lr = c.lr, .weight_decay = 1e-2});
          case OptimizerKind::sgd: return Any(std::in_place_type<hfc::Sgd<float, B>>, params,
                                              hfc::SgdOptions{.lr = c.lr, .momentum = 0.9});
          default: return Any(std::in_place_type<hfc::Adam<float, B>>, params, hfc::AdamOptions{.lr = c.lr});
        }
      },
      net);
}

struct EpochTotals {
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  double loss() const { return seen ? loss_sum / double(seen) : 0; }
  double accuracy() const { return seen ? double(correct) / double(seen) : 0; }
};

inline std::string checkpoint_note(const TrainingState& s) {
  return s.epoch == 0 ? "no checkpoint was written"
                      : "last.safetensors keeps epoch " + std::to_string(s.epoch) + " and best.safetensors epoch " +
                            std::to_string(s.best_epoch);
}

// One training epoch; raises if the loss stops being finite.
template <class B>
EpochTotals train_epoch(NetworkOn<B>& network, AnyOptimizerOn<B>& opt, hfc::BatchLoader& loader, int epoch,
                        const TrainConfig& c, const TrainingState& state) {
  EpochTotals t;
  char label[32];
  std::snprintf(label, sizeof label, "epoch %d/%d", epoch, c.epochs);
  ProgressBar bar(label, loader.batches_per_epoch());
  std::visit(
      [&](auto& net) {
        net.train();
        loader.start_epoch(std::uint64_t(epoch));
        std::size_t done = 0;
        while (auto batch = loader.next()) {
          base(opt).zero_grad();
          const auto logits = net.forward(on_backend<B>(batch->images));
          const auto loss = hfc::cross_entropy(logits, on_backend<B>(batch->labels));
          ++done;
          if (!std::isfinite(loss.loss)) {
            bar.finish();
            hfc::fail("training diverged: the loss is ", loss.loss, " at epoch ", epoch, ", batch ", done, " of ",
                      loader.batches_per_epoch(), " (lr ", base(opt).lr(), "); stopped, ", checkpoint_note(state));
          }
          // The loss's read-back has waited for the forward, so the logits come back at no cost now;
          // after the step they would wait for the backward too, and on a GPU the next batch could
          // not be queued behind it.
          const auto predicted = hfc::argmax_rows(on_host(logits));
          net.backward(loss.grad);
          std::visit([](auto& o) { o.step(); }, opt);
          for (std::size_t i = 0; i < predicted.size(); ++i) t.correct += predicted[i] == batch->labels.data()[i];
          t.seen += batch->labels.numel();
          t.loss_sum += loss.loss * double(batch->labels.numel());
          bar.update(done, t.loss(), t.accuracy(), std::size_t(t.seen));
        }
      },
      network);
  bar.finish();
  return t;
}

template <class Net>
void save_weights(Net& net, const std::filesystem::path& path, const ModelInfo& info, int epoch, double val_accuracy) {
  auto meta = to_metadata(info);
  meta["hfcnet.epoch"] = std::to_string(epoch);
  meta["hfcnet.val_accuracy"] = format_float(val_accuracy);
  hfc::save_safetensors(net, path, meta);
}

// The epoch a weights file written by save_weights is from; 0 when there is no such file.
inline int weights_epoch(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return 0;
  return metadata_number<int>(hfc::read_safetensors(path).metadata, "hfcnet.epoch", path.string());
}

}  // namespace detail

// The run on backend B (--device): the network, its optimiser state and each batch live there; the
// data pipeline, metrics and files stay on the host.
template <class B>
int run_train_on(const TrainConfig& c, const TrainFlags& flags) {
  std::filesystem::create_directories(c.out);

  const SplitData sd = load_split_data(c.data);
  const ModelInfo info{c.model, c.attention, c.image_size, sd.data.classes, c.mean, c.std};
  hfc::Rng init_rng(c.data.seed);  // initial weights, then (reseeded per epoch) MobileNetV2's dropout
  auto network = make_network<B>(info, init_rng);
  const auto [parameters, vanilla] = parameters_and_vanilla(c.model, c.attention, sd.data.num_classes());
  AnyOptimizerOn<B> opt = detail::make_optimizer(c, *network);
  PlateauOn<B> plateau(base(opt), {.factor = c.plateau_factor, .patience = c.plateau_patience});

  TrainingState state;
  std::vector<EpochMetrics> history;
  const auto last = c.out / "last.safetensors", last_state = c.out / "last.state.safetensors",
             best = c.out / "best.safetensors";
  if (flags.resume) {
    state = load_training_state(last_state, last, *network, opt, plateau);
    if (flags.lr) base(opt).set_lr(*flags.lr);  // a new rate from here on
    history = read_metrics(c.out, state.epoch);
    hfc::check(history.size() == std::size_t(state.epoch), (c.out / "metrics.jsonl").string(), " holds ",
               history.size(), " rows up to epoch ", state.epoch, ", where ", last_state.string(), " has ",
               state.epoch, " epochs done");
    // Killed after the state file and before best.safetensors: the state's weights are the best.
    if (state.best_epoch == state.epoch && detail::weights_epoch(best) != state.epoch)
      std::visit([&](auto& net) { detail::save_weights(net, best, info, state.epoch, state.best_val_accuracy); },
                 *network);
  }

  nlohmann::json config_json{{"config", to_json(c)},
                             {"dataset", {{"name", sd.data.name},
                                          {"classes", sd.data.classes},
                                          {"images", sd.data.size()},
                                          {"skipped", sd.data.skipped.count},
                                          {"split", sd.split_rule},
                                          {"train", sd.split.train.size()},
                                          {"validation", sd.split.test.size()}}},
                             {"model", {{"name", display_name(c.model, c.attention)},
                                        {"parameters", parameters},
                                        {"vanilla_parameters", vanilla}}}};
  write_text_file(c.out / "config.json", config_json.dump(2) + "\n");

  const hfc::ImageTransform transform(info.transform());
  const auto batch = static_cast<std::size_t>(c.batch_size);
  // A last batch of one sample would leave BatchNorm a single value per channel at small sizes.
  hfc::BatchLoader train_loader(sd.data, sd.split.train, transform,
                                {.batch_size = c.batch_size, .shuffle = true, .seed = c.data.seed,
                                 .threads = c.loader_threads, .drop_last = sd.split.train.size() % batch == 1});
  hfc::BatchLoader val_loader(sd.data, sd.split.test, transform,
                              {.batch_size = c.batch_size, .shuffle = false, .threads = c.loader_threads});

  std::printf("hfcnet train: %s (%s parameters, %s) on %s: %zu train / %zu validation images at %d px\n"
              "  %s lr %g, batch %d, %d epochs%s on %s -> %s\n",
              display_name(c.model, c.attention).c_str(), with_commas(parameters).c_str(),
              with_commas(parameters - vanilla, true).c_str(), sd.data.name.c_str(), sd.split.train.size(),
              sd.split.test.size(), c.image_size, name_of(c.optimizer).c_str(), base(opt).lr(), c.batch_size,
              c.epochs, flags.resume ? (", resuming after epoch " + std::to_string(state.epoch)).c_str() : "",
              describe(B{}).c_str(), c.out.string().c_str());
  std::fflush(stdout);

  for (int epoch = state.epoch + 1; epoch <= c.epochs; ++epoch) {
    init_rng.seed(hfc::detail::derive_seed(c.data.seed, {0xd209u, std::uint64_t(epoch)}));
    const auto started = std::chrono::steady_clock::now();
    const double lr = base(opt).lr();
    const auto t = detail::train_epoch(*network, opt, train_loader, epoch, c, state);
    const auto val = evaluate(*network, val_loader, sd.data.num_classes());
    if (!std::isfinite(val.loss))
      hfc::fail("training diverged: the validation loss is ", val.loss, " after epoch ", epoch, " (lr ", lr,
                "); stopped, ", detail::checkpoint_note(state));
    plateau.step(val.loss);
    history.push_back({epoch, t.loss(), t.accuracy(), val.loss, val.confusion.accuracy(), lr,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()});

    const bool improved = val.confusion.accuracy() > state.best_val_accuracy;
    state.epoch = epoch;
    if (improved) state.best_epoch = epoch, state.best_val_accuracy = val.confusion.accuracy();
    // The state file commits the epoch: a run killed before it resumes at the epoch before (the
    // metrics' extra row and last.safetensors are then rewritten), one killed after it has its
    // best.safetensors rewritten on resume (above).
    std::visit([&](auto& net) { detail::save_weights(net, last, info, epoch, val.confusion.accuracy()); }, *network);
    write_metrics(c.out, history);
    save_training_state(last_state, *network, opt, plateau, state);
    if (improved)
      std::visit([&](auto& net) { detail::save_weights(net, best, info, epoch, val.confusion.accuracy()); }, *network);
    write_text_file(c.out / "curves.svg", curves_svg(history, display_name(c.model, c.attention) + " on " + sd.data.name));

    const auto& m = history.back();
    std::printf("epoch %*d/%d  train loss %.4f acc %5.1f%%  val loss %.4f acc %5.1f%%  lr %.1e  %.1f s%s\n",
                int(std::to_string(c.epochs).size()), epoch, c.epochs, m.train_loss, 100 * m.train_accuracy,
                m.val_loss, 100 * m.val_accuracy, lr, m.seconds, improved ? "  *best" : "");
    std::fflush(stdout);
  }

  // The report describes the best epoch's weights, read back from best.safetensors.
  std::visit([&](auto& net) { hfc::load_safetensors(net, best); }, *network);
  const auto final_eval = evaluate(*network, val_loader, sd.data.num_classes());
  const ReportHeader header{c.model,
                            c.attention,
                            sd.data.classes,
                            sd.data.name + " (" + std::to_string(sd.data.size()) + " images)",
                            "validation split, " + sd.split_rule + " (" + std::to_string(sd.split.test.size()) +
                                " images)",
                            "best.safetensors, epoch " + std::to_string(state.best_epoch) + " of " +
                                std::to_string(c.epochs) + " (best validation accuracy)",
                            std::to_string(state.best_epoch),
                            parameters,
                            vanilla};
  const std::string report = markdown_report(header, final_eval);
  write_text_file(c.out / "report.md", report);
  std::printf("\n%s\nRun folder: %s (report.md, curves.svg, metrics.csv, best.safetensors)\n", report.c_str(),
              c.out.string().c_str());
  return 0;
}

}  // namespace hfcnet
