#pragma once
// A module's weights in safetensors files, under torchvision's state_dict names.
//
//   hfc::save_safetensors(net, "w.safetensors");              every parameter and buffer
//   auto report = hfc::load_safetensors(net, "w.safetensors"); strict: the file must match exactly
//   hfc::load_safetensors(net, path, {.strict = false});       loads what matches, reports the rest
//
// Parameters and buffers are saved in their element type (F32 for float, F64 for double, I64 for
// num_batches_tracked). Loading converts any floating dtype (F64, F32, F16, BF16) into the module's
// T. Loading validates everything before it copies anything, so a strict load that fails leaves
// the module as it was.
//
// Stem adaptation: a torchvision stem conv trained on RGB ([O, 3, kh, kw]) loads into a 1-channel
// model ([O, 1, kh, kw]) by summing over the input channels, which gives a gray image the response
// the RGB weights give to R = G = B = gray. It applies only to the module's first parameter (the
// stem conv: conv1.weight in ResNet18, features.0.0.weight in MobileNetV2) and is reported in
// LoadReport::adapted.
#include <cstdint>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "hfc/core/module.hpp"
#include "hfc/io/safetensors_file.hpp"

namespace hfc {

struct LoadOptions {
  bool strict = true;      // any missing, unexpected or mismatched tensor is an error, and nothing loads
  bool adapt_stem = true;  // sum a 3-channel stem conv over its input channels into a 1-channel one
};

struct ShapeMismatch {
  std::string name;
  std::vector<std::int64_t> file_shape, model_shape;
};

// What a load did and did not do. Names are state_dict keys.
struct LoadReport {
  std::size_t loaded = 0;                       // tensors copied into the module
  std::vector<std::string> missing;             // in the module, not in the file
  std::vector<std::string> unexpected;          // in the file, not in the module
  std::vector<ShapeMismatch> shape_mismatched;  // in both, with different shapes
  std::vector<std::string> dtype_mismatched;    // in both, floating in one and integer in the other
  std::vector<std::string> adapted;             // loaded after a conversion, in words

  bool complete() const {
    return missing.empty() && unexpected.empty() && shape_mismatched.empty() && dtype_mismatched.empty();
  }
  // One line per kind of problem, every name listed.
  std::string describe() const;
};

namespace detail {

inline std::string format_dims(const std::vector<std::int64_t>& dims) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << ']';
  return out.str();
}

template <class Names>
void list_names(std::ostream& out, const char* heading, const Names& names) {
  if (names.empty()) return;
  out << "\n  " << names.size() << ' ' << heading << ": ";
  for (std::size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
}

// The tensor a state item holds: a Parameter's value, or the buffer itself.
template <class Item>
auto& state_tensor(Item& item) {
  if constexpr (requires { item.value; }) return item.value;
  else return item;
}
template <class Item>
constexpr bool is_parameter = requires(Item& item) { item.value; item.grad; };

// Visits every parameter, then every buffer, of a module: its state_dict.
template <class M, class F>
void for_each_state(M& m, F&& f) {  // (not `module`: nvcc's front end takes it for the C++20 keyword)
  m.for_each_parameter(f);
  m.for_each_buffer(f);
}

// Decoded values waiting to be copied into the module, one slot per visited tensor; monostate
// where nothing loads.
using StagedValues = std::variant<std::monostate, std::vector<float>, std::vector<double>, std::vector<std::int64_t>,
                                  std::vector<std::int32_t>, std::vector<std::uint8_t>>;

inline bool is_rgb_stem_into_gray(const std::vector<std::int64_t>& file, const std::vector<std::int64_t>& model) {
  return file.size() == 4 && model.size() == 4 && file[1] == 3 && model[1] == 1 && file[0] == model[0] &&
         file[2] == model[2] && file[3] == model[3];
}

// [O, C, kh, kw] -> [O, 1, kh, kw], summing over C.
template <class E>
std::vector<E> sum_input_channels(const std::vector<E>& w, const std::vector<std::int64_t>& shape) {
  const auto out_channels = static_cast<std::size_t>(shape[0]);
  const auto in_channels = static_cast<std::size_t>(shape[1]);
  const auto taps = static_cast<std::size_t>(shape[2] * shape[3]);
  std::vector<E> summed(out_channels * taps, E(0));
  for (std::size_t o = 0; o < out_channels; ++o)
    for (std::size_t c = 0; c < in_channels; ++c)
      for (std::size_t k = 0; k < taps; ++k) summed[o * taps + k] += w[(o * in_channels + c) * taps + k];
  return summed;
}

}  // namespace detail

inline std::string LoadReport::describe() const {
  std::ostringstream out;
  out << loaded << " tensors loaded";
  detail::list_names(out, "missing from the file", missing);
  detail::list_names(out, "unexpected (in the file, not in the model)", unexpected);
  std::vector<std::string> shapes;
  for (const auto& m : shape_mismatched)
    shapes.push_back(m.name + " (file " + detail::format_dims(m.file_shape) + ", model " +
                     detail::format_dims(m.model_shape) + ")");
  detail::list_names(out, "with mismatched shapes", shapes);
  detail::list_names(out, "with mismatched dtypes", dtype_mismatched);
  detail::list_names(out, "adapted", adapted);
  return out.str();
}

// Loads the tensors of an open file into a module. See the top of this header.
template <Module M>
LoadReport load_safetensors(M& module, const SafetensorsFile& file, const LoadOptions& options = {}) {
  LoadReport report;
  std::vector<detail::StagedValues> staged;
  std::set<std::string, std::less<>> visited;
  bool first_parameter = true;

  // Pass 1: match names, shapes and dtypes, and decode what loads. Nothing in the module changes.
  detail::for_each_state(module, [&](std::string_view name, auto& item) {
    const auto& t = detail::state_tensor(item);
    using E = typename std::remove_cvref_t<decltype(t)>::value_type;
    const bool is_stem = detail::is_parameter<std::remove_cvref_t<decltype(item)>> && std::exchange(first_parameter, false);
    staged.emplace_back();
    visited.emplace(name);
    check(t.defined(), "load_safetensors: the module's tensor '", name, "' is undefined");
    const auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      report.missing.emplace_back(name);
      return;
    }
    const StoredTensor& stored = it->second;
    const std::vector<std::int64_t> model_shape(t.shape().begin(), t.shape().end());
    if (!converts_to<E>(stored.dtype)) {
      report.dtype_mismatched.push_back(detail::concat(name, " (file ", dtype_name(stored.dtype), ", model ",
                                                       dtype_name(dtype_of<E>()), ")"));
      return;
    }
    const bool adapt = stored.shape != model_shape && options.adapt_stem && is_stem &&
                       detail::is_rgb_stem_into_gray(stored.shape, model_shape);
    if (stored.shape != model_shape && !adapt) {
      report.shape_mismatched.push_back({std::string(name), stored.shape, model_shape});
      return;
    }
    auto values = file.values<E>(name);
    if (adapt) {
      values = detail::sum_input_channels(values, stored.shape);
      report.adapted.push_back(detail::concat(name, ": summed the file's 3 input channels ",
                                              detail::format_dims(stored.shape), " into the model's 1 ",
                                              detail::format_dims(model_shape)));
    }
    staged.back() = std::move(values);
    ++report.loaded;
  });
  for (const auto& [name, stored] : file.tensors)
    if (!visited.contains(name)) report.unexpected.push_back(name);
  if (options.strict && !report.complete())
    fail("load_safetensors: ", file.source, " does not match the model (strict; LoadOptions{.strict = false} "
         "loads what matches): ", report.describe());

  // Pass 2: copy the staged values in, visiting the module in the same order.
  std::size_t slot = 0;
  detail::for_each_state(module, [&](std::string_view, auto& item) {
    auto& t = detail::state_tensor(item);
    using Tn = std::remove_cvref_t<decltype(t)>;
    using E = typename Tn::value_type;
    using B = typename Tn::backend;
    if (const auto* values = std::get_if<std::vector<E>>(&staged.at(slot++)); values && !values->empty())
      transfer(cpu{}, B{}, values->data(), t.numel(), t.data());
  });
  return report;
}

template <Module M>
LoadReport load_safetensors(M& module, const std::filesystem::path& path, const LoadOptions& options = {}) {
  return load_safetensors(module, read_safetensors(path), options);
}

// Every parameter and buffer of a module, copied to the host under its state_dict name with
// `prefix` in front (torch's state_dict(prefix=...)), ready for write_safetensors.
template <Module M>
StoredTensors state_dict(M& module, std::string_view prefix = "") {
  StoredTensors tensors;
  detail::for_each_state(module, [&](std::string_view name, auto& item) {
    const auto& t = detail::state_tensor(item);
    check(t.defined(), "state_dict: the module's tensor '", name, "' is undefined");
    check(tensors.emplace(detail::concat(prefix, name), store(t)).second, "state_dict: the module names two tensors '",
          name, "'");
  });
  return tensors;
}

// Writes every parameter and buffer of a module, atomically.
template <Module M>
void save_safetensors(M& module, const std::filesystem::path& path, const SafetensorsMetadata& metadata = {}) {
  write_safetensors(path, state_dict(module), metadata);
}

}  // namespace hfc
