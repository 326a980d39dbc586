// The cuda backend's algorithms run on the host (host_executor.cuh) against the cpu backend: every
// case of cases.hpp, with the same bounds as on the GPU. This runs everywhere, GPU or not, so CI
// tests the backend's indexing, chunking and algebra; test_layers_cuda.cu runs the same cases on
// the GPU itself.
#include <doctest/doctest.h>

#include "host_executor.cuh"

#include "compare.hpp"

using namespace hfc;

TEST_CASE("the cuda backend's algorithms, run on the host, match the cpu backend in every case") {
  test::check_all_cases_against_cpu<cuda_on_host>();
}
