#pragma once
// Named tensors in safetensors files. read_safetensors() reads and validates a whole file;
// write_safetensors() writes one atomically (io/atomic_file.hpp). Values convert on the way out:
// any floating dtype (F64, F32, F16, BF16) reads as float or double, any integer dtype (I64 ... U8,
// BOOL) as an integer element type, range-checked; floating and integer never mix.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "hfc/core/shape.hpp"
#include "hfc/core/tensor.hpp"
#include "hfc/io/atomic_file.hpp"
#include "hfc/io/float16.hpp"
#include "hfc/io/read_file.hpp"
#include "hfc/io/safetensors_format.hpp"

namespace hfc {

// A tensor as a file stores it.
struct StoredTensor {
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;  // row-major, little-endian

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (const auto e : shape) n *= e;
    return n;
  }
  friend bool operator==(const StoredTensor&, const StoredTensor&) = default;
};
using StoredTensors = std::map<std::string, StoredTensor, std::less<>>;

// The dtype that holds a tensor element type exactly.
template <Element E>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<E, float>) return Dtype::f32;
  else if constexpr (std::is_same_v<E, double>) return Dtype::f64;
  else if constexpr (std::is_same_v<E, std::int64_t>) return Dtype::i64;
  else if constexpr (std::is_same_v<E, std::int32_t>) return Dtype::i32;
  else return Dtype::u8;
}

// Whether values stored as `from` read as E: floating into floating, integer into integer.
template <Element E>
bool converts_to(Dtype from) {
  return is_floating(from) == std::is_floating_point_v<E>;
}

namespace detail {
template <class Raw, class E, class Convert>
void decode_as(std::span<const std::byte> bytes, std::span<E> out, Convert convert) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    Raw raw;
    std::memcpy(&raw, bytes.data() + i * sizeof(Raw), sizeof(Raw));
    out[i] = convert(raw);
  }
}
}  // namespace detail

// Converts a stored tensor's elements into `out` (numel elements). `what` names the tensor in errors.
template <Element E>
void decode_elements(const StoredTensor& t, std::span<E> out, std::string_view what) {
  check(converts_to<E>(t.dtype), what, ": holds ", dtype_name(t.dtype), " values, which do not read as ",
        dtype_name(dtype_of<E>()), " (floating and integer types do not mix)");
  check(out.size() * dtype_size(t.dtype) == t.bytes.size(), what, ": ", t.bytes.size(), " bytes of ",
        dtype_name(t.dtype), " do not make the ", out.size(), " elements asked for");
  const std::span<const std::byte> in(t.bytes);
  if constexpr (std::is_floating_point_v<E>) {
    auto cast = [](auto v) { return static_cast<E>(v); };
    switch (t.dtype) {
      case Dtype::f64: return detail::decode_as<double>(in, out, cast);
      case Dtype::f32: return detail::decode_as<float>(in, out, cast);
      case Dtype::f16: return detail::decode_as<std::uint16_t>(in, out, [](std::uint16_t h) { return static_cast<E>(float16_to_float(h)); });
      case Dtype::bf16: return detail::decode_as<std::uint16_t>(in, out, [](std::uint16_t b) { return static_cast<E>(bfloat16_to_float(b)); });
      default: break;
    }
  } else {
    auto narrow = [what](auto v) {
      check(std::in_range<E>(v), what, ": value ", +v, " does not fit in ", dtype_name(dtype_of<E>()));
      return static_cast<E>(v);
    };
    switch (t.dtype) {
      case Dtype::i64: return detail::decode_as<std::int64_t>(in, out, narrow);
      case Dtype::i32: return detail::decode_as<std::int32_t>(in, out, narrow);
      case Dtype::i16: return detail::decode_as<std::int16_t>(in, out, narrow);
      case Dtype::i8: return detail::decode_as<std::int8_t>(in, out, narrow);
      case Dtype::u8:
      case Dtype::boolean: return detail::decode_as<std::uint8_t>(in, out, narrow);
      default: break;
    }
  }
}

// A host copy of a tensor's elements, for writing.
template <Element E, Backend B>
StoredTensor store(const Tensor<E, B>& t) {
  check(t.defined(), "cannot store an undefined tensor");
  const auto values = t.to_vector();
  StoredTensor s{dtype_of<E>(), std::vector<std::int64_t>(t.shape().begin(), t.shape().end()),
                 std::vector<std::byte>(values.size() * sizeof(E))};
  if (!values.empty()) std::memcpy(s.bytes.data(), values.data(), s.bytes.size());
  return s;
}

// Extents as a Shape, or an error naming the tensor when they do not fit one.
inline Shape to_shape(const std::vector<std::int64_t>& dims, std::string_view what) {
  check(dims.size() <= static_cast<std::size_t>(Shape::kMaxRank), what, ": rank ", dims.size(),
        " exceeds the ", Shape::kMaxRank, " dimensions of an hfc::Shape");
  return Shape(std::span<const std::int64_t>(dims));
}

// A whole safetensors file in memory.
struct SafetensorsFile {
  std::string source;  // the path it came from, for messages
  StoredTensors tensors;
  SafetensorsMetadata metadata;

  // Validates the bytes of a file (parse_safetensors) and copies out its tensors.
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string source_name = "<memory>") {
    const auto layout = parse_safetensors(bytes, source_name);
    SafetensorsFile file{std::move(source_name), {}, layout.metadata};
    for (const auto& [name, info] : layout.tensors) {
      const auto* first = bytes.data() + layout.data_offset + info.begin;
      file.tensors.emplace(name, StoredTensor{info.dtype, info.shape, std::vector<std::byte>(first, first + (info.end - info.begin))});
    }
    return file;
  }

  bool contains(std::string_view name) const { return tensors.find(name) != tensors.end(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors) out.push_back(name);
    return out;
  }
  const StoredTensor& at(std::string_view name) const {
    const auto it = tensors.find(name);
    check(it != tensors.end(), source, ": no tensor named '", name, "' (the file holds ", tensors.size(), ")");
    return it->second;
  }
  Dtype dtype(std::string_view name) const { return at(name).dtype; }
  Shape shape(std::string_view name) const { return to_shape(at(name).shape, describe(name)); }

  // The values of a tensor, converted to T.
  template <Element T>
  std::vector<T> values(std::string_view name) const {
    const auto& t = at(name);
    std::vector<T> out(static_cast<std::size_t>(t.numel()));
    decode_elements(t, std::span<T>(out), describe(name));
    return out;
  }
  template <Element T>
  Tensor<T, cpu> tensor(std::string_view name) const {
    return Tensor<T, cpu>::from(shape(name), values<T>(name));
  }

  // "<source>: tensor '<name>'", the way errors name a tensor.
  std::string describe(std::string_view name) const { return detail::concat(source, ": tensor '", name, "'"); }
};

inline SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  return SafetensorsFile::from_bytes(read_file_bytes(path, "weights file"), path.string());
}

namespace detail {
// A file ready to go out: its header, then the tensors' bytes in data order.
struct PreparedSafetensors {
  std::string header;
  std::vector<std::span<const std::byte>> data;

  template <class Sink>  // sink(std::span<const std::byte>) receives the pieces in file order
  void emit(Sink&& sink) const {
    sink(std::as_bytes(std::span<const char>(header)));
    for (const auto piece : data) sink(piece);
  }
};

// Checks each tensor's bytes against its shape and lays the tensors out as the reference writer does.
inline PreparedSafetensors prepare_safetensors(const StoredTensors& tensors, const SafetensorsMetadata& metadata) {
  SafetensorsLayout layout{{}, metadata, 0};
  for (const auto& [name, t] : tensors) {
    check(std::all_of(t.shape.begin(), t.shape.end(), [](std::int64_t e) { return e >= 0; }),
          "safetensors: tensor '", name, "' has a negative extent");
    check(byte_count(t.shape, t.dtype) == t.bytes.size(), "safetensors: tensor '", name, "' holds ",
          t.bytes.size(), " bytes, not what its shape and dtype ", dtype_name(t.dtype), " need");
    layout.tensors.emplace(name, TensorInfo{t.dtype, t.shape, 0, 0});
  }
  assign_data_offsets(layout.tensors);
  std::vector<std::pair<std::uint64_t, const StoredTensor*>> by_begin;
  for (const auto& [name, info] : layout.tensors) by_begin.emplace_back(info.begin, &tensors.find(name)->second);
  std::sort(by_begin.begin(), by_begin.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  PreparedSafetensors prepared{encode_safetensors_header(layout), {}};
  for (const auto& [begin, t] : by_begin) prepared.data.emplace_back(t->bytes);
  return prepared;
}
}  // namespace detail

// The bytes of a safetensors file holding these tensors.
inline std::vector<std::byte> serialize_safetensors(const StoredTensors& tensors,
                                                    const SafetensorsMetadata& metadata = {}) {
  std::vector<std::byte> out;
  detail::prepare_safetensors(tensors, metadata).emit([&](std::span<const std::byte> piece) {
    out.insert(out.end(), piece.begin(), piece.end());
  });
  return out;
}

// Writes a safetensors file atomically. The header is built (and checked) before anything touches
// the disk, and the file appears at `path` complete or not at all.
inline void write_safetensors(const std::filesystem::path& path, const StoredTensors& tensors,
                              const SafetensorsMetadata& metadata = {}) {
  const auto prepared = [&] {
    try {
      return detail::prepare_safetensors(tensors, metadata);
    } catch (const Error& e) {
      fail("cannot write ", path, ": ", e.what());
    }
  }();
  write_file_atomically(path, [&](std::FILE* file, const std::filesystem::path& tmp) {
    prepared.emit([&](std::span<const std::byte> piece) { write_bytes(file, piece, tmp); });
  });
}

}  // namespace hfc
