#pragma once
// Whether forward passes keep what backward needs, as torch.no_grad() toggles it. Independent of
// train()/eval(), which switch layer behaviour (BatchNorm, Dropout) only.
namespace hfc {

namespace detail {
inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

inline bool grad_enabled() { return detail::grad_enabled_flag(); }

// RAII: forward passes in this scope keep nothing for backward.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { detail::grad_enabled_flag() = false; }
  ~NoGradGuard() { detail::grad_enabled_flag() = previous_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace hfc
