// `hfcnet train --device cuda`: the training loop of train.hpp on the cuda backend. Built by nvcc
// only where CMake found it (HFCNET_WITH_CUDA); this translation unit includes the cuda backend
// and no cpu kernels, so the cpu path of the program keeps g++'s code (see run_train_cuda).
#include <hfc/cuda.cuh>

#include "train.hpp"

namespace hfcnet {

int run_train_cuda(const TrainConfig& c, const TrainFlags& flags) {
  hfc::check(hfc::cuda_backend::device_available(), "--device cuda: no CUDA device is available here (",
             hfc::cuda_backend::device_status(), "); use --device cpu");
  return run_train_on<hfc::cuda>(c, flags);
}

}  // namespace hfcnet
