#include "support.hpp"

using namespace hfc;

namespace {

template <class T, class F>
void check_against_direct_dft(const F& filter, std::int64_t h, std::int64_t w, double tol) {
  INFO(F::name, " on ", h, "x", w, " maps");
  Rng rng(h * 100 + w);
  const auto x = test::random_tensor<double>(Shape{3, 1, h, w}, rng);
  const auto y = frequency_filter(x, filter);
  const auto xt = test::cast<T>(x);
  const auto yt = frequency_filter(xt, filter);
  Tensor<double> ref(x.shape());
  for (std::int64_t m = 0; m < 3; ++m) {
    const auto r = test::filter_by_direct_dft(x.data() + m * h * w, h, w, filter);
    std::copy(r.begin(), r.end(), ref.data() + m * h * w);
  }
  CHECK(test::max_rel_error(yt, ref) < tol);
  CHECK(test::max_rel_error(y, ref) < 1e-12);
}

}  // namespace

TEST_CASE("frequency filters match a direct DFT, float and double, even, odd and non-square maps") {
  for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{8, 8}, {7, 9}, {12, 5}, {1, 6}, {3, 1}}) {
    check_against_direct_dft<float>(IdealHighPass{0.25}, h, w, 2e-6);
    check_against_direct_dft<float>(IdealLowPass{0.5}, h, w, 2e-6);
    check_against_direct_dft<double>(GaussianHighPass{0.3}, h, w, 1e-12);
    check_against_direct_dft<double>(GaussianLowPass{0.3}, h, w, 1e-12);
    check_against_direct_dft<float>(ButterworthHighPass{0.4, 3}, h, w, 2e-6);
    check_against_direct_dft<float>(ButterworthLowPass{0.4, 1}, h, w, 2e-6);
  }
}

TEST_CASE("the ideal radius convention: r = |f| / 0.5 with numpy's fftfreq") {
  CHECK(fftfreq(3, 8) == 0.375);
  CHECK(fftfreq(4, 8) == -0.5);
  CHECK(fftfreq(3, 7) == doctest::Approx(3.0 / 7));
  CHECK(fftfreq(4, 7) == doctest::Approx(-3.0 / 7));
  // On an 8x8 map the frequency (fy, fx) = (0, 1/8) has r = 0.25: removed by a 0.25 high-pass
  // (it keeps r > cutoff), kept by the low-pass.
  const auto hp = half_spectrum_response<double>(IdealHighPass{0.25}, 8, 8);
  const auto lp = half_spectrum_response<double>(IdealLowPass{0.25}, 8, 8);
  CHECK(hp[1] == 0.0);
  CHECK(lp[1] == 1.0 / 64);
  CHECK(hp[2] == 1.0 / 64);  // (0, 2/8): r = 0.5
  CHECK(hp[0] == 0.0);       // DC
}

TEST_CASE("ideal high-pass + low-pass at one cutoff is the identity") {
  Rng rng(3);
  const auto x = test::random_tensor<double>(Shape{2, 4, 10, 6}, rng);
  auto sum = frequency_filter(x, IdealHighPass{0.3});
  add_(sum, frequency_filter(x, IdealLowPass{0.3}));
  CHECK(test::max_rel_error(sum, x) < 1e-13);
}

TEST_CASE("filters are self-adjoint: <F x, y> == <x, F y>, so the backward is the filter") {
  Rng rng(4);
  const AnyFilter filters[] = {IdealHighPass{0.25}, GaussianLowPass{0.2}, ButterworthHighPass{0.5, 2}};
  for (const auto& f : filters) {
    const auto x = test::random_tensor<double>(Shape{2, 1, 9, 6}, rng);
    const auto y = test::random_tensor<double>(Shape{2, 1, 9, 6}, rng);
    CHECK(test::dot(frequency_filter(x, f), y) == doctest::Approx(test::dot(x, frequency_filter_backward(y, f))).epsilon(1e-12));
  }
}

TEST_CASE("frequency_filter rejects bad cutoffs, orders and shapes") {
  Tensor<float> x({2, 1, 4, 4});
  CHECK_THROWS_WITH_AS(frequency_filter(x, IdealHighPass{0.0}), doctest::Contains("cutoff must be in (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(frequency_filter(x, GaussianLowPass{1.5}), doctest::Contains("got 1.5"), Error);
  CHECK_THROWS_AS(frequency_filter(x, IdealLowPass{-0.1}), Error);
  CHECK_THROWS_WITH_AS(frequency_filter(x, ButterworthHighPass{0.5, 0}), doctest::Contains("order"), Error);
  CHECK_THROWS_WITH_AS(frequency_filter(Tensor<float>({4}), IdealHighPass{}), doctest::Contains("rank >= 2"), Error);
  CHECK_THROWS_WITH_AS(frequency_filter(Tensor<float>({2, 0, 4}), IdealHighPass{}), doctest::Contains("zero-size"), Error);
  CHECK_NOTHROW(frequency_filter(x, IdealHighPass{1.0}));
}

TEST_CASE("frequency filter response tables are made once per filter, parameters and shape") {
  const auto a = cached_response<float, cpu>(IdealHighPass{0.25}, 14, 10);
  const auto b = cached_response<float, cpu>(IdealHighPass{0.25}, 14, 10);
  CHECK(a.shares_storage_with(b));
  CHECK_FALSE(a.shares_storage_with(cached_response<float, cpu>(IdealHighPass{0.3}, 14, 10)));
  CHECK_FALSE(a.shares_storage_with(cached_response<float, cpu>(IdealLowPass{0.25}, 14, 10)));
  CHECK_FALSE(a.shares_storage_with(cached_response<float, cpu>(IdealHighPass{0.25}, 10, 14)));
  CHECK_FALSE(cached_response<float, cpu>(ButterworthHighPass{0.25, 2}, 8, 8)
                  .shares_storage_with(cached_response<float, cpu>(ButterworthHighPass{0.25, 3}, 8, 8)));
  CHECK(a.shape() == Shape{14, 6});
  CHECK(a.to_vector() == half_spectrum_response<float>(IdealHighPass{0.25}, 14, 10));
}

TEST_CASE("frequency filter at any address: FFTW's SIMD plans for aligned maps, unaligned ones for the rest") {
  for (std::int64_t hw : {7, 28, 56}) {
    INFO(hw, "x", hw, " maps");
    const std::int64_t area = hw * hw;
    Rng rng(hw);
    // The same two maps at the start of a fresh (64-byte-aligned) tensor and one float further on.
    const auto aligned = test::random_tensor<float>(Shape{2, 1, hw, hw}, rng);
    auto storage = Tensor<float>::zeros(Shape{2 * area + 1});
    auto shifted = storage.narrow(1, 2 * area).reshape(aligned.shape());
    std::copy_n(aligned.data(), 2 * area, shifted.data());

    const auto& plans = cpu_backend::FftPlanCache<float>::instance().get(static_cast<int>(hw), static_cast<int>(hw));
    auto spectrum = Tensor<float>::empty(Shape{2 * hw * (hw / 2 + 1)});  // fresh: aligned
    const auto* cplx = reinterpret_cast<const std::complex<float>*>(spectrum.data());
    CHECK(&plans.for_arrays(aligned.data(), cplx, aligned.data()) == &plans.aligned);
    CHECK(&plans.for_arrays(shifted.data(), cplx, aligned.data()) == &plans.unaligned);
    CHECK(&plans.for_arrays(aligned.data(), cplx, shifted.data()) == &plans.unaligned);

    const GaussianHighPass filter{0.3};
    const auto from_aligned = frequency_filter(aligned, filter);
    auto into_shifted = Tensor<float>::zeros(Shape{2 * area + 1});
    auto shifted_out = into_shifted.narrow(1, 2 * area).reshape(aligned.shape());
    frequency_filter(shifted, filter, shifted_out);
    Tensor<double> ref(aligned.shape());
    for (std::int64_t m = 0; m < 2; ++m) {
      std::vector<double> map(aligned.data() + m * area, aligned.data() + (m + 1) * area);
      const auto r = test::filter_by_direct_dft(map.data(), hw, hw, filter);
      std::copy(r.begin(), r.end(), ref.data() + m * area);
    }
    CHECK(test::max_rel_error(from_aligned, ref) < 2e-6);
    CHECK(test::max_rel_error(shifted_out, ref) < 2e-6);
    CHECK(into_shifted.data()[0] == 0.0f);  // nothing written before the view
  }
}

TEST_CASE("band-limited filters go through a few Fourier modes and match a direct DFT") {
  // Ideal filters keep (or drop) a small disc of low frequencies: the cpu backend applies them
  // as four GEMMs with the real Fourier basis of that band (backend/cpu/band_filter.hpp).
  struct Case {
    AnyFilter filter;
    std::int64_t h, w, maps;
    bool complement;  // the band holds one minus the response (a high-pass)
  };
  const Case cases[] = {
      {IdealHighPass{0.25}, 56, 56, 3, true},  // the module's default: |k| <= 7 of 56
      {IdealLowPass{0.25}, 21, 15, 19, false},  // odd sides, maps not a multiple of the chunk
      {IdealHighPass{0.4}, 9, 40, 2, true},
      {IdealLowPass{0.05}, 8, 8, 2, false},  // the DC alone: the mean
      {IdealLowPass{0.25}, 12, 9, 3, false},  // even h, odd w
  };
  for (const auto& c : cases) {
    std::visit(
        [&](const auto& filter) {
          INFO(filter.name, " ", filter.cutoff, " on ", c.maps, " maps of ", c.h, "x", c.w);
          const auto table = half_spectrum_response<float>(filter, c.h, c.w);
          const auto plan = cpu_backend::band_plan(table.data(), c.h, c.w);
          REQUIRE(plan.has_value());
          CHECK(plan->complement == c.complement);
          CHECK(2 * plan->max_ky < c.h);
          CHECK(2 * plan->max_kx < c.w);
          Rng rng(c.h * 7 + c.w);
          const auto x = test::random_tensor<double>(Shape{c.maps, 1, c.h, c.w}, rng);
          Tensor<double> ref(x.shape());
          for (std::int64_t m = 0; m < c.maps; ++m) {
            const auto r = test::filter_by_direct_dft(x.data() + m * c.h * c.w, c.h, c.w, filter);
            std::copy(r.begin(), r.end(), ref.data() + m * c.h * c.w);
          }
          CHECK(test::max_rel_error(frequency_filter(x, filter), ref) < 1e-12);
          const auto xf = test::cast<float>(x);
          CHECK(test::max_rel_error(frequency_filter(xf, filter), ref) < 2e-6);
          auto in_place = xf.clone();
          frequency_filter(in_place, filter, in_place);
          CHECK(test::max_rel_error(in_place, ref) < 2e-6);
        },
        c.filter);
  }
}

TEST_CASE("the band plan leaves to the FFT what it cannot do cheaper or exactly") {
  const auto plan_for = [](const auto& filter, std::int64_t h, std::int64_t w) {
    const auto table = half_spectrum_response<float>(filter, h, w);
    return cpu_backend::band_plan(table.data(), h, w);
  };
  CHECK_FALSE(plan_for(GaussianHighPass{0.25}, 56, 56).has_value());  // no frequency has weight 0 or 1
  CHECK_FALSE(plan_for(ButterworthLowPass{0.25, 2}, 56, 56).has_value());
  CHECK(plan_for(IdealHighPass{0.45}, 56, 56).has_value());        // |k| <= 12: 25 of 56 basis columns
  CHECK_FALSE(plan_for(IdealHighPass{0.5}, 56, 56).has_value());  // |k| <= 14: 29, over half the axis
  CHECK_FALSE(plan_for(IdealHighPass{0.9}, 56, 56).has_value());
  CHECK_FALSE(plan_for(IdealLowPass{1.0}, 8, 8).has_value());     // reaches the Nyquist frequency
  // A table that is not even in ky (no FrequencyFilter makes one) is filtered by the FFT.
  auto odd = half_spectrum_response<float>(IdealLowPass{0.25}, 16, 16);
  odd[1 * 9 + 1] = 0.5f / 256;
  CHECK_FALSE(cpu_backend::band_plan(odd.data(), 16, 16).has_value());
  odd[15 * 9 + 1] = 0.5f / 256;  // its mirror too: even again
  CHECK(cpu_backend::band_plan(odd.data(), 16, 16).has_value());
  CHECK_FALSE(plan_for(IdealLowPass{0.25}, 1, 16).has_value());  // a single row: no band to save
}

namespace {
// Weights of 1 and 1/2 inside the band, 0 outside: checks the band's weights, not only its mask.
struct TaperedLowPass {
  static constexpr std::string_view name = "tapered low-pass (test)";
  double cutoff = 0.3;
  void validate() const {}
  double response(double r) const { return r <= cutoff / 2 ? 1.0 : r <= cutoff ? 0.5 : 0.0; }
};
}  // namespace

TEST_CASE("the band path applies graded weights, empty bands, and runs inside other parallel loops") {
  Rng rng(11);
  {
    const TaperedLowPass filter;
    const auto table = half_spectrum_response<double>(filter, 24, 20);
    const auto plan = cpu_backend::band_plan(table.data(), 24, 20);
    REQUIRE(plan.has_value());
    CHECK_FALSE(plan->complement);
    const auto x = test::random_tensor<double>(Shape{3, 1, 24, 20}, rng);
    Tensor<double> ref(x.shape());
    for (std::int64_t m = 0; m < 3; ++m) {
      const auto r = test::filter_by_direct_dft(x.data() + m * 480, 24, 20, filter);
      std::copy(r.begin(), r.end(), ref.data() + m * 480);
    }
    CHECK(test::max_rel_error(frequency_filter(x, filter), ref) < 1e-12);
  }
  {
    // A 1x1 map: the high-pass has no weight at all (the output is zero), the low-pass is the
    // identity (one minus it has none).
    const auto x = test::random_tensor<double>(Shape{4, 1, 1, 1}, rng);
    const auto hp = half_spectrum_response<double>(IdealHighPass{0.25}, 1, 1);
    const auto plan = cpu_backend::band_plan(hp.data(), 1, 1);
    REQUIRE(plan.has_value());
    CHECK(plan->max_ky == -1);
    const auto high = frequency_filter(x, IdealHighPass{0.25});
    CHECK(std::all_of(high.data(), high.data() + high.numel(), [](double v) { return v == 0.0; }));
    CHECK(test::max_rel_error(frequency_filter(x, IdealLowPass{0.25}), x) == 0.0);
  }
  {
    // One map per call from inside a parallel loop (as the module's backward filters a sample at
    // a time) gives what one call over the batch gives.
    const auto x = test::random_tensor<float>(Shape{6, 1, 56, 56}, rng);
    const auto batch = frequency_filter(x, IdealHighPass{0.25});
    auto one_by_one = Tensor<float>::empty(x.shape());
#pragma omp parallel for
    for (std::int64_t m = 0; m < 6; ++m) {
      auto out = one_by_one.narrow(m, 1);
      frequency_filter(x.narrow(m, 1), IdealHighPass{0.25}, out);
    }
    CHECK(test::max_rel_error(one_by_one, batch) < 1e-6);
  }
}
