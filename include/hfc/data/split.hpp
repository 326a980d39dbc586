#pragma once
// Train/test splits of a Dataset, seeded by hfc::Rng so a seed gives the same split everywhere.
//
// stratified_split: each class keeps its share of the test set (largest remainders), and samples
// of one group (a CK+ sequence's frames) stay on one side, so near-identical frames never leak
// into the test set. With groups of equal size the test set has exactly test_count samples:
// JAFFE 213 -> 158/55, CK+ 981 -> 735/246 (327 sequences -> 245/82).
//
// subject_split: no subject (person) on both sides. Whole subjects are moved, so the test set's
// size only approximates test_count and the classes are not balanced.
//
// fer2013_split: FER2013's own partition, Training against PublicTest + PrivateTest.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "hfc/core/rng.hpp"
#include "hfc/data/dataset.hpp"
#include "hfc/data/seed.hpp"

namespace hfc {

namespace detail {

// The samples of each group (a sample with group -1 is a group of its own), in first-seen order.
inline std::vector<std::vector<std::size_t>> sample_groups(const Dataset& data) {
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::int64_t, std::size_t> slot;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::int64_t g = data.samples[i].group;
    if (g < 0) {
      groups.push_back({i});
      continue;
    }
    const auto [it, added] = slot.try_emplace(g, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  return groups;
}

inline Split sorted_split(Split split) {
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

// Shares `total` out in proportion to `weights` by largest remainders (ties to the lower index),
// then gives every class with at least two members one on each side when the total allows it.
inline std::vector<std::size_t> proportional_quotas(const std::vector<std::size_t>& weights, std::size_t total) {
  const double sum = double(std::accumulate(weights.begin(), weights.end(), std::size_t(0)));
  std::vector<std::size_t> quota(weights.size());
  std::vector<std::pair<double, std::size_t>> remainder;
  std::size_t given = 0;
  for (std::size_t c = 0; c < weights.size(); ++c) {
    const double exact = double(total) * double(weights[c]) / sum;
    quota[c] = static_cast<std::size_t>(std::floor(exact));
    given += quota[c];
    remainder.emplace_back(-(exact - std::floor(exact)), c);
  }
  std::sort(remainder.begin(), remainder.end());
  for (std::size_t k = 0; given < total; ++k, ++given) ++quota[remainder[k % remainder.size()].second];
  // Move single units from the classes with the most to those left with none on one side.
  for (std::size_t c = 0; c < weights.size(); ++c) {
    if (weights[c] < 2) continue;
    auto largest = [&](auto share) {
      std::size_t best = weights.size();
      for (std::size_t d = 0; d < weights.size(); ++d)
        if (d != c && share(d) > 1 && (best == weights.size() || share(d) > share(best))) best = d;
      return best;
    };
    if (quota[c] == 0) {
      const std::size_t from = largest([&](std::size_t d) { return quota[d]; });
      if (from < weights.size()) --quota[from], ++quota[c];
    } else if (quota[c] == weights[c]) {
      const std::size_t to = largest([&](std::size_t d) { return weights[d] - quota[d]; });
      if (to < weights.size()) ++quota[to], --quota[c];
    }
  }
  return quota;
}

}  // namespace detail

inline Split stratified_split(const Dataset& data, std::size_t test_count, std::uint64_t seed) {
  check(test_count > 0 && test_count < data.size(), "stratified_split: test_count ", test_count,
        " must be between 1 and ", data.size() - 1, " for ", data.name, " (", data.size(), " samples)");
  const auto groups = detail::sample_groups(data);
  std::vector<std::vector<std::size_t>> groups_of_class(data.classes.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const int label = data.samples[groups[g].front()].label;
    for (const std::size_t i : groups[g])
      check(data.samples[i].label == label, "stratified_split: group ", data.samples[i].group, " of ", data.name,
            " mixes labels (", data.samples[i].source, ")");
    groups_of_class[std::size_t(label)].push_back(g);
  }
  // Test groups in the proportion of test samples: exact for groups of one size.
  const auto test_groups = static_cast<std::size_t>(
      std::llround(double(test_count) * double(groups.size()) / double(data.size())));
  std::vector<std::size_t> weights;
  for (const auto& members : groups_of_class) weights.push_back(members.size());
  const auto quota = detail::proportional_quotas(weights, std::max<std::size_t>(test_groups, 1));

  Rng rng(seed);
  Split split;
  for (std::size_t c = 0; c < groups_of_class.size(); ++c) {
    auto members = groups_of_class[c];
    detail::shuffle(members, rng);
    for (std::size_t k = 0; k < members.size(); ++k) {
      auto& side = k < quota[c] ? split.test : split.train;
      side.insert(side.end(), groups[members[k]].begin(), groups[members[k]].end());
    }
  }
  return detail::sorted_split(std::move(split));
}

inline Split subject_split(const Dataset& data, std::size_t test_count, std::uint64_t seed) {
  std::map<std::string, std::vector<std::size_t>> by_subject;
  for (std::size_t i = 0; i < data.size(); ++i) {
    check(!data.samples[i].subject.empty(), "subject_split: ", data.samples[i].source, " of ", data.name,
          " has no subject");
    by_subject[data.samples[i].subject].push_back(i);
  }
  check(by_subject.size() >= 2, "subject_split: ", data.name, " has fewer than two subjects");
  std::vector<const std::vector<std::size_t>*> subjects;
  for (const auto& [name, members] : by_subject) subjects.push_back(&members);
  Rng rng(seed);
  detail::shuffle(subjects, rng);
  // Take subjects in the shuffled order while that brings the test set closer to test_count.
  Split split;
  for (std::size_t k = 0; k < subjects.size(); ++k) {
    const auto& members = *subjects[k];
    const bool last_train_subject = split.train.empty() && k + 1 == subjects.size();
    const auto now = std::max(split.test.size(), test_count) - std::min(split.test.size(), test_count);
    const auto after = split.test.size() + members.size();
    const auto then = std::max(after, test_count) - std::min(after, test_count);
    auto& side = (then < now && !last_train_subject) || split.test.empty() ? split.test : split.train;
    side.insert(side.end(), members.begin(), members.end());
  }
  return detail::sorted_split(std::move(split));
}

inline Split fer2013_split(const Dataset& data) {
  Split split;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::string& usage = data.samples[i].usage;
    check(usage == "Training" || usage == "PublicTest" || usage == "PrivateTest", "fer2013_split: ",
          data.samples[i].source, " has Usage '", usage, "'");
    (usage == "Training" ? split.train : split.test).push_back(i);
  }
  return split;
}

}  // namespace hfc
