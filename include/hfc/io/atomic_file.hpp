#pragma once
// Whole-file writes that a reader never sees half done: the content goes to a new temporary file
// in the target's directory (same file system, so the rename is atomic), is flushed and fsync'ed,
// and is renamed over the target. On any failure the temporary file is removed, the target is left
// as it was, and an hfc::Error names the path. POSIX (fsync, getpid).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "hfc/core/error.hpp"

namespace hfc {

// Writes bytes to an open file; `path` names it in the error.
inline void write_bytes(std::FILE* file, std::span<const std::byte> bytes, const std::filesystem::path& path) {
  if (bytes.empty()) return;
  check(std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size(), "cannot write ", bytes.size(),
        " bytes to ", path, ": ", std::strerror(errno));
}

namespace detail {

// target's name + ".tmp.<pid>.<random>", beside it.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
  std::random_device entropy;
  const auto suffix = (static_cast<unsigned long long>(entropy()) << 32) | entropy();
  char tail[48];
  std::snprintf(tail, sizeof tail, ".tmp.%ld.%016llx", static_cast<long>(::getpid()), suffix);
  auto tmp = target;
  tmp += tail;
  return tmp;
}

// Makes the rename itself durable. Best effort: some file systems refuse fsync on directories.
inline void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace detail

// Calls write(std::FILE*, const std::filesystem::path& temporary) to produce the content, then
// publishes it at `target`. An exception from write aborts the publication and propagates.
template <class Write>
void write_file_atomically(const std::filesystem::path& target, Write&& write) {
  const auto tmp = detail::temporary_sibling(target);
  std::FILE* file = std::fopen(tmp.c_str(), "wbx");  // x: never reuse an existing file
  check(file != nullptr, "cannot create ", tmp, " to write ", target, ": ", std::strerror(errno));
  auto discard = [&] {
    if (file) std::fclose(file);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  };
  try {
    write(file, tmp);
    check(std::fflush(file) == 0, "cannot flush ", tmp, " (for ", target, "): ", std::strerror(errno));
    check(::fsync(::fileno(file)) == 0, "cannot sync ", tmp, " (for ", target, "): ", std::strerror(errno));
    const int closed = std::fclose(file);
    file = nullptr;
    check(closed == 0, "cannot close ", tmp, " (for ", target, "): ", std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(tmp, target, ec);
    check(!ec, "cannot rename ", tmp, " to ", target, ": ", ec.message());
  } catch (...) {
    discard();
    throw;
  }
  detail::sync_directory(target.parent_path());
}

}  // namespace hfc
