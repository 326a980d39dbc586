// libFuzzer target for the safetensors reader (built by tests/fuzz/CMakeLists.txt with
// -fsanitize=fuzzer,address,undefined). Any input must either parse or raise hfc::Error; anything
// else (a crash, a sanitizer report, another exception) is a finding. What parses must decode, and
// must survive a write and a second read unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "hfc/io/safetensors_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hfc::SafetensorsFile file;
  try {
    file = hfc::SafetensorsFile::from_bytes(std::as_bytes(std::span(data, size)), "<fuzz input>");
  } catch (const hfc::Error&) {
    return 0;
  }
  for (const auto& [name, tensor] : file.tensors) {
    if (hfc::is_floating(tensor.dtype)) {
      (void)file.values<double>(name);
    } else {
      (void)file.values<std::int64_t>(name);
    }
  }
  const auto again = hfc::SafetensorsFile::from_bytes(hfc::serialize_safetensors(file.tensors, file.metadata));
  if (again.tensors != file.tensors || again.metadata != file.metadata) std::abort();
  return 0;
}
