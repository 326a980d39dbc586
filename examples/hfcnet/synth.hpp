#pragma once
// `hfcnet synth`: the built-in synthetic expression set written in a real dataset's format (CK+48
// class folders, or a FER2013 CSV with its Usage column), so the real readers can be tried end to
// end. The images are drawn cartoons, not facial-expression data.
#include <cstdio>
#include <filesystem>

#include <hfc/data/all.hpp>
#include <hfc/hfc.hpp>

#include "options.hpp"

namespace hfcnet {

struct SynthFlags {
  std::filesystem::path out;
  std::string layout = "ck48";  // ck48 | fer2013-csv
  std::int64_t count = 700;
  std::uint64_t seed = 0;
};

inline int run_synth(const SynthFlags& f) {
  if (f.count < 14) throw UsageError("--count must be at least 14 (two of each class)");
  const auto data = hfc::make_synthetic(std::size_t(f.count), f.seed);
  std::filesystem::create_directories(f.out);
  if (f.layout == "fer2013-csv") {
    const auto csv = f.out / "fer2013.csv";
    hfc::write_fer2013_csv(data, hfc::stratified_split(data, data.size() / 5, f.seed), csv);
    std::printf("wrote %zu synthetic faces to %s (FER2013 CSV; train with --dataset fer2013 --data %s)\n",
                data.size(), csv.string().c_str(), csv.string().c_str());
  } else {
    hfc::write_image_folder(data, f.out);
    std::printf("wrote %zu synthetic faces to %s (CK+48 class folders; train with --dataset ck48 --data %s)\n",
                data.size(), f.out.string().c_str(), f.out.string().c_str());
  }
  return 0;
}

}  // namespace hfcnet
