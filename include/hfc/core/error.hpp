#pragma once
// hfc::Error and the checks that raise it. Every message names the thing that is wrong
// (the tensor, option, file or line) and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>

namespace hfc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws hfc::Error with the parts streamed together.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

// Throws hfc::Error when `condition` is false. The parts are only formatted on failure.
template <class... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace hfc
