#pragma once
// 8-bit images in memory and on disk: hfc::Image (gray or RGB), decoded from PNG, JPEG and BMP by
// stb_image, from TIFF by libtiff (JAFFE ships TIFF), and encoded as PNG by stb_image_write.
// Every failure raises hfc::Error naming the file and the reason.
#include <tiffio.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hfc/core/error.hpp"
#include "hfc/io/detail/stb.hpp"
#include "hfc/io/read_file.hpp"

namespace hfc {

// Row-major pixels with the channels interleaved: 1 channel is gray, 3 is RGB. Alpha is dropped
// when decoding (not composited), as the datasets here carry none.
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int w, int h, int c, std::uint8_t value = 0) : width(w), height(h), channels(c) {
    check(w > 0 && h > 0, "Image: size must be positive, got ", w, "x", h);
    check(c == 1 || c == 3, "Image: channels must be 1 (gray) or 3 (RGB), got ", c);
    pixels.assign(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * static_cast<std::size_t>(c), value);
  }

  bool empty() const { return pixels.empty(); }
  std::size_t index(int y, int x, int c = 0) const {
    return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
               static_cast<std::size_t>(channels) + static_cast<std::size_t>(c);
  }
  std::uint8_t& at(int y, int x, int c = 0) { return pixels[index(y, x, c)]; }
  std::uint8_t at(int y, int x, int c = 0) const { return pixels[index(y, x, c)]; }
};

// Luma with ITU-R 601 weights in PIL's fixed point, as Image.convert("L") (and so torchvision's
// Grayscale on PIL images) computes it. A gray image is returned unchanged.
inline Image to_gray(const Image& image) {
  if (image.channels == 1) return image;
  check(image.channels == 3, "to_gray: expected a gray or RGB image, got ", image.channels, " channels");
  Image gray(image.width, image.height, 1);
  const std::uint8_t* rgb = image.pixels.data();
  for (std::size_t i = 0; i < gray.pixels.size(); ++i, rgb += 3)
    gray.pixels[i] = static_cast<std::uint8_t>((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
  return gray;
}

// Decodes a PNG, JPEG or BMP held in memory. `source` names it in errors.
inline Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source) {
  check(!bytes.empty(), "cannot decode image ", source, ": the file is empty");
  check(bytes.size() <= static_cast<std::size_t>(INT32_MAX), "cannot decode image ", source, ": larger than 2 GiB");
  const int length = static_cast<int>(bytes.size());
  int w = 0, h = 0, components = 0;
  if (!stbi_info_from_memory(bytes.data(), length, &w, &h, &components))
    fail("cannot decode image ", source, ": ", stbi_failure_reason(), " (PNG, JPEG, BMP and TIFF are read)");
  const int wanted = components <= 2 ? 1 : 3;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(bytes.data(), length, &w, &h, &components, wanted), stbi_image_free);
  if (!data) fail("cannot decode image ", source, ": ", stbi_failure_reason());
  Image image(w, h, wanted);
  std::memcpy(image.pixels.data(), data.get(), image.pixels.size());
  return image;
}

namespace detail {

inline bool has_tiff_signature(std::span<const std::uint8_t> b) {
  return b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                           (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42));
}

// libtiff reports through callbacks; keep its first error for our message and drop its warnings
// (unknown private tags are common and harmless) instead of printing them to stderr.
inline int keep_first_tiff_error(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
  auto& message = *static_cast<std::string*>(user_data);
  if (message.empty()) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    message = std::string(module ? module : "libtiff") + ": " + text;
  }
  return 1;
}
inline int ignore_tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace detail

// Reads the first page of a TIFF file through libtiff's RGBA interface, which handles every bit
// depth and photometric interpretation it knows. Gray (min-is-black or min-is-white) images come
// back with 1 channel, the rest as RGB.
inline Image read_tiff(const std::filesystem::path& path) {
  std::string error;
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), detail::keep_first_tiff_error, &error);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), detail::ignore_tiff_warning, nullptr);
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpenExt(path.c_str(), "r", options.get()), TIFFClose);
  if (!tif) fail("cannot read TIFF image ", path.string(), ": ", error.empty() ? "cannot open the file" : error);

  std::uint32_t w = 0, h = 0;
  std::uint16_t photometric = PHOTOMETRIC_RGB;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
  check(w > 0 && h > 0 && std::uint64_t(w) * h <= (std::uint64_t(1) << 28), "cannot read TIFF image ",
        path.string(), ": unsupported size ", w, "x", h);
  std::vector<std::uint32_t> raster(std::size_t(w) * h);
  if (!TIFFReadRGBAImageOriented(tif.get(), w, h, raster.data(), ORIENTATION_TOPLEFT, 0))
    fail("cannot read TIFF image ", path.string(), ": ", error.empty() ? "corrupt or unsupported data" : error);

  const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
  Image image(static_cast<int>(w), static_cast<int>(h), gray ? 1 : 3);
  std::uint8_t* out = image.pixels.data();
  for (const std::uint32_t abgr : raster) {
    *out++ = static_cast<std::uint8_t>(TIFFGetR(abgr));
    if (!gray) {
      *out++ = static_cast<std::uint8_t>(TIFFGetG(abgr));
      *out++ = static_cast<std::uint8_t>(TIFFGetB(abgr));
    }
  }
  return image;
}

// Reads a PNG, JPEG, BMP or TIFF file, chosen by its contents rather than its name.
inline Image read_image(const std::filesystem::path& path) {
  const auto file = read_file_bytes(path, "image");
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(file.data()), file.size());
  if (detail::has_tiff_signature(bytes)) return read_tiff(path);
  return decode_image(bytes, path.string());
}

inline std::vector<std::uint8_t> encode_png(const Image& image) {
  check(!image.empty() && (image.channels == 1 || image.channels == 3),
        "encode_png: expected a non-empty gray or RGB image");
  std::vector<std::uint8_t> bytes;
  auto append = [](void* context, void* data, int size) {
    auto& out = *static_cast<std::vector<std::uint8_t>*>(context);
    const auto* p = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), p, p + size);
  };
  if (!stbi_write_png_to_func(append, &bytes, image.width, image.height, image.channels, image.pixels.data(),
                              image.width * image.channels))
    fail("encode_png: stb_image_write failed for a ", image.width, "x", image.height, " image");
  return bytes;
}

inline void write_png(const std::filesystem::path& path, const Image& image) {
  const auto bytes = encode_png(image);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write PNG ", path.string(), ": ", std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  check(out.good(), "cannot write PNG ", path.string(), ": ", std::strerror(errno));
}

}  // namespace hfc
