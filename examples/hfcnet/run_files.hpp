#pragma once
// The text files of a run folder: metrics.csv and metrics.jsonl (one row per epoch) and
// config.json. Each is rewritten whole and atomically after every epoch, just before the state
// file that commits the epoch, so --resume finds at least the rows up to its epoch and takes those.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <hfc/io/atomic_file.hpp>
#include <nlohmann/json.hpp>

namespace hfcnet {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0, lr = 0, seconds = 0;
};

inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  hfc::write_file_atomically(path, [&](std::FILE* file, const std::filesystem::path& tmp) {
    hfc::check(std::fwrite(text.data(), 1, text.size(), file) == text.size(), "cannot write ", tmp.string());
  });
}

inline nlohmann::json to_json(const EpochMetrics& m) {
  return {{"epoch", m.epoch},     {"train_loss", m.train_loss}, {"train_accuracy", m.train_accuracy},
          {"val_loss", m.val_loss}, {"val_accuracy", m.val_accuracy}, {"lr", m.lr},
          {"seconds", m.seconds}};
}

inline void write_metrics(const std::filesystem::path& dir, const std::vector<EpochMetrics>& rows) {
  std::ostringstream csv, jsonl;
  csv.precision(9);
  csv << "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n";
  for (const auto& m : rows) {
    csv << m.epoch << ',' << m.train_loss << ',' << m.train_accuracy << ',' << m.val_loss << ',' << m.val_accuracy
        << ',' << m.lr << ',' << m.seconds << '\n';
    jsonl << to_json(m).dump() << '\n';
  }
  write_text_file(dir / "metrics.csv", csv.str());
  write_text_file(dir / "metrics.jsonl", jsonl.str());
}

// The rows of a run's metrics.jsonl up to and including `last_epoch`.
inline std::vector<EpochMetrics> read_metrics(const std::filesystem::path& dir, int last_epoch) {
  const auto path = dir / "metrics.jsonl";
  std::ifstream in(path);
  hfc::check(in.good(), "--resume: cannot read ", path.string());
  std::vector<EpochMetrics> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      EpochMetrics m{j.at("epoch").get<int>(),    j.at("train_loss").get<double>(), j.at("train_accuracy").get<double>(),
                     j.at("val_loss").get<double>(), j.at("val_accuracy").get<double>(), j.at("lr").get<double>(),
                     j.at("seconds").get<double>()};
      if (m.epoch <= last_epoch) rows.push_back(m);
    } catch (const std::exception& e) {
      hfc::fail(path.string(), ":", number, ": ", e.what());
    }
  }
  return rows;
}

}  // namespace hfcnet
