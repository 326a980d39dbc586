#pragma once
// A whole file into memory, for the readers that parse from bytes (safetensors, images).
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "hfc/core/error.hpp"

namespace hfc {

// `what` names the kind of file in messages ("image", "weights file").
inline std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, const char* what = "file") {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  check(!ec, "cannot read ", what, " ", path.string(), ": ", ec.message());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  check(file != nullptr, "cannot open ", what, " ", path.string(), ": ", std::strerror(errno));
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  check(std::fread(bytes.data(), 1, bytes.size(), file.get()) == bytes.size(), "cannot read the ", size,
        " bytes of ", what, " ", path.string(), " (did it shrink?)");
  return bytes;
}

}  // namespace hfc
