// safetensors: the byte format against bytes built by hand and a file written by Python, every
// malformed header, module round trips, strict and non-strict loading, the RGB stem, F16/BF16, and
// atomic writes.
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"

using namespace hfc;
namespace fs = std::filesystem;

namespace {

// Little-endian bytes of an integer, written out one byte at a time (independent of the library).
void append_le(std::vector<std::byte>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xffu));
}
void append_text(std::vector<std::byte>& out, std::string_view s) {
  for (char c : s) out.push_back(static_cast<std::byte>(c));
}
// A file whose header is `json` (unpadded) followed by `data_bytes` zero bytes.
std::vector<std::byte> file_with_header(std::string_view json, std::size_t data_bytes) {
  std::vector<std::byte> out;
  append_le(out, json.size(), 8);
  append_text(out, json);
  out.resize(out.size() + data_bytes);
  return out;
}

// A fresh directory under the system's temporary one, removed at the end of the test case.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("hfc_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::vector<char> file_contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the hfc::Error that f throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("expected an hfc::Error");
  return {};
}

// A module's state_dict as doubles, to compare modules of any element type.
template <class M>
std::map<std::string, std::vector<double>> state_of(M& m) {
  std::map<std::string, std::vector<double>> state;
  auto take = [&](std::string_view name, auto& item) {
    const auto& t = detail::state_tensor(item);
    const auto v = t.to_vector();
    state[std::string(name)] = std::vector<double>(v.begin(), v.end());
  };
  m.for_each_parameter(take);
  m.for_each_buffer(take);
  return state;
}

// Fills every parameter and buffer with distinct values (float-exact, so a float <-> double trip
// is lossless), and the batch counters with distinct integers.
template <class M>
void scramble(M& m, Rng& rng) {
  std::int64_t counter = 3;
  auto fill = [&](std::string_view, auto& item) {
    auto& t = detail::state_tensor(item);
    using E = typename std::remove_cvref_t<decltype(t)>::value_type;
    for (auto& v : t.span()) {
      if constexpr (std::is_floating_point_v<E>)
        v = static_cast<E>(static_cast<float>(rng.uniform() * 2 - 1));
      else
        v = static_cast<E>(counter++);
    }
  };
  m.for_each_parameter(fill);
  m.for_each_buffer(fill);
}

}  // namespace

TEST_CASE("safetensors: F16 and BF16 widen exactly") {
  CHECK(float16_to_float(0x3C00) == 1.0f);
  CHECK(float16_to_float(0xC000) == -2.0f);
  CHECK(float16_to_float(0x3555) == 0.333251953125f);
  CHECK(float16_to_float(0x7BFF) == 65504.0f);               // largest finite
  CHECK(float16_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(float16_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(float16_to_float(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(float16_to_float(0x8000) == 0.0f);
  CHECK(std::signbit(float16_to_float(0x8000)));
  CHECK(float16_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(float16_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(float16_to_float(0x7E00)));
  CHECK(std::isnan(float16_to_float(0x7C01)));  // a signalling NaN stays a NaN, not infinity
  CHECK(bfloat16_to_float(0x3F80) == 1.0f);
  CHECK(bfloat16_to_float(0xC049) == -3.140625f);
  CHECK(bfloat16_to_float(0x7F7F) == std::bit_cast<float>(0x7F7F0000u));
  CHECK(bfloat16_to_float(0x0001) == std::bit_cast<float>(0x00010000u));  // subnormal
  CHECK(bfloat16_to_float(0xFF80) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(bfloat16_to_float(0x7FC0)));
}

TEST_CASE("safetensors: the writer's bytes equal a file built by hand") {
  StoredTensors tensors;
  tensors["weight"] = store(Tensor<float>::from(Shape{2}, std::vector<float>{1.5f, -2.0f}));
  tensors["count"] = store(Tensor<std::int64_t>::from(Shape{}, std::vector<std::int64_t>{7}));
  tensors["bias"] = store(Tensor<double>::from(Shape{1, 1}, std::vector<double>{0.25}));
  tensors["empty"] = store(Tensor<float>(Shape{0, 3}));

  // The reference library's order: I64, then F64, then F32 (by name within a dtype); metadata
  // first; compact JSON padded with spaces to a multiple of 8.
  std::string json =
      R"({"__metadata__":{"format":"pt"},"count":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("bias":{"dtype":"F64","shape":[1,1],"data_offsets":[8,16]},)"
      R"("empty":{"dtype":"F32","shape":[0,3],"data_offsets":[16,16]},)"
      R"("weight":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  std::vector<std::byte> expected;
  append_le(expected, json.size(), 8);
  append_text(expected, json);
  append_le(expected, 7, 8);
  append_le(expected, 0x3FD0000000000000u, 8);  // 0.25
  append_le(expected, 0x3FC00000u, 4);          // 1.5f
  append_le(expected, 0xC0000000u, 4);          // -2.0f

  const auto bytes = serialize_safetensors(tensors, {{"format", "pt"}});
  CHECK(bytes == expected);

  const auto file = SafetensorsFile::from_bytes(bytes);
  CHECK(file.names() == std::vector<std::string>{"bias", "count", "empty", "weight"});
  CHECK(file.metadata == SafetensorsMetadata{{"format", "pt"}});
  CHECK(file.dtype("count") == Dtype::i64);
  CHECK(file.shape("bias") == Shape{1, 1});
  CHECK(file.shape("empty") == Shape{0, 3});
  CHECK(file.tensor<float>("weight").to_vector() == std::vector<float>{1.5f, -2.0f});
  CHECK(file.tensor<float>("bias").to_vector() == std::vector<float>{0.25f});
  CHECK(file.tensor<std::int64_t>("count").to_vector() == std::vector<std::int64_t>{7});
  CHECK(file.contains("weight"));
  CHECK_FALSE(file.contains("weights"));
  CHECK(error_of([&] { file.at("weights"); }).find("no tensor named 'weights'") != std::string::npos);
  CHECK(error_of([&] { file.tensor<std::int64_t>("weight"); }).find("do not mix") != std::string::npos);

  // An empty file is "{}" padded to 8.
  CHECK(serialize_safetensors({}) == file_with_header("{}      ", 0));
}

TEST_CASE("safetensors: reads a file written by Python (struct + json, unpadded, any order)") {
  if (!fs::exists("/usr/bin/python3")) {
    MESSAGE("SKIPPED: /usr/bin/python3 not found");
    return;
  }
  ScratchDir dir;
  const auto script = dir.path / "write.py";
  const auto out = dir.path / "python.safetensors";
  std::ofstream(script) << R"(import json, struct, sys
pieces = [
    ("mask", "BOOL", [3], bytes([1, 0, 1])),
    ("steps", "I64", [], struct.pack("<q", -3)),
    ("half", "F16", [5], struct.pack("<5e", 1.0, -2.0, 65504.0, 2.0 ** -24, 0.1)),
    ("brain", "BF16", [2], struct.pack("<f", 3.140625)[2:] + struct.pack("<f", -1.0)[2:]),
    ("grid", "F32", [2, 2], struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)),
    ("wide", "F64", [1], struct.pack("<d", 0.1)),
    ("small", "I8", [2], struct.pack("<2b", -128, 127)),
]
header, data = {"__metadata__": {"writer": "python"}}, b""
for name, dtype, shape, raw in pieces:
    header[name] = {"data_offsets": [len(data), len(data) + len(raw)], "shape": shape, "dtype": dtype}
    data += raw
text = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
)";
  REQUIRE(std::system(("/usr/bin/python3 " + script.string() + " " + out.string()).c_str()) == 0);

  const auto file = read_safetensors(out);
  CHECK(file.metadata.at("writer") == "python");
  CHECK(file.tensor<std::uint8_t>("mask").to_vector() == std::vector<std::uint8_t>{1, 0, 1});
  CHECK(file.tensor<std::int64_t>("steps").to_vector() == std::vector<std::int64_t>{-3});
  CHECK(file.tensor<float>("half").to_vector() ==
        std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), float16_to_float(0x2E66)});
  CHECK(file.tensor<double>("half").to_vector()[4] == 0.0999755859375);  // 0.1 rounded to half
  CHECK(file.tensor<float>("brain").to_vector() == std::vector<float>{3.140625f, -1.0f});
  CHECK(file.tensor<float>("grid").shape() == Shape{2, 2});
  CHECK(file.tensor<float>("grid")(1, 0) == 3.0f);
  CHECK(file.tensor<double>("wide").to_vector() == std::vector<double>{0.1});
  CHECK(file.tensor<std::int64_t>("small").to_vector() == std::vector<std::int64_t>{-128, 127});
  CHECK(error_of([&] { file.tensor<std::uint8_t>("small"); }).find("-128 does not fit") != std::string::npos);
  CHECK(error_of([&] { file.tensor<std::int32_t>("wide"); }).find("tensor 'wide'") != std::string::npos);
}

TEST_CASE("safetensors: every malformed header is an hfc::Error naming the file, the tensor and the reason") {
  const std::string one = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE_NOTHROW(SafetensorsFile::from_bytes(file_with_header(one, 8)));

  auto with_length = [](std::uint64_t length, std::size_t total) {
    std::vector<std::byte> out;
    append_le(out, length, 8);
    out.resize(total, std::byte{'{'});
    return out;
  };
  auto truncated = file_with_header(one, 8);
  truncated.resize(truncated.size() - 3);
  std::string deep = R"({"a":{"dtype":"F32","shape":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + R"(,"data_offsets":[0,0]}})";

  struct Case {
    std::string what;
    std::vector<std::byte> bytes;
    std::vector<std::string> reasons;
  };
  const std::vector<Case> cases = {
      {"shorter than the length", {std::byte{1}, std::byte{0}}, {"fewer than the 8"}},
      {"header length 1", with_length(1, 16), {"too small"}},
      {"header length over 100 MB", with_length(200'000'000, 64), {"exceeds the limit"}},
      {"header length past the end", with_length(100, 40), {"exceeds the 32 bytes that follow"}},
      {"truncated data", truncated, {"tensor 'a'", "end beyond the data section of 5 bytes"}},
      {"offsets out of range", file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
       {"tensor 'a'", "end beyond"}},
      {"begin after end", file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
       {"tensor 'a'", "begin after end"}},
      {"wrong byte size", file_with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "does not match its shape and dtype (3 elements of F32 are 12 bytes)"}},
      {"overlap",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       {"tensor 'b'", "overlap those of tensor 'a'"}},
      {"empty range inside another",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", 8),
       {"overlap"}},
      {"unknown dtype", file_with_header(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "unknown dtype \"F8\""}},
      {"dtype not a string", file_with_header(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "dtype must be a string"}},
      {"bad JSON", file_with_header(R"({"a":{"dtype":"F32",)", 8), {"not valid JSON"}},
      {"not UTF-8", file_with_header("{\"\xff\":{}}", 0), {"not valid JSON"}},
      {"duplicate tensor",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
       {"duplicate key 'a'"}},
      {"duplicate field", file_with_header(R"({"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8),
       {"duplicate key 'dtype'", "in the entry of 'a'"}},
      {"root not an object", file_with_header("[1, 2]", 0), {"must be a JSON object, got array"}},
      {"root a string", file_with_header(R"("abc")", 0), {"must be a JSON object, got string"}},
      {"entry not an object", file_with_header(R"({"a":5})", 0), {"tensor 'a'", "must be an object"}},
      {"missing field", file_with_header(R"({"a":{"dtype":"F32","shape":[2]}})", 8), {"tensor 'a'", "'data_offsets' is missing"}},
      {"extra field", file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8),
       {"tensor 'a'", "unknown field 'x'"}},
      {"negative extent", file_with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "shape must hold non-negative integers"}},
      {"fractional extent", file_with_header(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "non-negative integers"}},
      {"shape not an array", file_with_header(R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "shape must be an array"}},
      {"three offsets", file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", 8),
       {"tensor 'a'", "data_offsets must be an array [begin, end]"}},
      {"element count overflows",
       file_with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "overflows"}},
      {"byte count overflows",
       file_with_header(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8),
       {"tensor 'a'", "overflows"}},
      {"extent beyond int64", file_with_header(R"({"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", 0),
       {"tensor 'a'", "too large"}},
      {"deep nesting", file_with_header(deep, 0), {"nests deeper than its schema allows", "in the entry of 'a'"}},
      {"metadata not an object", file_with_header(R"({"__metadata__":[]})", 0), {"__metadata__ must be an object"}},
      {"metadata value not a string", file_with_header(R"({"__metadata__":{"epoch":3}})", 0), {"value of 'epoch' must be a string"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto message = error_of([&] { SafetensorsFile::from_bytes(c.bytes, "case.safetensors"); });
    CHECK(message.starts_with("case.safetensors: "));
    for (const auto& reason : c.reasons) {
      CAPTURE(message);
      CHECK(message.find(reason) != std::string::npos);
    }
  }

  ScratchDir dir;
  const auto path = dir.path / "truncated.safetensors";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(truncated.data()),
                                              static_cast<std::streamsize>(truncated.size()));
  CHECK(error_of([&] { read_safetensors(path); }).find(path.string()) != std::string::npos);
  CHECK(error_of([&] { read_safetensors(dir.path / "absent.safetensors"); }).find("absent.safetensors") !=
        std::string::npos);
}

TEST_CASE("safetensors: ResNet18 and MobileNetV2 round trip with every buffer and num_batches_tracked") {
  ScratchDir dir;
  Rng rng(7);
  {
    auto source = resnet18<float>({.attention = Attention::hfc, .width = 8});
    scramble(source, rng);
    save_safetensors(source, dir.path / "resnet.safetensors", {{"model", "resnet18"}});
    const auto file = read_safetensors(dir.path / "resnet.safetensors");
    CHECK(file.metadata.at("model") == "resnet18");
    CHECK(file.dtype("conv1.weight") == Dtype::f32);
    CHECK(file.dtype("layer1.0.bn1.num_batches_tracked") == Dtype::i64);
    CHECK(file.shape("layer1.0.bn1.num_batches_tracked") == Shape{});
    CHECK(file.contains("attention.3.conv.weight"));
    CHECK(file.contains("layer2.0.downsample.1.running_var"));

    auto target = resnet18<float>({.attention = Attention::hfc, .width = 8});
    const auto path = dir.path / "resnet.safetensors";
    const auto report = load_safetensors(target, path.c_str());  // the public contract takes a string
    CHECK(report.complete());
    CHECK(report.loaded == file.tensors.size());
    CHECK(report.adapted.empty());
    CHECK(state_of(target) == state_of(source));

    // double weights save as F64 and load into a float model.
    auto wide = resnet18<double>({.attention = Attention::hfc, .width = 8});
    scramble(wide, rng);
    save_safetensors(wide, dir.path / "resnet64.safetensors");
    CHECK(read_safetensors(dir.path / "resnet64.safetensors").dtype("fc.weight") == Dtype::f64);
    load_safetensors(target, dir.path / "resnet64.safetensors");
    CHECK(state_of(target) == state_of(wide));
  }
  {
    auto source = mobilenet_v2<float>({.num_classes = 5, .attention = Attention::hfc});
    scramble(source, rng);
    save_safetensors(source, dir.path / "mobilenet.safetensors");
    auto target = mobilenet_v2<float>({.num_classes = 5, .attention = Attention::hfc});
    CHECK(load_safetensors(target, dir.path / "mobilenet.safetensors").complete());
    const auto state = state_of(target);
    CHECK(state == state_of(source));
    CHECK(state.contains("features.0.1.num_batches_tracked"));
    CHECK(state.contains("features.0.0.weight"));
  }
  CHECK(dir.entries() == std::vector<std::string>{"mobilenet.safetensors", "resnet.safetensors", "resnet64.safetensors"});
}

TEST_CASE("safetensors: strict loading names every missing, unexpected and mismatched key and changes nothing") {
  ScratchDir dir;
  Rng rng(11);
  auto source = resnet18<float>({.width = 8});
  scramble(source, rng);
  save_safetensors(source, dir.path / "full.safetensors");

  auto edited = read_safetensors(dir.path / "full.safetensors");
  edited.tensors.erase("conv1.weight");
  edited.tensors.erase("layer1.0.bn1.num_batches_tracked");
  edited.tensors["head.weight"] = store(Tensor<float>(Shape{3}));
  edited.tensors["extra.bias"] = store(Tensor<float>(Shape{1}));
  edited.tensors["fc.weight"] = store(Tensor<float>(Shape{5, 64}));          // the model's is [7, 64]
  edited.tensors["bn1.running_mean"] = store(Tensor<std::int64_t>(Shape{8}));  // integer for a float buffer
  write_safetensors(dir.path / "edited.safetensors", edited.tensors);

  auto target = resnet18<float>({.width = 8});
  const auto before = state_of(target);
  const auto message = error_of([&] { load_safetensors(target, dir.path / "edited.safetensors"); });
  for (const char* part : {"edited.safetensors", "2 missing from the file: conv1.weight, layer1.0.bn1.num_batches_tracked",
                           "2 unexpected (in the file, not in the model): extra.bias, head.weight",
                           "fc.weight (file [5, 64], model [7, 64])", "bn1.running_mean (file I64, model F32)"}) {
    CAPTURE(message);
    CHECK(message.find(part) != std::string::npos);
  }
  CHECK(state_of(target) == before);

  // Non-strict: what matches loads; the rest is reported and left alone.
  const auto report = load_safetensors(target, dir.path / "edited.safetensors", {.strict = false});
  CHECK(report.missing == std::vector<std::string>{"conv1.weight", "layer1.0.bn1.num_batches_tracked"});
  CHECK(report.unexpected == std::vector<std::string>{"extra.bias", "head.weight"});
  REQUIRE(report.shape_mismatched.size() == 1);
  CHECK(report.shape_mismatched[0].name == "fc.weight");
  CHECK(report.shape_mismatched[0].file_shape == std::vector<std::int64_t>{5, 64});
  CHECK(report.shape_mismatched[0].model_shape == std::vector<std::int64_t>{7, 64});
  CHECK(report.dtype_mismatched.size() == 1);
  CHECK_FALSE(report.complete());
  const auto after = state_of(target);
  const auto expected = state_of(source);
  CHECK(report.loaded == after.size() - 4);
  for (const auto& [name, values] : after) {
    CAPTURE(name);
    const bool skipped = name == "conv1.weight" || name == "layer1.0.bn1.num_batches_tracked" ||
                         name == "fc.weight" || name == "bn1.running_mean";
    CHECK(values == (skipped ? before.at(name) : expected.at(name)));
  }
}

TEST_CASE("safetensors: a 3-channel stem loads into a 1-channel model as the sum over input channels") {
  ScratchDir dir;
  Rng rng(13);
  auto check_stem = [&](auto& rgb, auto& gray, const std::string& stem) {
    scramble(rgb, rng);
    const auto path = dir.path / "rgb.safetensors";
    save_safetensors(rgb, path);
    const auto report = load_safetensors(gray, path);
    REQUIRE(report.adapted.size() == 1);
    CHECK(report.adapted[0].starts_with(stem + ": summed the file's 3 input channels"));
    CHECK(report.complete());
    const auto w = state_of(rgb).at(stem), summed = state_of(gray).at(stem);
    REQUIRE(summed.size() * 3 == w.size());
    // [O, 3, kh, kw] -> [O, 1, kh, kw]
    const auto shape = read_safetensors(path).shape(stem);
    const auto kernel = static_cast<std::size_t>(shape[2] * shape[3]);
    for (std::size_t o = 0; o < static_cast<std::size_t>(shape[0]); ++o)
      for (std::size_t k = 0; k < kernel; ++k) {
        const double sum = w[(o * 3) * kernel + k] + w[(o * 3 + 1) * kernel + k] + w[(o * 3 + 2) * kernel + k];
        CHECK(summed[o * kernel + k] == doctest::Approx(sum).epsilon(1e-6));
      }
    // Everything else loaded as it is.
    const auto a = state_of(rgb), b = state_of(gray);
    for (const auto& [name, values] : a)
      if (name != stem) CHECK(b.at(name) == values);
    // Without adaptation the stem is a shape mismatch.
    CHECK(error_of([&] { load_safetensors(gray, path, {.adapt_stem = false}); }).find(stem + " (file [") !=
          std::string::npos);
  };
  auto rgb_resnet = resnet18<float>({.in_channels = 3, .width = 8});
  auto gray_resnet = resnet18<float>({.in_channels = 1, .width = 8});
  check_stem(rgb_resnet, gray_resnet, "conv1.weight");
  auto rgb_mobilenet = mobilenet_v2<float>({.in_channels = 3});
  auto gray_mobilenet = mobilenet_v2<float>({.in_channels = 1});
  check_stem(rgb_mobilenet, gray_mobilenet, "features.0.0.weight");
}

TEST_CASE("safetensors: writes are atomic, a failed write leaves the old file and no temporary file") {
  ScratchDir dir;
  const auto target = dir.path / "w.safetensors";
  StoredTensors tensors;
  tensors["x"] = store(Tensor<float>::from(Shape{3}, std::vector<float>{1, 2, 3}));
  write_safetensors(target, tensors);
  write_safetensors(target, tensors, {{"run", "2"}});  // replaces it
  CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});
  CHECK(read_safetensors(target).metadata.at("run") == "2");
  const auto old = file_contents(target);

  // The content fails half way: the old file stays, the temporary one goes.
  const auto message = error_of([&] {
    write_file_atomically(target, [](std::FILE* f, const fs::path& tmp) {
      write_bytes(f, std::as_bytes(std::span<const char>("partial", 7)), tmp);
      fail("simulated failure after writing ", tmp);
    });
  });
  CHECK(message.find("simulated failure after writing") != std::string::npos);
  CHECK(message.find("w.safetensors.tmp.") != std::string::npos);  // the temporary name: pid + random
  CHECK(file_contents(target) == old);
  CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});

  // Metadata that is not UTF-8 fails before the disk is touched.
  CHECK(error_of([&] { write_safetensors(target, tensors, {{"bad", "\xff\xfe"}}); }).find("UTF-8") != std::string::npos);
  CHECK(file_contents(target) == old);
  CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});

  // A tensor whose bytes do not match its shape is refused, naming the path.
  auto broken = tensors;
  broken["x"].bytes.pop_back();
  CHECK(error_of([&] { write_safetensors(target, broken); }).find("w.safetensors") != std::string::npos);
  CHECK(file_contents(target) == old);

  // The rename fails (the target is a directory): the temporary file is removed.
  fs::create_directory(dir.path / "taken");
  fs::create_directory(dir.path / "taken" / "inside");
  const auto rename_error = error_of([&] { write_safetensors(dir.path / "taken", tensors); });
  CHECK(rename_error.find("cannot rename") != std::string::npos);
  CHECK(rename_error.find("taken") != std::string::npos);
  CHECK(dir.entries() == std::vector<std::string>{"taken", "w.safetensors"});

  // The directory does not exist: nothing can be created, and the error names the target.
  CHECK(error_of([&] { write_safetensors(dir.path / "no" / "w.safetensors", tensors); }).find("no/w.safetensors") !=
        std::string::npos);

  // A module save that fails part way (an undefined tensor) leaves the old file too.
  auto net = resnet18<float>({.width = 8});
  net.fc.bias.value = Tensor<float>();
  CHECK(error_of([&] { save_safetensors(net, target); }).find("'fc.bias' is undefined") != std::string::npos);
  CHECK(file_contents(target) == old);
  CHECK(dir.entries() == std::vector<std::string>{"taken", "w.safetensors"});
}
