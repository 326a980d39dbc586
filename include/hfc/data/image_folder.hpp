#pragma once
// A folder of class folders (torchvision's ImageFolder): root/<class>/<image>, the images PNG, JPEG,
// BMP or TIFF, converted to gray. Without a class list the classes are the subfolder names,
// sorted; with one, the folders must be exactly those classes (compared case-insensitively) and
// the labels follow the list. Every class needs at least one image.
#include <string>
#include <vector>

#include "hfc/data/dataset.hpp"

namespace hfc {

inline Dataset read_image_folder(const std::filesystem::path& root, const DatasetOptions& options = {},
                                 std::vector<std::string> classes = {}) {
  detail::require_directory(root, "image folder");
  const auto folders = detail::sorted_subfolders(root);
  check(!folders.empty(), "image folder: no class folders in ", root.string());
  if (classes.empty())
    for (const auto& folder : folders) classes.push_back(folder.filename().string());

  std::vector<std::filesystem::path> class_folder(classes.size());
  for (const auto& folder : folders) {
    const std::string name = detail::lowercase(folder.filename().string());
    std::size_t c = 0;
    while (c < classes.size() && detail::lowercase(classes[c]) != name) ++c;
    check(c < classes.size(), "image folder: unexpected folder ", folder.string(), " (the classes are given)");
    class_folder[c] = folder;
  }

  Dataset data("image_folder", classes);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    check(!class_folder[c].empty(), "image folder: missing folder ", (root / classes[c]).string(), " for class '",
          classes[c], "'");
    for (const auto& file : detail::sorted_files(class_folder[c], detail::has_image_extension))
      detail::add_image_sample(data, options, detail::file_sample(static_cast<int>(c), file));
  }
  detail::check_every_class_present(data, root);
  return data;
}

// Writes each sample as root/<class name, lowercase>/<index, 5 digits>.png: the CK+48 layout.
inline void write_image_folder(const Dataset& data, const std::filesystem::path& root) {
  for (const auto& name : data.classes) std::filesystem::create_directories(root / detail::lowercase(name));
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::string file = std::to_string(i);
    file.insert(0, file.size() < 5 ? 5 - file.size() : 0, '0');
    write_png(root / detail::lowercase(data.classes[std::size_t(data.samples[i].label)]) / (file + ".png"),
              data.gray_image(i));
  }
}

}  // namespace hfc
