#pragma once
// Seeds derived from a base seed and indices (epoch, sample position), so that each sample's
// randomness depends on what it is and not on which thread or in which order it was produced;
// and a shuffle that gives the same permutation on every platform.
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "hfc/core/rng.hpp"

namespace hfc::detail {

// SplitMix64's finaliser: a bijective mix that spreads every input bit over the output.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> indices) {
  std::uint64_t h = splitmix64(seed);
  for (const std::uint64_t i : indices) h = splitmix64(h ^ splitmix64(i));
  return h;
}

// Fisher-Yates with hfc::Rng (std::shuffle's permutation differs between standard libraries).
template <class T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace hfc::detail
