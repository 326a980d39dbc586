#pragma once
// Host-side references for the CUDA tests, compiled by the host compiler (reference.cpp) so that
// the .cu files never see Eigen.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hfc::test {

// Singular values of `batch` m x n row-major float matrices by Eigen's double JacobiSVD.
std::vector<double> reference_singular_values(const std::vector<float>& a, std::int64_t batch, std::int64_t m,
                                              std::int64_t n);
// `batch` m x n matrices with the given singular values (zero-padded), random orthogonal factors.
std::vector<float> matrices_with_singular_values(std::int64_t batch, std::int64_t m, std::int64_t n,
                                                 const std::vector<double>& sigma, std::uint64_t seed);

// The cpu backend's ideal high-pass (or low-pass) filter of `maps` h x w float maps.
std::vector<float> reference_ideal_filter(const std::vector<float>& x, std::int64_t maps, std::int64_t h,
                                          std::int64_t w, bool high_pass, double cutoff);

// The case of cases.hpp with this name, run on the cpu backend: its named results.
std::vector<std::pair<std::string, std::vector<float>>> reference_case(const std::string& name);

}  // namespace hfc::test
