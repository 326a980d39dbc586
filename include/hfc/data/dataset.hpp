#pragma once
// hfc::Dataset: labelled 8-bit gray images with the dataset's own class list, as the readers in
// data/ return them. A sample holds its decoded image, or the path to decode it from when a batch
// needs it (DatasetOptions::lazy). Malformed input raises hfc::Error naming the file and the line or
// image; with DatasetOptions::skip_bad it is skipped instead and counted in Dataset::skipped.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hfc/core/error.hpp"
#include "hfc/io/image.hpp"

namespace hfc {

// FER2013's labels, which JAFFE and the synthetic set use too.
inline const std::vector<std::string>& fer_classes() {
  static const std::vector<std::string> names{"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};
  return names;
}
// CK+'s emotion codes 1-7, as labels 0-6. CK+ has contempt and no neutral.
inline const std::vector<std::string>& ckplus_classes() {
  static const std::vector<std::string> names{"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"};
  return names;
}

struct Sample {
  int label = 0;
  std::string source;          // names the sample in errors: "fer2013.csv:12" or the image's path
  Image image;                 // decoded gray; empty when it is decoded on demand from `path`
  std::filesystem::path path;  // the image file, when there is one
  std::string subject;         // the person (JAFFE poser, CK+ subject); empty when unknown
  std::int64_t group = -1;     // samples a split keeps together (a CK+ sequence's frames); -1: alone
  std::string usage;           // FER2013's Usage column; empty elsewhere
};

// What skip_bad left out: how many rows or images, and the reasons for the first few.
struct SkipReport {
  static constexpr std::size_t kReasonsKept = 10;
  std::size_t count = 0;
  std::vector<std::string> reasons;

  void add(std::string reason) {
    ++count;
    if (reasons.size() < kReasonsKept) reasons.push_back(std::move(reason));
  }
};

struct DatasetOptions {
  // Skip malformed rows and unreadable or corrupt images (counting them in Dataset::skipped)
  // instead of raising. Errors in the layout itself (a missing folder, an empty class) still raise.
  bool skip_bad = false;
  // Keep image paths and decode each image when a batch needs it, instead of keeping them all
  // decoded. Without skip_bad, a corrupt image then raises in the loader; with it, each image is
  // still decoded once while reading, to skip the bad ones, and its pixels dropped.
  bool lazy = false;
};

struct Dataset {
  Dataset() = default;
  Dataset(std::string dataset_name, std::vector<std::string> class_names)
      : name(std::move(dataset_name)), classes(std::move(class_names)) {}

  std::string name;
  std::vector<std::string> classes;
  std::vector<Sample> samples;
  SkipReport skipped;

  std::size_t size() const { return samples.size(); }
  int num_classes() const { return static_cast<int>(classes.size()); }

  // The sample's image in 8-bit gray, decoded from its file if it was read lazily.
  Image gray_image(std::size_t i) const {
    check(i < samples.size(), name, ": sample ", i, " is out of range (", samples.size(), " samples)");
    const Sample& s = samples[i];
    return s.image.empty() ? to_gray(read_image(s.path)) : s.image;
  }

  std::vector<std::size_t> class_counts() const {
    std::vector<std::size_t> counts(classes.size(), 0);
    for (const Sample& s : samples) ++counts[static_cast<std::size_t>(s.label)];
    return counts;
  }
};

// Indices into a Dataset's samples, for training and for testing.
struct Split {
  std::vector<std::size_t> train, test;
};

namespace detail {

inline std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// Runs `parse` for one row or image. A failure raises, or with skip_bad is counted and false returned.
template <class Parse>
bool parse_or_skip(const DatasetOptions& options, Dataset& data, Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const Error& e) {
    if (!options.skip_bad) throw;
    data.skipped.add(e.what());
    return false;
  }
}

inline bool has_image_extension(const std::filesystem::path& path) {
  const std::string ext = lowercase(path.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff";
}

inline void require_directory(const std::filesystem::path& dir, std::string_view what) {
  check(std::filesystem::is_directory(dir), what, ": missing folder ", dir.string());
}

// The regular files of `dir` that `keep` accepts, sorted by name so every platform reads one order.
template <class Keep>
std::vector<std::filesystem::path> sorted_files(const std::filesystem::path& dir, Keep&& keep) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && keep(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}
inline std::vector<std::filesystem::path> sorted_subfolders(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().front() != '.') dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

inline Sample file_sample(int label, std::filesystem::path path, std::string subject = {}, std::int64_t group = -1) {
  Sample s;
  s.label = label;
  s.path = std::move(path);
  s.subject = std::move(subject);
  s.group = group;
  return s;
}

// Adds an image file's sample: decoded now (so a corrupt file is found while reading), or only
// its path when lazy (decoded and dropped when skip_bad must find the corrupt ones).
inline void add_image_sample(Dataset& data, const DatasetOptions& options, Sample sample) {
  sample.source = sample.path.string();
  parse_or_skip(options, data, [&] {
    if (!options.lazy) sample.image = to_gray(read_image(sample.path));
    else if (options.skip_bad) read_image(sample.path);
    data.samples.push_back(std::move(sample));
  });
}

// A folder dataset must show every class: an empty one means a wrong or incomplete layout.
inline void check_every_class_present(const Dataset& data, const std::filesystem::path& where) {
  const auto counts = data.class_counts();
  for (std::size_t c = 0; c < counts.size(); ++c)
    check(counts[c] > 0, data.name, " at ", where.string(), ": class '", data.classes[c], "' has no images",
          data.skipped.count ? " (after skipping bad ones)" : "");
}

}  // namespace detail
}  // namespace hfc
