// The data layer: image files, the dataset readers on trees and files the tests write in the real
// formats (including malformed rows and corrupt files), splits, transforms against independent
// references, the batch loader and the synthetic set.
#include "support.hpp"

#include <tiffio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include <hfc/data/all.hpp>

using namespace hfc;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system's temporary directory, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("hfc_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

Image pattern_image(int w, int h, int channels, int salt = 0) {
  Image image(w, h, channels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<std::uint8_t>((i * 37 + std::size_t(salt) * 11) % 256);
  return image;
}

// Writes an 8-bit gray or RGB TIFF with libtiff itself, independent of the reader under test.
void write_tiff(const fs::path& path, const Image& image) {
  fs::create_directories(path.parent_path());
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  REQUIRE(tif != nullptr);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, std::uint32_t(image.width));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, std::uint32_t(image.height));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t(image.channels));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t(8));
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, image.channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, std::uint32_t(image.height));
  std::vector<std::uint8_t> row(std::size_t(image.width * image.channels));
  for (int y = 0; y < image.height; ++y) {
    std::copy_n(image.pixels.begin() + std::ptrdiff_t(row.size()) * y, row.size(), row.begin());
    REQUIRE(TIFFWriteScanline(tif, row.data(), std::uint32_t(y), 0) == 1);
  }
  TIFFClose(tif);
}

// PyTorch's bilinear rule (align_corners=False), written out plainly in double.
std::vector<double> naive_bilinear(const std::vector<float>& src, int ih, int iw, int oh, int ow) {
  std::vector<double> out(std::size_t(oh * ow));
  // The scale in / out is rounded to float as PyTorch does; the rest is exact arithmetic.
  auto source = [](int o, int in, int out_size) {
    const double scale = static_cast<float>(in) / static_cast<float>(out_size);
    const double s = std::max((o + 0.5) * scale - 0.5, 0.0);
    const int i0 = std::min(int(std::floor(s)), in - 1);
    return std::tuple{i0, std::min(i0 + 1, in - 1), s - i0};
  };
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const auto [y0, y1, ly] = source(y, ih, oh);
      const auto [x0, x1, lx] = source(x, iw, ow);
      auto at = [&](int r, int c) { return double(src[std::size_t(r * iw + c)]); };
      out[std::size_t(y * ow + x)] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
                                     ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
    }
  return out;
}

std::vector<int> labels_of(const Dataset& data, const std::vector<std::size_t>& indices) {
  std::vector<int> labels;
  for (const auto i : indices) labels.push_back(data.samples[i].label);
  return labels;
}

bool disjoint_and_complete(const Split& split, std::size_t n) {
  std::vector<int> seen(n, 0);
  for (const auto i : split.train) ++seen[i];
  for (const auto i : split.test) ++seen[i];
  return std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Images

TEST_CASE("io/image: PNG round trip in memory and on disk, gray and RGB, to_gray is PIL's luma") {
  TempDir dir;
  for (const int channels : {1, 3}) {
    const Image image = pattern_image(13, 7, channels);
    const Image decoded = decode_image(encode_png(image), "memory");
    CHECK(decoded.width == 13);
    CHECK(decoded.height == 7);
    CHECK(decoded.channels == channels);
    CHECK(decoded.pixels == image.pixels);
    write_png(dir.path / "x.png", image);
    CHECK(read_image(dir.path / "x.png").pixels == image.pixels);
  }
  const Image rgb = pattern_image(9, 5, 3);
  const Image gray = to_gray(rgb);
  REQUIRE(gray.channels == 1);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 9; ++x) {
      const double luma = 0.299 * rgb.at(y, x, 0) + 0.587 * rgb.at(y, x, 1) + 0.114 * rgb.at(y, x, 2);
      CHECK(std::abs(gray.at(y, x) - luma) <= 0.51);
    }
}

TEST_CASE("io/image: TIFF written by libtiff (8-bit gray and RGB) reads back exactly") {
  TempDir dir;
  for (const int channels : {1, 3}) {
    const Image image = pattern_image(11, 6, channels, channels);
    write_tiff(dir.path / "x.tiff", image);
    const Image back = read_image(dir.path / "x.tiff");
    CHECK(back.channels == channels);
    CHECK(back.width == 11);
    CHECK(back.height == 6);
    CHECK(back.pixels == image.pixels);
  }
}

TEST_CASE("io/image: missing, corrupt and truncated files raise errors naming the file and why") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(read_image(dir.path / "none.png"), doctest::Contains("none.png"), Error);
  write_text(dir.path / "junk.png", "this is not an image at all");
  CHECK_THROWS_WITH_AS(read_image(dir.path / "junk.png"), doctest::Contains("junk.png: Image not of any known type"), Error);
  write_text(dir.path / "empty.png", "");
  CHECK_THROWS_WITH_AS(read_image(dir.path / "empty.png"), doctest::Contains("empty.png: the file is empty"), Error);
  auto png = encode_png(pattern_image(40, 40, 1));
  png.resize(png.size() / 2);
  write_text(dir.path / "cut.png", std::string(png.begin(), png.end()));
  CHECK_THROWS_WITH_AS(read_image(dir.path / "cut.png"), doctest::Contains("cut.png"), Error);
  write_text(dir.path / "bad.tiff", std::string("II*\0", 4) + std::string(64, '\x7f'));
  CHECK_THROWS_WITH_AS(read_image(dir.path / "bad.tiff"), doctest::Contains("cannot read TIFF image"), Error);
  CHECK_THROWS_WITH_AS(read_image(dir.path / "bad.tiff"), doctest::Contains("bad.tiff"), Error);
}

// ---------------------------------------------------------------------------------------------
// Transforms

TEST_CASE("resize_bilinear matches a naive double loop of PyTorch's rule, up and down, odd ratios") {
  Rng rng(5);
  for (const auto [ih, iw, oh, ow] : {std::array{48, 48, 224, 224}, std::array{224, 224, 48, 48},
                                      std::array{5, 7, 8, 3}, std::array{17, 9, 17, 9}, std::array{1, 6, 4, 1},
                                      std::array{490, 640, 224, 224}}) {
    std::vector<float> src(std::size_t(ih * iw));
    for (auto& v : src) v = static_cast<float>(rng.uniform());
    std::vector<float> out(std::size_t(oh * ow));
    resize_bilinear(src, ih, iw, out, oh, ow);
    const auto ref = naive_bilinear(src, ih, iw, oh, ow);
    double worst = 0;
    for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - ref[i]));
    INFO(ih, "x", iw, " -> ", oh, "x", ow);
    CHECK(worst < 1e-6);
    if (ih == oh && iw == ow) CHECK(out == src);
  }
}

TEST_CASE("resize_bilinear equals torch.nn.functional.interpolate(bilinear, align_corners=False)") {
  // Input 5x7 with v[y][x] = ((7y + x) * 37 % 101) / 100; outputs printed by PyTorch 1.13.
  std::vector<float> src;
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) src.push_back(static_cast<float>(((y * 7 + x) * 37 % 101) / 100.0));
  const std::vector<float> torch_8x3{0.246666655f, 0.100000076f, 0.626666784f, 0.496041656f, 0.349375039f, 0.58145839f,
                                     0.789166629f, 0.642499983f, 0.537916601f, 0.514166653f, 0.367500067f, 0.683750093f,
                                     0.344374985f, 0.408125043f, 0.724375069f, 0.279791683f, 0.764374971f, 0.659791589f,
                                     0.404583335f, 0.55250001f,  0.405833244f, 0.50666666f,  0.360000074f, 0.213333264f};
  const std::vector<float> torch_3x11{
      0.189999983f, 0.358181804f, 0.563030303f, 0.584242463f, 0.483030319f, 0.289999992f, 0.311212122f,
      0.424242407f, 0.659696937f, 0.527878821f, 0.389999956f, 0.130000025f, 0.298181832f, 0.533636391f,
      0.769090831f, 0.637272716f, 0.230000064f, 0.465454519f, 0.700909019f, 0.936363578f, 0.620909154f,
      0.330000043f, 0.406666696f, 0.421818167f, 0.47363627f,  0.709090829f, 0.699696958f, 0.50666672f,
      0.527878761f, 0.457272738f, 0.2642425f,   0.438484848f, 0.606666744f};
  std::vector<float> out(24);
  resize_bilinear(src, 5, 7, out, 8, 3);
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(torch_8x3[i]).epsilon(1e-6));
  out.resize(33);
  resize_bilinear(src, 5, 7, out, 3, 11);
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(torch_3x11[i]).epsilon(1e-6));
}

TEST_CASE("ImageTransform: gray, [0,1], resize, normalise, flip mirrors, crop shifts in zero padding") {
  const Image rgb = pattern_image(20, 16, 3);
  const Image gray = to_gray(rgb);
  std::vector<float> plane;
  for (const auto v : gray.pixels) plane.push_back(float(v) / 255.0f);
  std::vector<float> resized(30 * 30);
  resize_bilinear(plane, 16, 20, resized, 30, 30);

  const ImageTransform plain({.size = 30, .mean = 0.25f, .std = 0.5f});
  const auto out = plain(rgb);
  CHECK(out.shape() == Shape{1, 1, 30, 30});
  for (std::size_t i = 0; i < resized.size(); ++i) CHECK(out.data()[i] == doctest::Approx((resized[i] - 0.25f) / 0.5f));

  // Over many seeds a flip-only transform gives exactly the plain output or its mirror, both seen.
  const ImageTransform flip({.size = 30, .mean = 0.25f, .std = 0.5f, .flip = true});
  int mirrored = 0, same = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const auto f = flip(rgb, seed);
    bool is_same = true, is_mirror = true;
    for (int y = 0; y < 30; ++y)
      for (int x = 0; x < 30; ++x) {
        is_same = is_same && f(0, 0, y, x) == out(0, 0, y, x);
        is_mirror = is_mirror && f(0, 0, y, x) == out(0, 0, y, 29 - x);
      }
    CHECK((is_same || is_mirror));
    same += is_same;
    mirrored += is_mirror;
    CHECK(f.to_vector() == flip(rgb, seed).to_vector());  // a seed gives one result
  }
  CHECK(same > 5);
  CHECK(mirrored > 5);

  // A padded crop is the plain output shifted by (dy, dx) in [-p, p], zeros ((0 - mean) / std) outside.
  const int p = 4;
  const ImageTransform crop({.size = 30, .mean = 0.25f, .std = 0.5f, .crop_padding = p});
  std::set<std::pair<int, int>> shifts;
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    const auto c = crop(rgb, seed);
    bool found = false;
    for (int dy = -p; dy <= p && !found; ++dy)
      for (int dx = -p; dx <= p && !found; ++dx) {
        bool match = true;
        for (int y = 0; y < 30 && match; ++y)
          for (int x = 0; x < 30 && match; ++x) {
            const int sy = y + dy, sx = x + dx;
            const float expected = sy >= 0 && sy < 30 && sx >= 0 && sx < 30 ? out(0, 0, sy, sx) : -0.5f;
            match = c(0, 0, y, x) == expected;
          }
        if (match) found = true, shifts.insert({dy, dx});
      }
    CHECK(found);
  }
  CHECK(shifts.size() > 20);
  CHECK_THROWS_AS(ImageTransform({.size = 0}), Error);
}

// ---------------------------------------------------------------------------------------------
// FER2013

namespace {

std::string fer_row(int label, const std::vector<int>& pixels, const std::string& usage) {
  std::string row = std::to_string(label) + ",";
  for (std::size_t i = 0; i < pixels.size(); ++i) row += (i ? " " : "") + std::to_string(pixels[i]);
  return row + "," + usage + "\n";
}
std::vector<int> fer_pixels(int salt) {
  std::vector<int> p(2304);
  for (int i = 0; i < 2304; ++i) p[std::size_t(i)] = (i * 7 + salt) % 256;
  return p;
}

}  // namespace

TEST_CASE("FER2013: rows read back exactly, with the Training / PublicTest+PrivateTest split") {
  TempDir dir;
  const auto csv = dir.path / "fer2013.csv";
  write_text(csv, "emotion,pixels,Usage\n" + fer_row(3, fer_pixels(1), "Training") +
                      fer_row(0, fer_pixels(2), "PublicTest") + "\r\n" + fer_row(6, fer_pixels(3), "PrivateTest") +
                      fer_row(5, fer_pixels(4), "Training"));
  const Dataset data = read_fer2013(csv);
  REQUIRE(data.size() == 4);
  CHECK(data.classes == fer_classes());
  CHECK(labels_of(data, {0, 1, 2, 3}) == std::vector<int>{3, 0, 6, 5});
  for (int k = 0; k < 4; ++k) {
    const Image& image = data.samples[std::size_t(k)].image;
    REQUIRE(image.width == 48);
    const auto expected = fer_pixels(k + 1);
    CHECK(std::equal(image.pixels.begin(), image.pixels.end(), expected.begin(),
                     [](std::uint8_t a, int b) { return int(a) == b; }));
  }
  CHECK(data.samples[1].source == csv.string() + ":3");
  const Split split = fer2013_split(data);
  CHECK(split.train == std::vector<std::size_t>{0, 3});
  CHECK(split.test == std::vector<std::size_t>{1, 2});
}

TEST_CASE("FER2013: every malformed row raises naming file and line, skip_bad counts them") {
  TempDir dir;
  const auto csv = dir.path / "fer.csv";
  auto short_pixels = fer_pixels(0);
  short_pixels.pop_back();
  std::string bad_token = fer_row(1, fer_pixels(0), "Training");
  bad_token.replace(bad_token.find(" 7 "), 3, " x7 ");
  std::string big_value = fer_row(1, fer_pixels(0), "Training");
  big_value.replace(big_value.find(" 7 "), 3, " 256 ");
  const std::vector<std::pair<std::string, std::string>> cases{
      {fer_row(2, short_pixels, "Training"), "fer.csv:3: pixels has 2303 values, expected 2304"},
      {bad_token, "fer.csv:3: pixel 2 is 'x7', not an integer"},
      {big_value, "fer.csv:3: pixel 2 is 256, outside 0..255"},
      {fer_row(7, fer_pixels(0), "Training"), "fer.csv:3: emotion 7 is outside 0..6"},
      {"x" + fer_row(1, fer_pixels(0), "Training"), "fer.csv:3: emotion 'x1' is not an integer"},
      {fer_row(1, fer_pixels(0), "Validation"), "fer.csv:3: unknown Usage 'Validation'"},
      {"1,2 3\n", "fer.csv:3: expected 3 comma-separated fields, got 2"},
  };
  for (const auto& [row, message] : cases) {
    write_text(csv, "emotion,pixels,Usage\n" + fer_row(4, fer_pixels(9), "Training") + row +
                        fer_row(4, fer_pixels(8), "PublicTest"));
    INFO(message);
    CHECK_THROWS_WITH_AS(read_fer2013(csv), doctest::Contains(message.c_str()), Error);
    const Dataset skipped = read_fer2013(csv, {.skip_bad = true});
    CHECK(skipped.size() == 2);
    CHECK(skipped.skipped.count == 1);
    REQUIRE(skipped.skipped.reasons.size() == 1);
    CHECK(skipped.skipped.reasons[0].find(message) != std::string::npos);
  }
  // Many bad rows: all counted, the first few reasons kept.
  std::string text = "emotion,pixels,Usage\n";
  for (int i = 0; i < 25; ++i) text += fer_row(9, fer_pixels(i), "Training") + fer_row(1, fer_pixels(i), "Training");
  write_text(csv, text);
  const Dataset many = read_fer2013(csv, {.skip_bad = true});
  CHECK(many.size() == 25);
  CHECK(many.skipped.count == 25);
  CHECK(many.skipped.reasons.size() == SkipReport::kReasonsKept);

  write_text(csv, "label,pixels,Usage\n");
  CHECK_THROWS_WITH_AS(read_fer2013(csv), doctest::Contains("fer.csv:1: the header"), Error);
  CHECK_THROWS_WITH_AS(read_fer2013(dir.path / "missing.csv"), doctest::Contains("missing.csv"), Error);
}

// ---------------------------------------------------------------------------------------------
// JAFFE

namespace {

// 213 tiny TIFFs named as JAFFE's, with JAFFE's class counts.
void make_jaffe_tree(const fs::path& dir) {
  const std::vector<std::pair<std::string, int>> classes{{"AN", 30}, {"DI", 29}, {"FE", 32}, {"HA", 31},
                                                         {"NE", 30}, {"SA", 31}, {"SU", 30}};
  const std::vector<std::string> posers{"KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM"};
  int number = 1;
  for (const auto& [code, count] : classes)
    for (int k = 0; k < count; ++k, ++number)
      write_tiff(dir / (posers[std::size_t(number) % posers.size()] + "." + code + std::to_string(k % 3 + 1) + "." +
                        std::to_string(number) + ".tiff"),
                 pattern_image(8, 8, 1, number));
  write_text(dir / "README", "not an image");
}

}  // namespace

TEST_CASE("JAFFE: labels from the names, 213 images, stratified seeded split 158/55 with every class on both sides") {
  TempDir dir;
  make_jaffe_tree(dir.path);
  const Dataset data = read_jaffe(dir.path);
  REQUIRE(data.size() == 213);
  CHECK(data.class_counts() == std::vector<std::size_t>{30, 29, 32, 31, 31, 30, 30});  // FER order: ... Sad, Surprise, Neutral
  for (const Sample& s : data.samples) {
    CHECK(s.image.width == 8);
    CHECK(s.subject == s.path.filename().string().substr(0, 2));
  }
  const std::map<std::string, int> expected{{"AN", 0}, {"DI", 1}, {"FE", 2}, {"HA", 3}, {"SA", 4}, {"SU", 5}, {"NE", 6}};
  for (const Sample& s : data.samples) CHECK(s.label == expected.at(s.path.filename().string().substr(3, 2)));

  const Split split = stratified_split(data, kJaffeTestCount, 7);
  CHECK(split.train.size() == 158);
  CHECK(split.test.size() == 55);
  CHECK(disjoint_and_complete(split, data.size()));
  std::vector<int> train_count(7), test_count(7);
  for (const auto i : split.train) ++train_count[std::size_t(data.samples[i].label)];
  for (const auto i : split.test) ++test_count[std::size_t(data.samples[i].label)];
  for (int c = 0; c < 7; ++c) {
    CHECK(test_count[std::size_t(c)] >= 7);  // 55/213 of about 30
    CHECK(test_count[std::size_t(c)] <= 9);
    CHECK(train_count[std::size_t(c)] > 0);
  }
  CHECK(stratified_split(data, kJaffeTestCount, 7).test == split.test);
  CHECK(stratified_split(data, kJaffeTestCount, 8).test != split.test);

  const Split by_poser = subject_split(data, 55, 3);
  CHECK(disjoint_and_complete(by_poser, data.size()));
  std::set<std::string> train_posers;
  for (const auto i : by_poser.train) train_posers.insert(data.samples[i].subject);
  for (const auto i : by_poser.test) CHECK(train_posers.count(data.samples[i].subject) == 0);
}

TEST_CASE("JAFFE: a bad name or a corrupt TIFF names the file, skip_bad counts, a missing folder raises") {
  TempDir dir;
  make_jaffe_tree(dir.path);
  write_tiff(dir.path / "KA.XX1.300.tiff", pattern_image(8, 8, 1));
  write_text(dir.path / "KA.AN1.301.tiff", std::string("MM\0*", 4) + "garbage");
  CHECK_THROWS_WITH_AS(read_jaffe(dir.path), doctest::Contains("KA.AN1.301.tiff"), Error);
  fs::remove(dir.path / "KA.AN1.301.tiff");
  CHECK_THROWS_WITH_AS(read_jaffe(dir.path), doctest::Contains("KA.XX1.300.tiff: cannot read the expression"), Error);
  write_text(dir.path / "KA.AN1.301.tiff", std::string("MM\0*", 4) + "garbage");
  const Dataset data = read_jaffe(dir.path, {.skip_bad = true});
  CHECK(data.size() == 213);
  CHECK(data.skipped.count == 2);
  CHECK_THROWS_WITH_AS(read_jaffe(dir.path / "nowhere"), doctest::Contains("missing folder"), Error);
  // A lazy read keeps no pixels. With skip_bad it still decodes every file once, to drop the
  // corrupt one; without, it only lists the files, and the corrupt one raises when decoded.
  const Dataset lazy = read_jaffe(dir.path, {.skip_bad = true, .lazy = true});
  CHECK(lazy.size() == 213);
  CHECK(lazy.skipped.count == 2);
  CHECK(lazy.samples[0].image.empty());
  fs::remove(dir.path / "KA.XX1.300.tiff");
  const Dataset listed = read_jaffe(dir.path, {.lazy = true});
  CHECK(listed.size() == 214);
  CHECK(listed.samples[0].image.empty());
}

// ---------------------------------------------------------------------------------------------
// CK+

namespace {

// CK+'s original layout: 327 labelled sequences with CK+'s class counts, 4-6 frames each, plus
// unlabelled sequences that must be left out.
void make_ckplus_tree(const fs::path& root) {
  const std::vector<int> per_code{45, 18, 59, 25, 69, 28, 83};  // codes 1..7
  int sequence = 0;
  for (int code = 1; code <= 7; ++code)
    for (int k = 0; k < per_code[std::size_t(code - 1)]; ++k, ++sequence) {
      char subject[16], seq[16];
      std::snprintf(subject, sizeof subject, "S%03d", 10 + sequence % 118);
      std::snprintf(seq, sizeof seq, "%03d", 1 + sequence / 118);
      const auto frames = root / "cohn-kanade-images" / subject / seq;
      fs::create_directories(frames);
      const int count = 4 + sequence % 3;
      for (int f = 1; f <= count; ++f) {
        char name[64];
        std::snprintf(name, sizeof name, "%s_%s_%08d.png", subject, seq, f);
        write_png(frames / name, pattern_image(6, 5, 1, sequence * 10 + f));
      }
      char label[64];
      std::snprintf(label, sizeof label, "%s_%s_%08d_emotion.txt", subject, seq, count);
      write_text(root / "Emotion" / subject / seq / label, "   " + std::to_string(code) + ".0000000e+00\n");
    }
  // Unlabelled sequences (an Emotion folder without a file, and images only).
  fs::create_directories(root / "cohn-kanade-images" / "S999" / "001");
  write_png(root / "cohn-kanade-images" / "S999" / "001" / "S999_001_00000001.png", pattern_image(6, 5, 1));
  fs::create_directories(root / "Emotion" / "S999" / "001");
}

}  // namespace

TEST_CASE("CK+: the last 3 frames of 327 labelled sequences give 981 images, 735/246 keeps sequences whole") {
  TempDir dir;
  make_ckplus_tree(dir.path);
  const Dataset data = read_ckplus(dir.path);
  REQUIRE(data.size() == 981);
  CHECK(data.classes == ckplus_classes());
  CHECK(data.class_counts() == std::vector<std::size_t>{135, 54, 177, 75, 207, 84, 249});
  // The frames are the last three of their sequence, and their pixels are the ones written.
  for (std::size_t i = 0; i < data.size(); i += 97) {
    const Sample& s = data.samples[i];
    const auto frames = s.path.parent_path();
    std::size_t count = 0, later = 0;
    for (const auto& e : fs::directory_iterator(frames)) {
      ++count;
      later += e.path().filename() > s.path.filename();
    }
    CHECK(later < 3);
    CHECK(count >= 4);
    CHECK(s.image.pixels == read_image(s.path).pixels);
  }
  const Split split = stratified_split(data, kCkPlusTestCount, 1);
  CHECK(split.train.size() == 735);
  CHECK(split.test.size() == 246);
  CHECK(disjoint_and_complete(split, data.size()));
  std::set<std::int64_t> train_groups;
  for (const auto i : split.train) train_groups.insert(data.samples[i].group);
  for (const auto i : split.test) CHECK(train_groups.count(data.samples[i].group) == 0);
  std::vector<int> test_count(7);
  for (const auto i : split.test) ++test_count[std::size_t(data.samples[i].label)];
  for (int c = 0; c < 7; ++c) CHECK(test_count[std::size_t(c)] > 0);

  const Split by_subject = subject_split(data, kCkPlusTestCount, 1);
  CHECK(disjoint_and_complete(by_subject, data.size()));
  std::set<std::string> train_subjects;
  for (const auto i : by_subject.train) train_subjects.insert(data.samples[i].subject);
  for (const auto i : by_subject.test) CHECK(train_subjects.count(data.samples[i].subject) == 0);
  CHECK(std::abs(double(by_subject.test.size()) - 246.0) <= 12.0);  // whole subjects: approximate
}

TEST_CASE("CK+: bad label files and short sequences name the file, skip_bad skips the sequence") {
  TempDir dir;
  make_ckplus_tree(dir.path);
  const auto label_file = [&](const char* subject, const char* seq) {
    for (const auto& e : fs::directory_iterator(dir.path / "Emotion" / subject / seq)) return e.path();
    return fs::path();
  };
  const auto first = label_file("S010", "001");
  write_text(first, "   8.0000000e+00\n");
  CHECK_THROWS_WITH_AS(read_ckplus(dir.path), doctest::Contains((first.string() + ":1: emotion code 8.0000000e+00").c_str()), Error);
  write_text(first, "three\n");
  CHECK_THROWS_WITH_AS(read_ckplus(dir.path), doctest::Contains((first.string() + ":1: label 'three' is not a number").c_str()), Error);
  for (const auto& e : fs::directory_iterator(dir.path / "cohn-kanade-images" / "S011" / "001"))
    if (e.path().filename().string() < "S011_001_00000004.png") fs::remove(e.path());  // 2 of 5 frames left
  const Dataset data = read_ckplus(dir.path, {.skip_bad = true});
  CHECK(data.skipped.count == 2);
  CHECK(data.size() == 981 - 6);
  CHECK(data.skipped.reasons[1].find("fewer than the 3") != std::string::npos);
  CHECK_THROWS_WITH_AS(read_ckplus(dir.path / "nothing"), doctest::Contains("missing folder"), Error);
}

TEST_CASE("CK+48 and image folders: classes, groups from Kaggle's names, missing folder, empty class, corrupt image") {
  TempDir dir;
  const auto root = dir.path / "ck48";
  int n = 0;
  for (const auto& name : ckplus_classes())
    for (int k = 0; k < 3; ++k, ++n) {
      char file[64];
      std::snprintf(file, sizeof file, "S%03d_%03d_%08d.png", 100 + n / 3, 1, k + 1);
      fs::create_directories(root / name);
      write_png(root / name / file, pattern_image(48, 48, 1, n));
    }
  const Dataset data = read_ck48(root);
  CHECK(data.classes == ckplus_classes());
  CHECK(data.size() == 21);
  CHECK(data.class_counts() == std::vector<std::size_t>(7, 3));
  CHECK(data.samples[4].label == 1);  // contempt, the second class
  CHECK(data.samples[4].subject == "S101");
  CHECK(data.samples[3].group == data.samples[5].group);
  CHECK(data.samples[2].group != data.samples[3].group);
  const Split split = stratified_split(data, 7, 0);
  CHECK(split.test.size() == 6);  // whole sequences of 3: 2 of 7 sequences
  CHECK(disjoint_and_complete(split, data.size()));

  // The generic reader: sorted folder names are the classes.
  const Dataset folder = read_image_folder(root);
  auto sorted = ckplus_classes();
  std::sort(sorted.begin(), sorted.end());
  CHECK(folder.classes == sorted);

  fs::remove_all(root / "fear");
  CHECK_THROWS_WITH_AS(read_ck48(root), doctest::Contains("missing folder"), Error);
  CHECK_THROWS_WITH_AS(read_ck48(root), doctest::Contains("fear"), Error);
  fs::create_directories(root / "fear");
  CHECK_THROWS_WITH_AS(read_ck48(root), doctest::Contains("class 'fear' has no images"), Error);
  write_text(root / "fear" / "broken.png", "\x89PNG\r\n\x1a\n-not-really");
  CHECK_THROWS_WITH_AS(read_ck48(root), doctest::Contains("broken.png"), Error);
  write_png(root / "fear" / "ok.png", pattern_image(48, 48, 1));
  const Dataset skipped = read_ck48(root, {.skip_bad = true});
  CHECK(skipped.size() == 19);
  CHECK(skipped.skipped.count == 1);
  CHECK(skipped.skipped.reasons[0].find("broken.png") != std::string::npos);
  fs::create_directories(root / "smile");
  CHECK_THROWS_WITH_AS(read_ck48(root), doctest::Contains("must be CK+'s classes"), Error);
}

// ---------------------------------------------------------------------------------------------
// The synthetic set, and end to end through the real formats

TEST_CASE("synthetic set: deterministic per seed, balanced, and the classes differ where faces express") {
  const Dataset a = make_synthetic(700, 1), b = make_synthetic(700, 1), c = make_synthetic(70, 2);
  REQUIRE(a.size() == 700);
  CHECK(a.class_counts() == std::vector<std::size_t>(7, 100));
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a.samples[i].image.pixels == b.samples[i].image.pixels);
  CHECK(make_synthetic(70, 1).samples[69].image.pixels == a.samples[69].image.pixels);  // prefix-stable
  CHECK(a.samples[0].image.pixels != c.samples[0].image.pixels);
  CHECK(a.samples[0].image.width == 48);
  CHECK(make_synthetic(7, 1, 96).samples[3].image.width == 96);

  // One person, two expressions: draw_synthetic_face(k, seed) and (l, seed) share everything but
  // the expression (identity, pose, lighting and noise are drawn alike), so their difference is
  // the expression alone. It must be local (most pixels identical) and clear in the brow/eye or
  // the mouth region for every pair of classes.
  const int people = 40;
  std::vector<std::vector<Image>> faces(7);
  for (int k = 0; k < 7; ++k)
    for (int person = 0; person < people; ++person)
      faces[std::size_t(k)].push_back(draw_synthetic_face(k, detail::derive_seed(7, {std::uint64_t(person)})));
  auto rms_difference = [&](int k, int l, int y0, int y1) {
    double sum = 0;
    for (int person = 0; person < people; ++person)
      for (int y = y0; y < y1; ++y)
        for (int x = 0; x < 48; ++x)
          sum += std::pow(faces[std::size_t(k)][std::size_t(person)].at(y, x) - faces[std::size_t(l)][std::size_t(person)].at(y, x), 2);
    return std::sqrt(sum / (people * (y1 - y0) * 48));
  };
  for (int k = 0; k < 7; ++k)
    for (int l = k + 1; l < 7; ++l) {
      std::size_t changed = 0;
      for (int person = 0; person < people; ++person)
        for (std::size_t p = 0; p < 48 * 48; ++p)
          changed += faces[std::size_t(k)][std::size_t(person)].pixels[p] != faces[std::size_t(l)][std::size_t(person)].pixels[p];
      const double brows_eyes = rms_difference(k, l, 10, 26), mouth = rms_difference(k, l, 29, 44);
      INFO(fer_classes()[std::size_t(k)], " vs ", fer_classes()[std::size_t(l)], ": ", changed / double(people),
           " pixels differ; rms difference ", brows_eyes, " (brows, eyes), ", mouth, " (mouth)");
      CHECK(changed / double(people) < 0.2 * 48 * 48);
      CHECK(std::max(brows_eyes, mouth) > 4.0);
      CHECK(rms_difference(k, l, 0, 4) == 0.0);  // above the head nothing changes
    }

  // Class means over different people, used as templates below.
  std::vector<std::vector<double>> mean(7, std::vector<double>(48 * 48, 0.0));
  for (const Sample& s : a.samples)
    for (std::size_t p = 0; p < s.image.pixels.size(); ++p) mean[std::size_t(s.label)][p] += s.image.pixels[p] / 100.0;

  // Not trivial: faces move, tilt and change, so a nearest-class-mean template on raw pixels is
  // about as good as chance on fresh samples (a CNN is needed).
  const Dataset test = make_synthetic(350, 99);
  int correct = 0;
  for (const Sample& s : test.samples) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < 7; ++k) {
      double d = 0;
      for (std::size_t p = 0; p < s.image.pixels.size(); ++p) d += std::pow(s.image.pixels[p] - mean[std::size_t(k)][p], 2);
      if (d < best_d) best_d = d, best = k;
    }
    correct += best == s.label;
  }
  MESSAGE("nearest-class-mean accuracy on raw pixels: ", correct / 350.0);
  CHECK(correct / 350.0 < 0.4);
}

TEST_CASE("synthetic set through the real formats: FER2013 CSV and CK+48 folders read back identical") {
  TempDir dir;
  const Dataset data = make_synthetic(42, 5);
  const Split split = stratified_split(data, 14, 0);
  write_fer2013_csv(data, split, dir.path / "fer2013.csv");
  const Dataset fer = read_fer2013(dir.path / "fer2013.csv");
  REQUIRE(fer.size() == 42);
  const Split fer_split = fer2013_split(fer);
  CHECK(fer_split.train.size() == 28);
  CHECK(fer_split.test.size() == 14);
  for (std::size_t k = 0; k < split.train.size(); ++k) {
    CHECK(fer.samples[k].label == data.samples[split.train[k]].label);
    CHECK(fer.samples[k].image.pixels == data.samples[split.train[k]].image.pixels);
  }
  CHECK(fer.samples[28].usage == "PublicTest");
  CHECK(fer.samples[41].usage == "PrivateTest");

  write_image_folder(data, dir.path / "ck48");
  const Dataset ck = read_ck48(dir.path / "ck48");
  CHECK(ck.classes == fer_classes());
  REQUIRE(ck.size() == 42);
  std::multiset<std::pair<int, std::vector<std::uint8_t>>> written, read;
  for (const Sample& s : data.samples) written.insert({s.label, s.image.pixels});
  for (const Sample& s : ck.samples) read.insert({s.label, s.image.pixels});
  CHECK(written == read);
}

// ---------------------------------------------------------------------------------------------
// The batch loader

namespace {

std::vector<std::size_t> all_indices(const Dataset& data) {
  std::vector<std::size_t> v(data.size());
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<Batch> epoch_of(BatchLoader& loader, std::uint64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  while (auto b = loader.next()) batches.push_back(std::move(*b));
  return batches;
}

}  // namespace

TEST_CASE("BatchLoader: same batches for any thread count, each epoch a new order covering every sample once") {
  const Dataset data = make_synthetic(45, 3);
  const ImageTransform transform({.size = 32, .flip = true, .crop_padding = 2});
  std::vector<std::vector<Batch>> runs;
  for (const int threads : {0, 1, 3}) {
    BatchLoader loader(data, all_indices(data), transform, {.batch_size = 8, .seed = 11, .threads = threads, .prefetch = 2});
    CHECK(loader.batches_per_epoch() == 6);
    runs.push_back(epoch_of(loader, 0));
    runs.push_back(epoch_of(loader, 1));
  }
  for (std::size_t r = 2; r < runs.size(); ++r) {
    REQUIRE(runs[r].size() == runs[r % 2].size());
    for (std::size_t k = 0; k < runs[r].size(); ++k) {
      CHECK(runs[r][k].indices == runs[r % 2][k].indices);
      CHECK(runs[r][k].images.to_vector() == runs[r % 2][k].images.to_vector());
      CHECK(runs[r][k].labels.to_vector() == runs[r % 2][k].labels.to_vector());
    }
  }
  const auto& epoch0 = runs[0];
  CHECK(epoch0.back().images.shape() == Shape{5, 1, 32, 32});
  std::vector<std::size_t> seen;
  for (const Batch& b : epoch0) {
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
    for (std::size_t j = 0; j < b.indices.size(); ++j)
      CHECK(b.labels.data()[j] == data.samples[b.indices[j]].label);
  }
  CHECK(seen != all_indices(data));  // shuffled
  std::sort(seen.begin(), seen.end());
  CHECK(seen == all_indices(data));
  CHECK(runs[0][0].indices != runs[1][0].indices);  // epochs differ

  // Without shuffling or augmentation a batch is the transform of the samples in order.
  const ImageTransform plain({.size = 32});
  BatchLoader ordered(data, {4, 2, 9}, plain, {.batch_size = 2, .shuffle = false, .threads = 2});
  const auto batches = epoch_of(ordered, 0);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].indices == std::vector<std::size_t>{4, 2});
  CHECK(batches[1].images.shape() == Shape{1, 1, 32, 32});
  CHECK(batches[1].images.to_vector() == plain(data.samples[9].image).to_vector());
}

TEST_CASE("BatchLoader: with compute slower than decoding, next() does not wait after the first batch") {
  // Lazy PNGs at 224 px, so each batch costs real decoding and resizing.
  TempDir dir;
  write_image_folder(make_synthetic(96, 4, 96), dir.path);
  const Dataset data = read_image_folder(dir.path, {.lazy = true}, fer_classes());
  const ImageTransform transform({.size = 224, .flip = true});
  const LoaderOptions options{.batch_size = 12, .seed = 1, .threads = 0};

  // Without workers every next() decodes: that is the time a batch costs.
  BatchLoader inline_loader(data, all_indices(data), transform, options);
  epoch_of(inline_loader, 0);
  const auto& inline_waits = inline_loader.waits();
  const double per_batch = std::accumulate(inline_waits.begin(), inline_waits.end(), 0.0) / double(inline_waits.size());
  CHECK(per_batch > 0.0);
  {  // and with workers but no compute, the consumer does wait: the meter sees waiting
    auto starved = options;
    starved.threads = 1;
    BatchLoader fast_consumer(data, all_indices(data), transform, starved);
    epoch_of(fast_consumer, 0);
    CHECK(std::accumulate(fast_consumer.waits().begin() + 1, fast_consumer.waits().end(), 0.0) > 0.0);
  }

  auto background = options;
  background.threads = 2;
  background.prefetch = 4;
  BatchLoader loader(data, all_indices(data), transform, background);
  loader.start_epoch(0);
  const auto compute = std::chrono::duration<double>(4 * per_batch + 0.01);
  while (auto batch = loader.next()) std::this_thread::sleep_for(compute);  // the "training step"
  std::vector<double> waits(loader.waits().begin() + 1, loader.waits().end());
  REQUIRE(waits.size() == 7);
  const double total = std::accumulate(waits.begin(), waits.end(), 0.0);
  std::sort(waits.begin(), waits.end());
  MESSAGE("decoding per batch ", per_batch * 1e3, " ms; after the first batch the consumer waited ", total * 1e3,
          " ms in total, median ", waits[3] * 1e3, " ms");
  // Near zero: most batches are ready at once, and the total is a fraction of one batch's decoding
  // (kept loose because CI machines are shared).
  CHECK(waits[3] < 1e-3);
  CHECK(total < 0.5 * per_batch);
}

TEST_CASE("BatchLoader: stops cleanly mid-epoch, a worker's error reaches the consumer naming the file") {
  const Dataset data = make_synthetic(64, 2);
  {
    BatchLoader loader(data, all_indices(data), ImageTransform({.size = 64}), {.batch_size = 4, .threads = 2});
    CHECK(loader.next().has_value());
    loader.start_epoch(5);  // restart mid-epoch
    CHECK(loader.next().has_value());
  }  // destroyed mid-epoch: must join without hanging

  TempDir dir;
  write_image_folder(make_synthetic(14, 2), dir.path);
  Dataset lazy = read_image_folder(dir.path, {.lazy = true}, fer_classes());
  const auto victim = lazy.samples[9].path;
  write_text(victim, "corrupt");
  BatchLoader loader(lazy, all_indices(lazy), ImageTransform({.size = 16}),
                     {.batch_size = 4, .shuffle = false, .threads = 2});
  CHECK(loader.next().has_value());
  CHECK(loader.next().has_value());
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains(victim.filename().string().c_str()), Error);
  CHECK_FALSE(loader.next().has_value());
  CHECK_THROWS_AS(BatchLoader(lazy, {99}, ImageTransform(), {}), Error);
}
