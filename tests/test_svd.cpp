#include <Eigen/Dense>
#include <omp.h>

#include <limits>

#include "matrices.hpp"
#include "support.hpp"

using namespace hfc;

namespace {

using test::MatrixD;
using test::with_singular_values;

Tensor<float> as_float_batch(const std::vector<MatrixD>& mats) {
  const auto m = mats[0].rows(), n = mats[0].cols();
  auto t = Tensor<float>::empty(Shape{std::int64_t(mats.size()), m, n});
  for (std::size_t b = 0; b < mats.size(); ++b)
    for (Eigen::Index i = 0; i < m * n; ++i) t.data()[std::int64_t(b) * m * n + i] = float(mats[b].data()[i]);
  return t;
}

// Checks singular values against Eigen's double JacobiSVD of the same (float-rounded) matrix
// to 1e-5 * s_max, and U, V orthonormal with A == U diag(s) V^T.
void check_svd(const Tensor<float>& a, double sv_tol = 1e-5) {
  const auto r = svd(a);
  const std::int64_t batch = a.size(0), m = a.size(1), n = a.size(2), k = std::min(m, n);
  for (std::int64_t b = 0; b < batch; ++b) {
    MatrixD A(m, n);
    for (Eigen::Index i = 0; i < m * n; ++i) A.data()[i] = a.data()[b * m * n + i];
    const Eigen::JacobiSVD<MatrixD> ref(A);
    const double smax = std::max(ref.singularValues()(0), 1e-30);
    double sv_err = 0;
    for (std::int64_t i = 0; i < k; ++i) sv_err = std::max(sv_err, std::abs(r.S(b, i) - ref.singularValues()(i)));
    CHECK(sv_err <= sv_tol * smax);
    for (std::int64_t i = 1; i < k; ++i) CHECK(r.S(b, i) <= r.S(b, i - 1));
    MatrixD U(m, k), V(n, k);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < k; ++j) U(i, j) = r.U(b, i, j);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < k; ++j) V(i, j) = r.V(b, i, j);
    CHECK((U.transpose() * U - MatrixD::Identity(k, k)).cwiseAbs().maxCoeff() < 1e-5);
    CHECK((V.transpose() * V - MatrixD::Identity(k, k)).cwiseAbs().maxCoeff() < 1e-5);
    Eigen::VectorXd s(k);
    for (std::int64_t i = 0; i < k; ++i) s(i) = r.S(b, i);
    CHECK((U * s.asDiagonal() * V.transpose() - A).cwiseAbs().maxCoeff() < 1e-5 * smax);
  }
}

}  // namespace

// Up to k = 128 the lane solver runs; beyond it Eigen's (140 x 136).
TEST_CASE("svd (float): random square, tall and wide matrices match double JacobiSVD to 1e-5 s_max") {
  Rng rng(11);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{7, 7}, {14, 14}, {28, 28}, {56, 56}, {112, 112}, {9, 5}, {5, 9},
                      {1, 4}, {140, 136}}) {
    INFO(m, "x", n);
    check_svd(init::normal<float>(Shape{3, m, n}, 0.0, 1.0, rng));
  }
}

TEST_CASE("svd (float): rank-deficient, repeated and widely spread singular values") {
  Rng rng(12);
  for (std::int64_t n : {7, 32, 56, 112}) {
    INFO("n = ", n);
    std::vector<MatrixD> mats;
    std::vector<double> rank3 = {5.0, 2.0, 1.0};
    mats.push_back(with_singular_values(n, n, rank3, rng));
    std::vector<double> repeated(static_cast<std::size_t>(n), 1.0);
    mats.push_back(with_singular_values(n, n, repeated, rng));
    std::vector<double> clustered(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) clustered[std::size_t(i)] = i < n / 2 ? 3.0 : 1e-3;
    mats.push_back(with_singular_values(n, n, clustered, rng));
    std::vector<double> graded(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) graded[std::size_t(i)] = std::pow(10.0, -6.0 * double(i) / double(n));
    mats.push_back(with_singular_values(n, n, graded, rng));
    mats.push_back(MatrixD::Zero(n, n));
    check_svd(as_float_batch(mats));
  }
  // A rank-1 rectangular matrix, as a constant map gives.
  check_svd(Tensor<float>::full(Shape{1, 6, 10}, 0.5f));
}

// The float path takes up to eight matrices at a time, one per SIMD lane, each converging at its
// own pace: full and partly filled groups, mixing easy and hard matrices.
TEST_CASE("svd (float): batches that fill eight lanes and leave some empty") {
  Rng rng(15);
  std::vector<MatrixD> mats;
  for (int i = 0; i < 19; ++i) {
    std::vector<double> values(20);
    for (int j = 0; j < 20; ++j) values[std::size_t(j)] = i % 3 == 0 ? (j < 4 ? 1.0 : 0.0) : std::pow(10.0, -0.2 * j * (i % 5));
    mats.push_back(i % 4 == 1 ? MatrixD(MatrixD::Random(20, 20)) : with_singular_values(20, 20, values, rng));
  }
  const auto batch = as_float_batch(mats);
  check_svd(batch);
  for (int threads : {1, 3}) {  // other groupings of the same batch give the same values
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    const auto values = svd(batch, false).S;
    omp_set_num_threads(saved);
    CHECK(test::max_rel_error(values, svd(batch, false).S) < 1e-6);
  }
}

// A diverging training run feeds NaN and inf: those matrices get NaN singular values (never a
// crash, never a silent zero), and the matrices sharing their lane group are unaffected.
TEST_CASE("svd (float): non-finite matrices give NaN, their neighbours stay exact") {
  Rng rng(16);
  auto a = init::normal<float>(Shape{4, 14, 14}, 0.0, 1.0, rng);
  a(1, 3, 4) = std::numeric_limits<float>::quiet_NaN();
  a(2, 0, 0) = std::numeric_limits<float>::infinity();
  for (bool vectors : {true, false}) {
    const auto r = svd(a, vectors);
    for (std::int64_t b : {1, 2})
      for (std::int64_t i = 0; i < 14; ++i) CHECK(std::isnan(r.S(b, i)));
    auto finite = Tensor<float>::empty(Shape{2, 14, 14});
    std::copy(a.data(), a.data() + 196, finite.data());
    std::copy(a.data() + 3 * 196, a.data() + 4 * 196, finite.data() + 196);
    const auto ref = svd(finite, false);
    for (std::int64_t i = 0; i < 14; ++i) {
      CHECK(r.S(0, i) == doctest::Approx(ref.S(0, i)).epsilon(1e-6));
      CHECK(r.S(3, i) == doctest::Approx(ref.S(1, i)).epsilon(1e-6));
    }
  }
}

TEST_CASE("svd without vectors gives the same singular values") {
  Rng rng(13);
  const auto a = init::normal<float>(Shape{2, 3, 12, 8}, 0.0, 1.0, rng);
  const auto full = svd(a), values = svd(a, false);
  CHECK(values.S.shape() == Shape{2, 3, 8});
  CHECK_FALSE(values.U.defined());
  CHECK(test::max_rel_error(values.S, full.S) < 1e-6);
}

TEST_CASE("svd_backward: dA = U diag(dS) V^T matches finite differences (double)") {
  Rng rng(14);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{6, 6}, {7, 4}, {3, 8}}) {
    INFO(m, "x", n);
    auto a = test::random_tensor<double>(Shape{2, m, n}, rng);
    const auto weights = test::random_tensor<double>(Shape{2, std::min(m, n)}, rng);
    auto loss = [&] { return test::dot(svd(a, false).S, weights); };
    const auto grad = svd_backward(svd(a), weights);
    test::check_gradient("svd input", a, grad, loss, rng, 40, 1e-7);
  }
}

TEST_CASE("svd rejects bad shapes") {
  CHECK_THROWS_WITH_AS(svd(Tensor<float>({5})), doctest::Contains("rank >= 2"), Error);
  CHECK_THROWS_WITH_AS(svd(Tensor<float>({2, 0, 3})), doctest::Contains("zero-size"), Error);
  const auto r = svd(Tensor<float>({2, 3, 3}), false);
  CHECK_THROWS_WITH_AS(svd_backward(r, Tensor<float>({2, 3})), doctest::Contains("without U and V"), Error);
  const auto full = svd(Tensor<float>({2, 3, 3}));
  CHECK_THROWS_WITH_AS(svd_backward(full, Tensor<float>({2, 4})), doctest::Contains("dS"), Error);
}
