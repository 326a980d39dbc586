#pragma once
// How the CUDA tests compare a case's results with the cpu backend's (cases.hpp), and the bounds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cases.hpp"
#include "reference.hpp"

namespace hfc::test {

// max |got - want| / max(|want|_max, floor): relative to the tensor's scale, so that one bound
// serves a whole tensor; NaN anywhere fails. The floor (1% of the case's largest result) keeps a
// tensor that is zero in exact arithmetic (the gradient of a bias that a training-mode BatchNorm
// follows) from being compared digit by digit in its rounding noise.
inline double scaled_error(const std::vector<float>& got, const std::vector<float>& want, double floor) {
  double scale = floor, err = 0;
  for (float w : want) scale = std::max(scale, double(std::abs(w)));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    if (!(d <= err)) err = d;  // NaN sticks
  }
  return err / scale;
}

// The bounds, relative to each tensor's largest value, with exact float GEMMs (TF32 off):
//  - element-wise ops, pooling, optimisers: float rounding only, 1e-5 (argmax indices: equal);
//  - convolutions, BatchNorm, Linear, BAM: sums in another order, 1e-4;
//  - HFC attention: singular values agree to 1e-5 s_max between the backends' SVDs, 1e-4;
//  - networks: a training step in double (cases.hpp says why) within 1e-7 everywhere (the SVDs
//    of MobileNetV2's 2 x 2 maps amplify rounding most: 3e-8 seen), the parameters after the
//    Adam step absolutely; float logits in eval mode within 1e-4.
inline double bound(const std::string& case_name, const std::string& tensor) {
  if (tensor.starts_with("argmax")) return 0.0;
  if (case_name.ends_with(", double")) return 1e-7;
  if (case_name.starts_with("conv") || case_name.starts_with("batch norm") || case_name.starts_with("bam") ||
      case_name.starts_with("hfc attention") || case_name.starts_with("relu") || case_name.starts_with("networks"))
    return 1e-4;
  return 1e-5;
}

// Runs every case of backend B and checks it against the cpu backend's run of the same case.
template <class B>
void check_all_cases_against_cpu() {
  for (const auto& [name, run] : all_cases<B>()) {
    INFO("case: ", name);
    const auto got = run();
    const auto want = reference_case(name);
    REQUIRE(got.size() == want.size());
    double case_scale = 0;  // the largest value of any of the case's results
    for (const auto& [tensor, values] : want)
      for (float v : values) case_scale = std::max(case_scale, double(std::abs(v)));
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("tensor: ", want[i].first);
      CHECK(got[i].first == want[i].first);
      REQUIRE(got[i].second.size() == want[i].second.size());
      const bool absolute = want[i].first.starts_with("after ");
      const double err = scaled_error(got[i].second, want[i].second, absolute ? 1.0 : 1e-2 * case_scale);
      INFO("error ", err, " against the bound ", bound(name, want[i].first));
      CHECK(err <= bound(name, want[i].first));
    }
  }
}

}  // namespace hfc::test
