# Finds what the hfcnet INTERFACE target links to. Used by the build tree and,
# installed beside hfcnetConfig.cmake, by consumers after `cmake --install`.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

find_dependency(Eigen3 3.4 REQUIRED NO_MODULE)
find_dependency(OpenMP REQUIRED COMPONENTS CXX)
# The safetensors reader parses its JSON header with nlohmann-json (header-only).
find_dependency(nlohmann_json 3.10 REQUIRED)

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
