#pragma once
// The whole of a string as a number: no leading blanks, no trailing characters, no overflow
// (std::stoi would take "12abc" as 12 and throw bare "stoi" messages).
#include <charconv>
#include <string_view>
#include <system_error>

namespace hfc {

template <class T>
bool parse_number(std::string_view text, T& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace hfc
