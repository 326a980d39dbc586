# Finds what the hfcnet INTERFACE target links to. Used by the build tree and,
# installed beside hfcnetConfig.cmake, by consumers after `cmake --install`.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

find_dependency(Eigen3 3.4 REQUIRED NO_MODULE)
find_dependency(OpenMP REQUIRED COMPONENTS CXX)
# The safetensors reader parses its JSON header with nlohmann-json (header-only).
find_dependency(nlohmann_json 3.10 REQUIRED)

# The data layer reads JAFFE's TIFF images through libtiff (CMake's FindTIFF: TIFF::TIFF).
find_dependency(TIFF REQUIRED)
# stb_image / stb_image_write (PNG, JPEG, BMP) are headers without a CMake config: find their
# folder and wrap it in an imported target, whose include directory is a system one (stb's code
# is not warning-clean). hfc/io/detail/stb.hpp compiles them as static functions per translation unit.
if(NOT TARGET hfcnet_stb)
  find_path(HFC_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
  add_library(hfcnet_stb INTERFACE IMPORTED GLOBAL)
  set_target_properties(hfcnet_stb PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${HFC_STB_INCLUDE_DIR}")
endif()

# Debian ships no CMake config for FFTW3, so go through pkg-config. We need the
# float (fftw3f) and double (fftw3) libraries: double runs the gradient checks.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::HFC_FFTW3)
  pkg_check_modules(HFC_FFTW3 REQUIRED IMPORTED_TARGET GLOBAL fftw3 fftw3f)
endif()

# Eigen runs the GEMMs of the CPU backend. OpenBLAS can be asked for (HFC_USE_OPENBLAS), but
# called from inside our OpenMP loops it measured 2.5-4x slower than Eigen (docs/dependencies.md).
if(NOT DEFINED HFC_USE_OPENBLAS)
  set(HFC_USE_OPENBLAS OFF)
endif()
if(HFC_USE_OPENBLAS AND NOT TARGET PkgConfig::HFC_OPENBLAS)
  pkg_check_modules(HFC_OPENBLAS QUIET IMPORTED_TARGET GLOBAL openblas)
endif()
