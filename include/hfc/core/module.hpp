#pragma once
// The layer contract (dlib/Caffe style: explicit forward and backward, no tape).
//
//   Tensor forward(const Tensor& x);      keeps what backward needs unless a NoGradGuard is active
//   Tensor backward(const Tensor& dy);    returns dL/dx and adds into the parameters' grads
//   void train(bool on = true);  void eval();  bool is_training() const;
//   template <class F> void for_each_parameter(F&& f);  // f(std::string_view name, Parameter&)
//   template <class F> void for_each_buffer(F&& f);     // f(std::string_view name, Tensor<E, B>&)
//
// Composite modules visit their children with the child's name as a dotted prefix, so names
// are torchvision's state_dict keys.
#include <cstdint>
#include <string>
#include <string_view>

#include "hfc/core/parameter.hpp"

namespace hfc {

namespace detail {
template <class T, class B>
struct ParameterProbe {
  void operator()(std::string_view, Parameter<T, B>&) const {}
};
struct BufferProbe {  // buffers are Tensor<T, B> or, like num_batches_tracked, int64 host tensors
  template <class E, class B>
  void operator()(std::string_view, Tensor<E, B>&) const {}
};
}  // namespace detail

template <class M>
concept Module = requires(M& m, const M& cm, const Tensor<typename M::value_type, typename M::backend_type>& x) {
  { m.forward(x) } -> std::same_as<Tensor<typename M::value_type, typename M::backend_type>>;
  { m.backward(x) } -> std::same_as<Tensor<typename M::value_type, typename M::backend_type>>;
  m.train(true);
  m.eval();
  { cm.is_training() } -> std::convertible_to<bool>;
  m.for_each_parameter(detail::ParameterProbe<typename M::value_type, typename M::backend_type>{});
  m.for_each_buffer(detail::BufferProbe{});
};

// Wraps a visitor so that the names it sees carry `prefix.` in front.
template <class F>
auto prefixed(std::string_view prefix, F& f) {
  return [prefix, &f](std::string_view name, auto& item) {
    std::string full;
    full.reserve(prefix.size() + 1 + name.size());
    full.append(prefix).append(".").append(name);
    f(std::string_view(full), item);
  };
}

template <Module M>
std::int64_t parameter_count(M& m) {
  std::int64_t n = 0;
  m.for_each_parameter([&](std::string_view, auto& p) { n += p.value.numel(); });
  return n;
}

template <Module M>
void zero_grad(M& m) {
  m.for_each_parameter([](std::string_view, auto& p) { p.zero_grad(); });
}

// Holds the train/eval flag for a module; composite modules forward train() to their children.
class TrainingFlag {
 public:
  bool is_training() const { return training_; }

 protected:
  bool training_ = true;
};

// Base of the layers without parameters or buffers (activations, pooling, reshaping, dropout).
class ParameterlessLayer : public TrainingFlag {
 public:
  void train(bool on = true) { training_ = on; }
  void eval() { train(false); }
  template <class F>
  void for_each_parameter(F&&) {}
  template <class F>
  void for_each_buffer(F&&) {}
};

// The error of a backward that has nothing to work from.
inline void check_forward_kept(bool kept, const char* layer) {
  check(kept, layer, "::backward called without a forward pass that kept its input "
                     "(none ran, it ran under NoGradGuard, or backward already consumed it)");
}

}  // namespace hfc
