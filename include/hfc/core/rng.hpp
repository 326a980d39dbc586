#pragma once
// A seedable, platform-independent random generator. std::mt19937_64's output sequence is fixed
// by the standard; the distributions are ours (the standard library's are not portable), so a
// seed gives the same weights and data on every compiler.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace hfc {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  void seed(std::uint64_t s) {
    engine_.seed(s);
    has_spare_ = false;
  }
  std::uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }
  // Standard normal by Box-Muller.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// The generator modules draw their initial weights from unless given one; seed it with
// hfc::manual_seed as you would torch.manual_seed.
inline Rng& default_rng() {
  static Rng rng(0);
  return rng;
}
inline void manual_seed(std::uint64_t seed) { default_rng().seed(seed); }

}  // namespace hfc
