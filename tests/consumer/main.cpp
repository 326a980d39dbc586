// The public contract of DESIGN.md, compiled against the installed headers.
#include <hfc/hfc.hpp>

#include <cstdio>

int main() {
  hfc::Tensor<float> x({2, 8, 12, 12});
  hfc::Rng rng(3);
  x = hfc::init::normal<float>(x.shape(), 0.0, 1.0, rng);
  hfc::HfcAttention<float> att(8);
  auto y = att.forward(x);
  auto dx = att.backward(y);
  std::int64_t params = 0;
  att.for_each_parameter([&](std::string_view, auto& p) { params += p.value.numel(); });
  const bool ok = y.shape() == x.shape() && dx.shape() == x.shape() && params == 8 + 49;
  std::printf("consumer: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
