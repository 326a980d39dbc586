#pragma once
// stb_image and stb_image_write for a header-only library: the implementations are compiled as
// static functions into every translation unit that includes this header, so no .cpp file has to
// define STB_IMAGE_IMPLEMENTATION and several translation units never clash at link time. Include
// stb through this header (never stb_image.h directly with its own IMPLEMENTATION define) so a
// program has one copy per translation unit and one way in.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG  // readable reasons from stbi_failure_reason()
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"  // a translation unit uses few of stb's statics
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
