#pragma once
// One attention module a network inserts: the paper's HfcAttention or the BAM baseline. A
// closed set, so a std::variant rather than a virtual interface: the layer contract stays
// templated (visitors are generic lambdas) and dispatch is a switch.
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

#include "hfc/core/module.hpp"
#include "hfc/nn/bam.hpp"
#include "hfc/nn/hfc_attention.hpp"

namespace hfc {

template <Scalar T, Backend B = cpu>
class AttentionModule {
 public:
  using value_type = T;
  using backend_type = B;

  template <class M, class... Args>
  explicit AttentionModule(std::in_place_type_t<M> type, Args&&... args) : module_(type, std::forward<Args>(args)...) {}

  Tensor<T, B> forward(const Tensor<T, B>& x) {
    return std::visit([&](auto& m) { return m.forward(x); }, module_);
  }
  Tensor<T, B> backward(const Tensor<T, B>& dy) {
    return std::visit([&](auto& m) { return m.backward(dy); }, module_);
  }
  void train(bool on = true) {
    std::visit([&](auto& m) { m.train(on); }, module_);
  }
  void eval() { train(false); }
  bool is_training() const {
    return std::visit([](const auto& m) { return m.is_training(); }, module_);
  }
  template <class F>
  void for_each_parameter(F&& f) {
    std::visit([&](auto& m) { m.for_each_parameter(f); }, module_);
  }
  template <class F>
  void for_each_buffer(F&& f) {
    std::visit([&](auto& m) { m.for_each_buffer(f); }, module_);
  }

  std::int64_t channels() const {
    return std::visit([](const auto& m) { return m.channels(); }, module_);
  }
  bool is_bam() const { return std::holds_alternative<Bam<T, B>>(module_); }
  HfcAttention<T, B>& hfc_attention() { return get<HfcAttention<T, B>>("an HfcAttention"); }
  Bam<T, B>& bam() { return get<Bam<T, B>>("a Bam"); }

 private:
  template <class M>
  M& get(std::string_view what) {
    auto* m = std::get_if<M>(&module_);
    check(m != nullptr, "AttentionModule: this module is not ", what);
    return *m;
  }
  std::variant<HfcAttention<T, B>, Bam<T, B>> module_;
};

}  // namespace hfc
