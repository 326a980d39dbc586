#pragma once
// The safetensors format at the byte level (https://huggingface.co/docs/safetensors):
//
//   8 bytes    N, the length of the header, little-endian
//   N bytes    a JSON object: {"name": {"dtype": "F32", "shape": [64, 3, 7, 7],
//                                       "data_offsets": [begin, end]}, ...,
//                              "__metadata__": {"key": "value", ...}}     (metadata optional)
//   the rest   the data section; a tensor's bytes are [begin, end) of it, row-major, little-endian
//
// parse_safetensors() trusts nothing in the bytes it reads: the header length is bounded, the JSON
// must have exactly this schema (no duplicate keys, no nesting beyond it), every dtype is known,
// every shape's byte count is computed without overflow and must equal its range, and the ranges
// lie inside the data section without overlapping. Gaps between ranges and bytes after the last
// one are allowed (the reference library forbids them; they are harmless to a reader that only
// follows offsets). Every error is an hfc::Error naming the source and the tensor.
//
// encode_safetensors_header() writes what the reference (Python/Rust) library writes: compact JSON
// with "__metadata__" first, then the tensors in data order, padded with spaces to a multiple of 8.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hfc/core/error.hpp"

namespace hfc {

static_assert(std::endian::native == std::endian::little,
              "hfcnet's safetensors code copies little-endian bytes as they are");

enum class Dtype { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

namespace detail {
struct DtypeTraits {
  Dtype dtype;
  std::string_view name;  // as the header spells it
  std::size_t size;       // bytes per element
  bool floating;
  int write_rank;  // the reference library writes higher ranks first (its Dtype enum, reversed)
};
inline constexpr std::array<DtypeTraits, 10> kDtypes = {{
    {Dtype::f64, "F64", 8, true, 12},
    {Dtype::f32, "F32", 4, true, 11},
    {Dtype::f16, "F16", 2, true, 7},
    {Dtype::bf16, "BF16", 2, true, 8},
    {Dtype::i64, "I64", 8, false, 13},
    {Dtype::i32, "I32", 4, false, 9},
    {Dtype::i16, "I16", 2, false, 5},
    {Dtype::i8, "I8", 1, false, 2},
    {Dtype::u8, "U8", 1, false, 1},
    {Dtype::boolean, "BOOL", 1, false, 0},
}};
inline const DtypeTraits& traits(Dtype d) { return kDtypes[static_cast<std::size_t>(d)]; }
}  // namespace detail

inline std::string_view dtype_name(Dtype d) { return detail::traits(d).name; }
inline std::size_t dtype_size(Dtype d) { return detail::traits(d).size; }
inline bool is_floating(Dtype d) { return detail::traits(d).floating; }
inline std::optional<Dtype> dtype_from_name(std::string_view name) {
  for (const auto& t : detail::kDtypes)
    if (t.name == name) return t.dtype;
  return std::nullopt;
}

using SafetensorsMetadata = std::map<std::string, std::string>;

// One header entry: the element type, the extents, and the byte range in the data section.
struct TensorInfo {
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

// What a header describes.
struct SafetensorsLayout {
  std::map<std::string, TensorInfo, std::less<>> tensors;
  SafetensorsMetadata metadata;
  std::uint64_t data_offset = 0;  // where the data section starts in the file: 8 + N
};

namespace detail {

inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference library's limit
inline constexpr std::string_view kMetadataKey = "__metadata__";

// a * b, or nullopt when it does not fit.
inline std::optional<std::uint64_t> checked_product(std::uint64_t a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return std::nullopt;
  return a * b;
}

// The bytes of a tensor of these extents, or nullopt when the count overflows 64 bits.
inline std::optional<std::uint64_t> byte_count(const std::vector<std::int64_t>& shape, Dtype dtype) {
  std::optional<std::uint64_t> count = 1;
  for (const auto extent : shape)
    if (count) count = checked_product(*count, static_cast<std::uint64_t>(extent));
  return count ? checked_product(*count, dtype_size(dtype)) : std::nullopt;
}

// Text from a hostile header fit for a message: bytes outside printable ASCII become \xNN.
inline std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out += {'\\', 'x', hex[byte >> 4], hex[byte & 0xf]};
    }
  }
  return out;
}

// Parses the header text into a DOM, rejecting duplicate keys (nlohmann keeps the last one
// silently) and nesting deeper than the schema's: root object (depth 0), entry object (1), shape
// and offsets arrays (2). The depth bound also keeps hostile inputs like "[[[[..." small.
inline nlohmann::json parse_header_json(std::string_view text, std::string_view source) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string, std::less<>>> open_objects;  // the keys seen in each
  std::string entry;                                             // the last top-level key
  auto where = [&](int depth) { return depth <= 1 ? std::string() : " (in the entry of '" + entry + "')"; };
  auto guard = [&](int depth, Event event, nlohmann::json& parsed) {
    if ((event == Event::object_start || event == Event::array_start) && depth > 2)
      fail(source, ": safetensors header nests deeper than its schema allows", where(depth));
    if (event == Event::object_start) open_objects.emplace_back();
    if (event == Event::object_end) open_objects.pop_back();
    if (event == Event::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (depth == 1) entry = key;
      if (!open_objects.back().insert(key).second)
        fail(source, ": duplicate key '", key, "' in the safetensors header", where(depth));
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), guard);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": the safetensors header is not valid JSON: ", printable(e.what()));
  }
}

// A JSON value as an error message shows it: at most 64 characters of it.
inline std::string shown(const nlohmann::json& v) {
  auto text = v.dump();
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

// A non-negative JSON integer (nlohmann stores those as number_unsigned).
inline std::uint64_t unsigned_field(const nlohmann::json& v, std::string_view source, std::string_view tensor,
                                    std::string_view field) {
  if (!v.is_number_unsigned())
    fail(source, ": tensor '", tensor, "': ", field, " must hold non-negative integers, got ", shown(v));
  return v.get<std::uint64_t>();
}

inline TensorInfo parse_tensor_info(const std::string& name, const nlohmann::json& entry, std::string_view source) {
  check(entry.is_object(), source, ": tensor '", name, "': its header entry must be an object, got ", entry.type_name());
  for (const auto& [field, value] : entry.items()) {
    check(field == "dtype" || field == "shape" || field == "data_offsets", source, ": tensor '", name,
          "': unknown field '", field, "' (expected dtype, shape and data_offsets)");
  }
  for (const char* field : {"dtype", "shape", "data_offsets"})
    check(entry.contains(field), source, ": tensor '", name, "': the field '", field, "' is missing");

  TensorInfo info;
  const auto& dtype = entry["dtype"];
  if (!dtype.is_string()) fail(source, ": tensor '", name, "': dtype must be a string, got ", shown(dtype));
  const auto known = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!known)
    fail(source, ": tensor '", name, "': unknown dtype ", shown(dtype),
         " (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
  info.dtype = *known;

  const auto& shape = entry["shape"];
  if (!shape.is_array()) fail(source, ": tensor '", name, "': shape must be an array, got ", shown(shape));
  for (const auto& extent : shape) {
    const auto e = unsigned_field(extent, source, name, "shape");
    if (e > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(source, ": tensor '", name, "': extent ", e, " in shape ", shown(shape), " is too large");
    info.shape.push_back(static_cast<std::int64_t>(e));
  }

  const auto& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(source, ": tensor '", name, "': data_offsets must be an array [begin, end], got ", shown(offsets));
  info.begin = unsigned_field(offsets[0], source, name, "data_offsets");
  info.end = unsigned_field(offsets[1], source, name, "data_offsets");
  return info;
}

inline SafetensorsMetadata parse_metadata(const nlohmann::json& m, std::string_view source) {
  check(m.is_object(), source, ": __metadata__ must be an object of strings, got ", m.type_name());
  SafetensorsMetadata metadata;
  for (const auto& [key, value] : m.items()) {
    if (!value.is_string()) fail(source, ": __metadata__ value of '", key, "' must be a string, got ", shown(value));
    metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

// Each range is [begin, end) inside the data section, holds exactly numel * dtype size bytes, and
// overlaps no other.
inline void check_data_ranges(const SafetensorsLayout& layout, std::uint64_t data_size, std::string_view source) {
  std::vector<std::pair<const TensorInfo*, const std::string*>> by_begin;
  for (const auto& [name, info] : layout.tensors) {
    check(info.begin <= info.end, source, ": tensor '", name, "': data_offsets [", info.begin, ", ", info.end,
          "] begin after end");
    check(info.end <= data_size, source, ": tensor '", name, "': data_offsets [", info.begin, ", ", info.end,
          "] end beyond the data section of ", data_size, " bytes");
    const auto bytes = byte_count(info.shape, info.dtype);
    check(bytes.has_value(), source, ": tensor '", name, "': the byte count of its shape overflows");
    check(*bytes == info.end - info.begin, source, ": tensor '", name, "': byte size ", info.end - info.begin,
          " of data_offsets [", info.begin, ", ", info.end, "] does not match its shape and dtype (",
          *bytes / dtype_size(info.dtype), " elements of ", dtype_name(info.dtype), " are ", *bytes, " bytes)");
    by_begin.emplace_back(&info, &name);
  }
  std::sort(by_begin.begin(), by_begin.end(), [](const auto& a, const auto& b) {
    return a.first->begin != b.first->begin ? a.first->begin < b.first->begin : a.first->end < b.first->end;
  });
  for (std::size_t i = 1; i < by_begin.size(); ++i) {
    const auto& [prev, prev_name] = by_begin[i - 1];
    const auto& [cur, cur_name] = by_begin[i];
    check(cur->begin >= prev->end, source, ": tensor '", *cur_name, "': data_offsets [", cur->begin, ", ", cur->end,
          "] overlap those of tensor '", *prev_name, "' [", prev->begin, ", ", prev->end, "]");
  }
}

inline std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

}  // namespace detail

// Validates a whole safetensors file held in memory and returns its layout. `source` (a path, or
// a word like "<memory>") starts every error message.
inline SafetensorsLayout parse_safetensors(std::span<const std::byte> file, std::string_view source) {
  check(file.size() >= 8, source, ": not a safetensors file: ", file.size(),
        " bytes, fewer than the 8 of the header length (truncated?)");
  const std::uint64_t header_bytes = detail::read_u64_le(file.data());
  const std::uint64_t after_length = file.size() - 8;
  check(header_bytes >= 2, source, ": safetensors header length ", header_bytes, " is too small for a JSON object");
  check(header_bytes <= detail::kMaxHeaderBytes, source, ": safetensors header length ", header_bytes,
        " exceeds the limit of ", detail::kMaxHeaderBytes, " bytes");
  check(header_bytes <= after_length, source, ": safetensors header length ", header_bytes, " exceeds the ",
        after_length, " bytes that follow it (truncated?)");

  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, static_cast<std::size_t>(header_bytes));
  const auto root = detail::parse_header_json(text, source);
  check(root.is_object(), source, ": the safetensors header must be a JSON object, got ", root.type_name());

  SafetensorsLayout layout;
  layout.data_offset = 8 + header_bytes;
  for (const auto& [key, value] : root.items()) {
    if (key == detail::kMetadataKey)
      layout.metadata = detail::parse_metadata(value, source);
    else
      layout.tensors.emplace(key, detail::parse_tensor_info(key, value, source));
  }
  detail::check_data_ranges(layout, after_length - header_bytes, source);
  return layout;
}

// Gives each tensor a contiguous range from 0, in the reference library's order (dtypes with
// larger alignment first, then by name), so that every tensor is aligned to its element size.
inline void assign_data_offsets(std::map<std::string, TensorInfo, std::less<>>& tensors) {
  std::vector<std::pair<const std::string*, TensorInfo*>> order;
  for (auto& [name, info] : tensors) order.emplace_back(&name, &info);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return detail::traits(a.second->dtype).write_rank > detail::traits(b.second->dtype).write_rank;
  });  // stable: names stay sorted within a dtype
  std::uint64_t offset = 0;
  for (auto& [name, info] : order) {
    const auto bytes = detail::byte_count(info->shape, info->dtype);
    check(bytes.has_value(), "safetensors: the byte count of tensor '", *name, "' overflows");
    info->begin = offset;
    info->end = offset += *bytes;
  }
}

// The first 8 + N bytes of a file with this layout: the length, then the JSON padded with spaces
// to a multiple of 8. Names and metadata must be valid UTF-8.
inline std::string encode_safetensors_header(const SafetensorsLayout& layout) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!layout.metadata.empty()) header[std::string(detail::kMetadataKey)] = layout.metadata;
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_begin;
  for (const auto& [name, info] : layout.tensors) {
    check(name != detail::kMetadataKey, "safetensors: a tensor cannot be named ", name);
    by_begin.emplace_back(&name, &info);
  }
  std::stable_sort(by_begin.begin(), by_begin.end(),
                   [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (const auto& [name, info] : by_begin) {
    auto& entry = header[*name];
    entry["dtype"] = dtype_name(info->dtype);
    entry["shape"] = info->shape;
    entry["data_offsets"] = nlohmann::ordered_json::array({info->begin, info->end});
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("safetensors: cannot encode the header (tensor names and metadata must be UTF-8): ", e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xffu);
  return out + json;
}

}  // namespace hfc
