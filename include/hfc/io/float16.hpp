#pragma once
// IEEE half (binary16) and bfloat16 bit patterns widened to float. Both conversions are exact:
// every half and every bfloat16 value is a float, NaN payloads and the sign of zero included.
#include <bit>
#include <cmath>
#include <cstdint>

namespace hfc {

inline float float16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  // Rebias the exponent from 15 to 127, except for infinities and NaNs (all ones stays all ones).
  const std::uint32_t float_exponent = exponent == 0x1fu ? 0xffu : exponent + (127 - 15);
  return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
}

// bfloat16 is the upper half of a float.
inline float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace hfc
