#pragma once
// FER2013 as Kaggle ships it: fer2013.csv with the columns emotion (0-6, FER order), pixels (48x48
// = 2304 space-separated values 0-255, row-major) and Usage (Training, PublicTest, PrivateTest).
// The paper trains on Training (28,709 rows) and tests on PublicTest + PrivateTest (7,178):
// fer2013_split() in data/split.hpp.
#include <array>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "hfc/core/parse_number.hpp"
#include "hfc/data/dataset.hpp"

namespace hfc {

inline constexpr int kFer2013Side = 48;
inline constexpr std::array<std::string_view, 3> kFer2013Usages{"Training", "PublicTest", "PrivateTest"};

namespace detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline std::vector<std::string_view> split_fields(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t end = line.find(separator, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// One data row into `sample`; raises naming `where` ("fer2013.csv:12").
inline void parse_fer2013_row(std::string_view line, const std::array<std::size_t, 3>& column,
                              std::size_t column_count, const std::string& where, Sample& sample) {
  const auto fields = split_fields(line, ',');
  check(fields.size() == column_count, where, ": expected ", column_count, " comma-separated fields, got ",
        fields.size());
  const std::string_view emotion = fields[column[0]], pixels = fields[column[1]], usage = fields[column[2]];
  check(parse_number(emotion, sample.label), where, ": emotion '", emotion, "' is not an integer");
  check(sample.label >= 0 && sample.label < 7, where, ": emotion ", sample.label, " is outside 0..6");
  check(std::find(kFer2013Usages.begin(), kFer2013Usages.end(), usage) != kFer2013Usages.end(), where,
        ": unknown Usage '", usage, "' (expected Training, PublicTest or PrivateTest)");
  sample.usage = usage;

  Image image(kFer2013Side, kFer2013Side, 1);
  std::size_t count = 0;
  for (std::size_t pos = 0; pos < pixels.size();) {
    while (pos < pixels.size() && pixels[pos] == ' ') ++pos;
    if (pos == pixels.size()) break;
    std::size_t end = pixels.find(' ', pos);
    if (end == std::string_view::npos) end = pixels.size();
    const std::string_view token = pixels.substr(pos, end - pos);
    int value = 0;
    check(parse_number(token, value), where, ": pixel ", count + 1, " is '", token, "', not an integer");
    check(value >= 0 && value <= 255, where, ": pixel ", count + 1, " is ", value, ", outside 0..255");
    if (count < image.pixels.size()) image.pixels[count] = static_cast<std::uint8_t>(value);
    ++count;
    pos = end;
  }
  check(count == image.pixels.size(), where, ": pixels has ", count, " values, expected ", image.pixels.size(),
        " (48x48)");
  sample.image = std::move(image);
}

}  // namespace detail

inline Dataset read_fer2013(const std::filesystem::path& csv, const DatasetOptions& options = {}) {
  std::ifstream in(csv);
  check(bool(in), "FER2013: cannot open ", csv.string());
  Dataset data("fer2013", fer_classes());

  std::string line;
  check(bool(std::getline(in, line)), csv.string(), ":1: the file is empty (expected the header emotion,pixels,Usage)");
  const auto header = detail::split_fields(line, ',');
  std::array<std::size_t, 3> column{};
  const std::array<std::string_view, 3> names{"emotion", "pixels", "Usage"};
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto it = std::find(header.begin(), header.end(), names[k]);
    check(it != header.end(), csv.string(), ":1: the header '", detail::trim(line), "' has no column ", names[k],
          " (expected emotion,pixels,Usage)");
    column[k] = static_cast<std::size_t>(it - header.begin());
  }

  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (detail::trim(line).empty()) continue;
    const std::string where = csv.string() + ":" + std::to_string(number);
    Sample sample;
    if (detail::parse_or_skip(options, data, [&] { detail::parse_fer2013_row(line, column, header.size(), where, sample); })) {
      sample.source = where;
      data.samples.push_back(std::move(sample));
    }
  }
  check(!in.bad(), "FER2013: error reading ", csv.string());
  return data;
}

// Writes 48x48 gray samples with FER2013's labels in its format: split.train as Training, the first
// half of split.test as PublicTest and the rest as PrivateTest.
inline void write_fer2013_csv(const Dataset& data, const Split& split, const std::filesystem::path& csv) {
  check(data.classes == fer_classes(), "write_fer2013_csv: ", data.name, " does not have FER2013's classes");
  std::ofstream out(csv, std::ios::trunc);
  check(bool(out), "write_fer2013_csv: cannot create ", csv.string());
  out << "emotion,pixels,Usage\n";
  auto write = [&](std::size_t i, std::string_view usage) {
    const Image image = data.gray_image(i);
    check(image.width == kFer2013Side && image.height == kFer2013Side, "write_fer2013_csv: ",
          data.samples[i].source, " is ", image.width, "x", image.height, ", FER2013 holds 48x48 images");
    out << data.samples[i].label << ',';
    for (std::size_t p = 0; p < image.pixels.size(); ++p) out << (p ? " " : "") << int(image.pixels[p]);
    out << ',' << usage << '\n';
  };
  for (const std::size_t i : split.train) write(i, kFer2013Usages[0]);
  for (std::size_t k = 0; k < split.test.size(); ++k)
    write(split.test[k], k < split.test.size() / 2 ? kFer2013Usages[1] : kFer2013Usages[2]);
  out.close();
  check(out.good(), "write_fer2013_csv: error writing ", csv.string());
}

}  // namespace hfc
