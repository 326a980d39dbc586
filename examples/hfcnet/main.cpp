// hfcnet: train, evaluate and inspect the paper's networks (Kim & Jo 2024) from the command line.
//
//   hfcnet train   [--dataset ...] [--data PATH] [--model M] [--attention A] [--preset paper] ...
//   hfcnet eval    --weights FILE [dataset flags]        hfcnet predict --weights FILE IMAGE...
//   hfcnet gradcam --weights FILE IMAGE... --out DIR      hfcnet summary [--model M] [--attention A]
//   hfcnet synth   --out DIR [--layout ck48|fer2013-csv] [--count N] [--seed N]
//
// Exit status: 0 success, 1 a runtime failure (message on stderr), 2 a usage error. docs/trainer.md
// has the flags, the run folder and how to reproduce the paper's tables.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <hfc/hfc.hpp>  // the cpu backend, before the trainer's headers (they include no backend)

#include "gradcam_command.hpp"
#include "inference.hpp"
#include "options.hpp"
#include "summary.hpp"
#include "synth.hpp"
#include "train.hpp"

namespace {

using namespace hfcnet;

template <class E>
CLI::Option* add_choice(CLI::App* app, const std::string& flag, E& target, const std::string& help) {
  std::string names;
  for (const auto& [name, value] : names_of<E>()) names += (names.empty() ? "" : "|") + name;
  return app->add_option(flag, target, help + " (" + names + ")")
      ->transform(CLI::CheckedTransformer(names_of<E>(), CLI::ignore_case).description(""))
      ->option_text("NAME");
}

void add_data_flags(CLI::App* app, DataOptions& d) {
  add_choice(app, "--dataset", d.dataset, "dataset to read; synthetic needs no files [synthetic]");
  app->add_option("--data", d.data, "the dataset's file or folder: fer2013.csv, the JAFFE folder, the CK+ root, "
                                    "CK+48 or image-folder root");
  app->add_flag("--skip-bad", d.skip_bad, "skip malformed rows and unreadable images, reporting how many");
  app->add_flag("--subject-split", d.subject_split, "CK+, CK+48, JAFFE: subject-independent split (no person on both sides) instead of stratified");
  app->add_option("--synthetic-count", d.synthetic_count, "synthetic set: images in all, a fifth held out [1750]");
  app->add_option("--seed", d.seed, "seed of the split, the synthetic set, the initial weights and shuffling [0]");
}

// Flags standing in for, or overriding, what a weights file's metadata records.
struct OverrideFlags {
  ModelKind model{};
  hfc::Attention attention{};
  int image_size = 0;
  CLI::Option *model_opt = nullptr, *attention_opt = nullptr, *size_opt = nullptr;
  std::vector<std::string> classes;

  void add(CLI::App* app) {
    model_opt = add_choice(app, "--model", model, "override the weights' model");
    attention_opt = add_choice(app, "--attention", attention, "override the weights' attention");
    size_opt = app->add_option("--image-size", image_size, "override the weights' input size");
    app->add_option("--classes", classes, "class names, for weights without hfcnet metadata")->delimiter(',');
  }
  ModelOverrides get() const {
    ModelOverrides o;
    if (model_opt->count()) o.model = model;
    if (attention_opt->count()) o.attention = attention;
    if (size_opt->count()) o.image_size = image_size;
    o.classes = classes;
    return o;
  }
};

}  // namespace

namespace hfcnet {

#if HFCNET_WITH_CUDA
// run_train_on<hfc::cuda>, in its own translation unit built by nvcc (train_cuda.cu), which sees
// the cuda backend and not the cpu one: this file, built by nvcc, ran the cpu training 6x slower
// (docs/trainer.md, "--device cuda").
int run_train_cuda(const TrainConfig& c, const TrainFlags& flags);
#endif

// --device cpu, or cuda where the program was built with the cuda backend (HFCNET_WITH_CUDA).
int run_train(const TrainFlags& flags) {
  const TrainConfig c = detail::config_for(flags);
  if (c.device == "cpu") return run_train_on<hfc::cpu>(c, flags);
  hfc::check(c.device == "cuda", "--device ", c.device, ": expected cpu or cuda");
#if HFCNET_WITH_CUDA
  return run_train_cuda(c, flags);
#else
  hfc::fail("--device cuda: this hfcnet was built without CUDA (CMake found no nvcc); use --device cpu");
#endif
}

}  // namespace hfcnet

int main(int argc, char** argv) {
  CLI::App app{"hfcnet: spatial attention with a high-frequency component (Kim & Jo 2024) for facial expression "
               "recognition. Train, evaluate and inspect ResNet18 and MobileNetV2 with or without HFC attention."};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 runtime failure, 2 usage error. See docs/trainer.md.");

  // train
  TrainFlags train;
  int epochs = 0, batch = 0, image_size = 0;
  double lr = 0;
  OptimizerKind optimizer{};
  auto* t = app.add_subcommand("train", "train a network; the run folder gets metrics, checkpoints, a report and "
                                        "curves");
  t->footer("Defaults (no flags): the built-in synthetic set (1750 drawn 48x48 faces, 1400 train / 350 validation;\n"
            "not FER data), ResNet18 + HFC, 10 epochs of Adam lr 1e-3, batch 16, 48 px: about 3 minutes on 2 cores.\n"
            "--preset paper: 224 px, 100 epochs, Adam, ReduceLROnPlateau(0.3, 5) on the validation loss, and the\n"
            "paper's lr and batch for the model and dataset; explicit flags override it.");
  add_data_flags(t, train.data);
  add_choice(t, "--model", train.model, "network [resnet18]");
  add_choice(t, "--attention", train.attention, "attention modules [hfc]");
  t->add_option("--preset", train.preset, "paper: the paper's protocol for the model and dataset")
      ->check(CLI::IsMember({"paper"}));
  auto* epochs_opt = t->add_option("--epochs", epochs, "epochs to train (with --resume: the new total) [10]");
  auto* batch_opt = t->add_option("--batch-size", batch, "batch size [16]");
  auto* lr_opt = t->add_option("--lr", lr, "learning rate (with --resume: the rate from here on) [1e-3]");
  auto* optimizer_opt = add_choice(t, "--optimizer", optimizer, "optimiser [adam]");
  auto* size_opt = t->add_option("--image-size", image_size, "side the images are resized to [48]");
  t->add_option("--device", train.device, "cpu, or cuda (a GPU, and a build that found nvcc) [cpu]")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  t->add_option("--out", train.out, "run folder [run]");
  t->add_flag("--resume", train.resume, "continue the run in --out from its last epoch");
  t->add_option("--loader-threads", train.loader_threads, "background threads making batches [2]")
      ->check(CLI::Range(0, 64));

  // eval
  EvalFlags eval;
  OverrideFlags eval_overrides;
  auto* e = app.add_subcommand("eval", "accuracy per class and overall of a weights file on a dataset split");
  e->add_option("--weights", eval.weights, "weights written by hfcnet train")->required();
  add_data_flags(e, eval.data);
  e->add_option("--split", eval.split, "which images [validation]")->check(CLI::IsMember({"validation", "train", "all"}));
  e->add_option("--batch-size", eval.batch_size, "batch size [32]")->check(CLI::PositiveNumber);
  e->add_option("--out", eval.out, "also write report.md and evaluation.json into this folder");
  eval_overrides.add(e);

  // predict
  PredictFlags predict;
  OverrideFlags predict_overrides;
  auto* p = app.add_subcommand("predict", "class probabilities of images");
  p->add_option("--weights", predict.weights, "weights written by hfcnet train")->required();
  p->add_option("images", predict.images, "image files (PNG, JPEG, BMP, TIFF)")->required();
  predict_overrides.add(p);

  // gradcam
  GradcamFlags gradcam;
  OverrideFlags gradcam_overrides;
  auto* g = app.add_subcommand("gradcam", "Grad-CAM overlays, HFC attention maps and frequency images (Figs. 2, 3, 9)");
  g->add_option("--weights", gradcam.weights, "weights written by hfcnet train")->required();
  g->add_option("images", gradcam.images, "image files")->required();
  g->add_option("--out", gradcam.out, "folder for the PNGs")->required();
  g->add_option("--class", gradcam.class_name, "explain this class (name or index) instead of the predicted one");
  gradcam_overrides.add(g);

  // summary
  SummaryFlags summary;
  ModelKind summary_model{};
  hfc::Attention summary_attention{};
  auto* s = app.add_subcommand("summary", "parameters and the delta from the vanilla network (the paper's Param.)");
  auto* summary_model_opt = add_choice(s, "--model", summary_model, "one network only");
  auto* summary_attention_opt = add_choice(s, "--attention", summary_attention, "one attention only");
  s->add_option("--num-classes", summary.classes, "classes of the classifier [7]")->check(CLI::PositiveNumber);

  // synth
  SynthFlags synth;
  auto* y = app.add_subcommand("synth", "write the synthetic expression set in a real dataset's format");
  y->add_option("--out", synth.out, "folder to write")->required();
  y->add_option("--layout", synth.layout, "ck48 class folders or a FER2013 CSV [ck48]")
      ->check(CLI::IsMember({"ck48", "fer2013-csv"}));
  y->add_option("--count", synth.count, "images [700]");
  y->add_option("--seed", synth.seed, "seed [0]");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);  // prints help, or the error with a hint
    return code == 0 ? 0 : 2;
  }

  try {
    if (*t) {
      if (epochs_opt->count()) train.epochs = epochs;
      if (batch_opt->count()) train.batch_size = batch;
      if (lr_opt->count()) train.lr = lr;
      if (optimizer_opt->count()) train.optimizer = optimizer;
      if (size_opt->count()) train.image_size = image_size;
      return run_train(train);
    }
    if (*e) {
      eval.model = eval_overrides.get();
      return run_eval(eval);
    }
    if (*p) {
      predict.model = predict_overrides.get();
      return run_predict(predict);
    }
    if (*g) {
      gradcam.model = gradcam_overrides.get();
      return run_gradcam(gradcam);
    }
    if (*s) {
      if (summary_model_opt->count()) summary.model = summary_model;
      if (summary_attention_opt->count()) summary.attention = summary_attention;
      return run_summary(summary);
    }
    return run_synth(synth);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "hfcnet: %s\nRun with --help for more information.\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hfcnet: error: %s\n", error.what());
    return 1;
  }
}
