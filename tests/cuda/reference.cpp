#include "reference.hpp"

#include <Eigen/Dense>

#include "../matrices.hpp"

#include <hfc/hfc.hpp>

#include "cases.hpp"

namespace hfc::test {

std::vector<double> reference_singular_values(const std::vector<float>& a, std::int64_t batch, std::int64_t m,
                                              std::int64_t n) {
  const std::int64_t k = std::min(m, n);
  std::vector<double> out;
  for (std::int64_t b = 0; b < batch; ++b) {
    MatrixD A(m, n);
    for (std::int64_t i = 0; i < m * n; ++i) A.data()[i] = a[static_cast<std::size_t>(b * m * n + i)];
    const Eigen::VectorXd s = Eigen::JacobiSVD<MatrixD>(A).singularValues();
    for (std::int64_t i = 0; i < k; ++i) out.push_back(s(i));
  }
  return out;
}

std::vector<float> matrices_with_singular_values(std::int64_t batch, std::int64_t m, std::int64_t n,
                                                 const std::vector<double>& sigma, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> out;
  for (std::int64_t b = 0; b < batch; ++b) {
    const MatrixD a = with_singular_values(m, n, sigma, rng);
    for (Eigen::Index i = 0; i < a.size(); ++i) out.push_back(static_cast<float>(a.data()[i]));
  }
  return out;
}

std::vector<float> reference_ideal_filter(const std::vector<float>& x, std::int64_t maps, std::int64_t h,
                                          std::int64_t w, bool high_pass, double cutoff) {
  const auto t = Tensor<float>::from(Shape{maps, h, w}, x);
  return high_pass ? frequency_filter(t, IdealHighPass{cutoff}).to_vector()
                   : frequency_filter(t, IdealLowPass{cutoff}).to_vector();
}

Outputs reference_case(const std::string& name) {
  static const auto cases = all_cases<cpu>();
  return cases.at(name)();
}

}  // namespace hfc::test
