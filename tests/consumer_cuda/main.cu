// The public contract on the GPU, compiled against the installed headers with nvcc. Where there is
// no GPU it says so after building (the build is what this checks there).
#include <hfc/cuda.cuh>

#include <cstdio>

int main() {
  // The host side links too: the cpu backend's description (found by ADL, as train loops call it) calls OpenMP.
  std::printf("consumer_cuda: host %s\n", describe(hfc::cpu{}).c_str());
  if (!hfc::cuda_backend::device_available()) {
    std::printf("consumer_cuda: built, no GPU to run on (%s)\n", hfc::cuda_backend::device_status().c_str());
    return 0;
  }
  hfc::Rng rng(3);
  const auto x = hfc::init::normal<float, hfc::cuda>(hfc::Shape{2, 8, 12, 12}, 0.0, 1.0, rng);
  hfc::HfcAttention<float, hfc::cuda> att(8, {}, rng);
  const auto y = att.forward(x);
  const auto dx = att.backward(y);
  const bool ok = y.shape() == x.shape() && dx.shape() == x.shape() && hfc::parameter_count(att) == 8 + 49;
  std::printf("consumer_cuda: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
