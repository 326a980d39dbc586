#pragma once
// CK+ (extended Cohn-Kanade) in its two common layouts.
//
// The original: root/cohn-kanade-images/Sxxx/yyy/*.png with labels in
// root/Emotion/Sxxx/yyy/*_emotion.txt holding one code ("   3.0000000e+00"): 1 anger, 2 contempt,
// 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise, read as labels 0-6 (ckplus_classes()).
// Sequences without a label file are unlabelled and left out. The last frames of each of the 327
// labelled sequences (the peak of the expression) are taken: 3 give 981 images. A sequence's frames
// share a group, so splits keep them together (the paper's 735/246 is 245/82 sequences).
//
// CK+48: class folders of 48x48 PNGs (anger, contempt, ...), as on Kaggle; folders named after
// FER2013's classes (angry, ..., neutral, as the synthetic set writes them) are read with those.
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "hfc/core/parse_number.hpp"
#include "hfc/data/image_folder.hpp"

namespace hfc {

inline constexpr std::size_t kCkPlusTestCount = 246;

namespace detail {

// A CK+ label file's code as a label 0-6.
inline int ckplus_label(const std::filesystem::path& file) {
  std::ifstream in(file);
  check(bool(in), "cannot open CK+ label file ", file.string());
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  const auto first = content.find_first_not_of(" \t\r\n");
  check(first != std::string::npos, file.string(), ":1: the label file is empty");
  const auto last = content.find_last_not_of(" \t\r\n");
  const std::string_view token(content.data() + first, last - first + 1);
  double code = 0;
  check(parse_number(token, code), file.string(), ":1: label '", token,
        "' is not a number");
  check(code == std::round(code) && code >= 1 && code <= 7, file.string(), ":1: emotion code ", token,
        " is not one of 1..7 (anger, contempt, disgust, fear, happy, sadness, surprise)");
  return static_cast<int>(code) - 1;
}

}  // namespace detail

inline Dataset read_ckplus(const std::filesystem::path& root, const DatasetOptions& options = {},
                           std::size_t frames_per_sequence = 3) {
  check(frames_per_sequence > 0, "CK+: frames_per_sequence must be positive");
  const auto images = root / "cohn-kanade-images", labels = root / "Emotion";
  detail::require_directory(images, "CK+");
  detail::require_directory(labels, "CK+");
  Dataset data("ckplus", ckplus_classes());
  std::int64_t sequence_id = 0;
  for (const auto& subject : detail::sorted_subfolders(labels))
    for (const auto& sequence : detail::sorted_subfolders(subject)) {
      const auto label_files = detail::sorted_files(sequence, [](const std::filesystem::path& p) {
        return p.filename().string().ends_with("_emotion.txt");
      });
      if (label_files.empty()) continue;  // an unlabelled sequence
      const auto frames_dir = images / subject.filename() / sequence.filename();
      int label = 0;
      std::vector<std::filesystem::path> frames;
      const bool ok = detail::parse_or_skip(options, data, [&] {
        check(label_files.size() == 1, sequence.string(), ": ", label_files.size(), " label files, expected one");
        label = detail::ckplus_label(label_files.front());
        check(std::filesystem::is_directory(frames_dir), "CK+: missing folder ", frames_dir.string(),
              " for the labelled sequence ", label_files.front().string());
        frames = detail::sorted_files(frames_dir, [](const std::filesystem::path& p) {
          return detail::lowercase(p.extension().string()) == ".png";
        });
        check(frames.size() >= frames_per_sequence, "CK+: ", frames_dir.string(), " has ", frames.size(),
              " frames, fewer than the ", frames_per_sequence, " taken from each sequence");
      });
      if (!ok) continue;
      for (auto frame = frames.end() - static_cast<std::ptrdiff_t>(frames_per_sequence); frame != frames.end(); ++frame)
        detail::add_image_sample(data, options,
                                 detail::file_sample(label, *frame, subject.filename().string(), sequence_id));
      ++sequence_id;
    }
  check(!data.samples.empty() || data.skipped.count > 0, "CK+: no labelled sequences under ", labels.string());
  detail::check_every_class_present(data, root);
  return data;
}

inline Dataset read_ck48(const std::filesystem::path& root, const DatasetOptions& options = {}) {
  detail::require_directory(root, "CK+48");
  auto lowercase_all = [](std::vector<std::string> names) {
    for (auto& n : names) n = detail::lowercase(n);
    return names;
  };
  const auto ck = lowercase_all(ckplus_classes()), fer = lowercase_all(fer_classes());
  bool all_ck = true, all_fer = true;
  for (const auto& folder : detail::sorted_subfolders(root)) {
    const std::string name = detail::lowercase(folder.filename().string());
    all_ck = all_ck && std::find(ck.begin(), ck.end(), name) != ck.end();
    all_fer = all_fer && std::find(fer.begin(), fer.end(), name) != fer.end();
  }
  check(all_ck || all_fer, "CK+48: the folders of ", root.string(),
        " must be CK+'s classes (anger contempt disgust fear happy sadness surprise) or FER2013's (angry disgust "
        "fear happy sad surprise neutral)");
  Dataset data = read_image_folder(root, options, all_ck ? ckplus_classes() : fer_classes());
  data.name = "ck48";
  // Kaggle's file names keep CK+'s subject and sequence (S010_004_00000017.png): group by them.
  static const std::regex pattern(R"((S\d+)_(\d+)_\d+)");
  std::map<std::string, std::int64_t> sequences;
  for (Sample& s : data.samples) {
    std::smatch m;
    const std::string stem = s.path.stem().string();
    if (!std::regex_match(stem, m, pattern)) continue;
    s.subject = m[1];
    s.group = sequences.try_emplace(m[1].str() + "_" + m[2].str(), std::int64_t(sequences.size())).first->second;
  }
  return data;
}

}  // namespace hfc
