#pragma once
// What the paper's networks are built with: input channels, classes and the attention they carry.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfc/nn/attention_module.hpp"

namespace hfc {

// Which attention the networks carry (the paper's Tables 1 and 2).
enum class Attention { none, hfc, lfc, hfc_lfc, hfc_lfc_hl, bam_official, bam_paper };

struct NetworkOptions {
  std::int64_t in_channels = 1;
  std::int64_t num_classes = 7;
  Attention attention = Attention::none;
  HfcOptions hfc{};          // filter family and cutoff; queries follow `attention`
  BamOptions bam{};          // reduction and dilation; the preset follows `attention`
  std::int64_t width = 64;   // ResNet18's first stage; 64 is torchvision's (smaller for tests).
                             // MobileNetV2 ignores it.
};

namespace detail {
inline std::optional<QuerySet> query_set(Attention a) {
  switch (a) {
    case Attention::hfc: return QuerySet::hfc;
    case Attention::lfc: return QuerySet::lfc;
    case Attention::hfc_lfc: return QuerySet::hfc_lfc;
    case Attention::hfc_lfc_hl: return QuerySet::hfc_lfc_hl;
    default: return std::nullopt;
  }
}

// The attention modules a network inserts, one per listed channel count (none for
// Attention::none): HfcAttention with the network's filter options and the query set of
// `attention`, or Bam with the network's BAM options and the preset of `attention`.
template <Scalar T, Backend B>
std::vector<std::unique_ptr<AttentionModule<T, B>>> make_attention(const NetworkOptions& o,
                                                                   std::initializer_list<std::int64_t> channels,
                                                                   Rng& rng) {
  std::vector<std::unique_ptr<AttentionModule<T, B>>> modules;
  if (o.attention == Attention::none) return modules;
  for (std::int64_t c : channels) {
    if (const auto queries = query_set(o.attention)) {
      HfcOptions h = o.hfc;
      h.queries = *queries;
      modules.push_back(std::make_unique<AttentionModule<T, B>>(std::in_place_type<HfcAttention<T, B>>, c, h, rng));
    } else {
      BamOptions b = o.bam;
      b.preset = o.attention == Attention::bam_paper ? BamPreset::paper : BamPreset::official;
      modules.push_back(std::make_unique<AttentionModule<T, B>>(std::in_place_type<Bam<T, B>>, c, b, rng));
    }
  }
  return modules;
}

// The checks both networks make of their options and of each input.
inline const NetworkOptions& checked_options(const NetworkOptions& o, const char* network) {
  check(o.in_channels > 0 && o.num_classes > 0 && o.width > 0, network,
        ": in_channels, num_classes and width must be positive, got ", o.in_channels, ", ", o.num_classes, ", ", o.width);
  return o;
}
template <Scalar T, Backend B>
void check_network_input(const Tensor<T, B>& x, const NetworkOptions& o, const char* network) {
  check(x.defined() && x.rank() == 4, network, ": input must be [N, C, H, W], got shape ", x.shape());
  check(x.size(1) == o.in_channels, network, ": input of shape ", x.shape(), " has ", x.size(1),
        " channels, the network was built for ", o.in_channels);
}

// Visits the parameters, or the buffers, of attention modules as attention.{i}.*.
template <class Modules, class F>
void for_each_attention_parameter(Modules& modules, F& f) {
  for (std::size_t i = 0; i < modules.size(); ++i)
    modules[i]->for_each_parameter(prefixed("attention." + std::to_string(i), f));
}
template <class Modules, class F>
void for_each_attention_buffer(Modules& modules, F& f) {
  for (std::size_t i = 0; i < modules.size(); ++i)
    modules[i]->for_each_buffer(prefixed("attention." + std::to_string(i), f));
}

}  // namespace detail

}  // namespace hfc
