#pragma once
// JAFFE: a folder of 213 TIFF images named like KA.AN1.39.tiff (poser, expression and take,
// picture number). The label is the first two letters of the second field, mapped to FER2013's
// labels: AN Angry, DI Disgust, FE Fear, HA Happy, SA Sad, SU Surprise, NE Neutral. Other files
// (the README) are ignored. The paper splits 158/55: stratified_split(data, kJaffeTestCount, seed).
#include <array>
#include <string>
#include <utility>

#include "hfc/data/dataset.hpp"

namespace hfc {

inline constexpr std::size_t kJaffeTestCount = 55;

namespace detail {

// The FER label of a JAFFE file name's expression field, e.g. "AN1" -> 0 (Angry).
inline int jaffe_label(const std::filesystem::path& file) {
  static constexpr std::array<std::pair<std::string_view, int>, 7> codes{
      {{"AN", 0}, {"DI", 1}, {"FE", 2}, {"HA", 3}, {"SA", 4}, {"SU", 5}, {"NE", 6}}};
  const std::string name = file.filename().string();
  const std::size_t first = name.find('.');
  const std::string code = first == std::string::npos ? "" : detail::lowercase(name.substr(first + 1, 2));
  for (const auto& [letters, label] : codes)
    if (detail::lowercase(letters) == code) return label;
  fail(file.string(), ": cannot read the expression from the name (expected POSER.CODEn.NUMBER.tiff with CODE "
       "one of AN DI FE HA NE SA SU)");
}

}  // namespace detail

inline Dataset read_jaffe(const std::filesystem::path& folder, const DatasetOptions& options = {}) {
  detail::require_directory(folder, "JAFFE");
  Dataset data("jaffe", fer_classes());
  const auto files = detail::sorted_files(folder, [](const std::filesystem::path& p) {
    const std::string ext = detail::lowercase(p.extension().string());
    return ext == ".tiff" || ext == ".tif";
  });
  check(!files.empty(), "JAFFE: no .tiff images in ", folder.string());
  for (const auto& file : files) {
    Sample sample;
    sample.path = file;
    if (!detail::parse_or_skip(options, data, [&] { sample.label = detail::jaffe_label(file); })) continue;
    const std::string name = file.filename().string();
    sample.subject = name.substr(0, name.find('.'));
    detail::add_image_sample(data, options, std::move(sample));
  }
  detail::check_every_class_present(data, folder);
  return data;
}

}  // namespace hfc
