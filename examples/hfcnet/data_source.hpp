#pragma once
// The dataset a run reads (--dataset, --data) and its train/validation split: the paper's splits
// for FER2013 (Training against PublicTest + PrivateTest), JAFFE (158/55) and CK+ (735/246), scaled
// to the same proportion when a copy has another size; a fifth held out for the synthetic set and
// image folders.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include <hfc/data/all.hpp>
#include <hfc/components.hpp>

#include "options.hpp"

namespace hfcnet {

struct SplitData {
  hfc::Dataset data;
  hfc::Split split;       // split.test is the validation set the run selects its best epoch on
  std::string split_rule; // in words, for config.json and the report
};

namespace detail {
// The paper's test share (test of total), at the paper's count when the copy has its size.
inline std::size_t test_count_like(std::size_t size, std::size_t paper_total, std::size_t paper_test) {
  if (size == paper_total) return paper_test;
  const auto scaled = static_cast<std::size_t>(std::llround(double(size) * double(paper_test) / double(paper_total)));
  return std::clamp<std::size_t>(scaled, 1, size > 1 ? size - 1 : 1);
}
inline void require_data(const std::filesystem::path& path, const std::string& dataset) {
  hfc::check(std::filesystem::exists(path), "--dataset ", dataset, ": ", path.string(), " does not exist");
}
}  // namespace detail

inline SplitData load_split_data(const DataOptions& o) {
  const hfc::DatasetOptions read{.skip_bad = o.skip_bad};
  const std::string dataset = name_of(o.dataset);
  SplitData s;
  auto stratified = [&](std::size_t paper_total, std::size_t paper_test, const std::string& rule) {
    const auto test = detail::test_count_like(s.data.size(), paper_total, paper_test);
    hfc::check(s.data.size() >= 2, "--dataset ", dataset, ": ", o.data.string(), " holds ", s.data.size(),
               " images, too few to split");
    s.split = hfc::stratified_split(s.data, test, o.seed);
    s.split_rule = rule + ", seed " + std::to_string(o.seed);
  };
  // --subject-split: about the paper's share, with no person on both sides; otherwise stratified.
  auto by_subject_or_stratified = [&](std::size_t paper_total, std::size_t paper_test, const std::string& rule) {
    if (!o.subject_split) return stratified(paper_total, paper_test, rule);
    s.split = hfc::subject_split(s.data, detail::test_count_like(s.data.size(), paper_total, paper_test), o.seed);
    s.split_rule = "subject-independent, about " + std::to_string(paper_test) + " of " + std::to_string(paper_total) +
                   ", seed " + std::to_string(o.seed);
  };
  switch (o.dataset) {
    case DatasetKind::synthetic:
      s.data = hfc::make_synthetic(static_cast<std::size_t>(o.synthetic_count), o.seed);
      stratified(5, 1, "stratified, a fifth held out");
      break;
    case DatasetKind::fer2013: {
      detail::require_data(o.data, dataset);
      const auto csv = std::filesystem::is_directory(o.data) ? o.data / "fer2013.csv" : o.data;
      s.data = hfc::read_fer2013(csv, read);
      s.split = hfc::fer2013_split(s.data);
      s.split_rule = "FER2013's Usage: Training against PublicTest + PrivateTest";
      break;
    }
    case DatasetKind::jaffe:
      detail::require_data(o.data, dataset);
      s.data = hfc::read_jaffe(o.data, read);
      by_subject_or_stratified(213, hfc::kJaffeTestCount, "stratified 158/55 (the paper's)");
      break;
    case DatasetKind::ckplus:
      detail::require_data(o.data, dataset);
      s.data = hfc::read_ckplus(o.data, {.skip_bad = o.skip_bad, .lazy = true});
      by_subject_or_stratified(981, hfc::kCkPlusTestCount, "stratified by sequence 735/246 (the paper's)");
      break;
    case DatasetKind::ck48:
      detail::require_data(o.data, dataset);
      s.data = hfc::read_ck48(o.data, read);
      by_subject_or_stratified(981, hfc::kCkPlusTestCount, "stratified 735/246 (the paper's CK+ share)");
      break;
    case DatasetKind::folder:
      detail::require_data(o.data, dataset);
      s.data = hfc::read_image_folder(o.data, read);
      stratified(5, 1, "stratified, a fifth held out");
      break;
  }
  if (s.data.skipped.count > 0) {
    std::cerr << "hfcnet: --skip-bad skipped " << s.data.skipped.count << " bad rows or images of " << dataset;
    for (const auto& reason : s.data.skipped.reasons) std::cerr << "\n  " << reason;
    if (s.data.skipped.count > s.data.skipped.reasons.size()) std::cerr << "\n  ...";
    std::cerr << '\n';
  }
  hfc::check(!s.split.train.empty() && !s.split.test.empty(), "--dataset ", dataset, ": the split left an empty side (",
             s.split.train.size(), " train, ", s.split.test.size(), " validation)");
  return s;
}

}  // namespace hfcnet
