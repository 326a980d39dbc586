#pragma once
// hfcnet for nvcc translation units: the cuda backend and everything backend-independent
// (hfc/components.hpp), with host tensors (the cpu backend's storage only). Never Eigen or FFTW: code
// that needs the cpu backend's kernels too keeps them in a host-compiled file, or includes
// <hfc/hfc.hpp> as well (the hfcnet trainer does, built by nvcc: nvcc compiles Eigen's headers).
#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/cuda/activation.cuh"
#include "hfc/backend/cuda/bam_gate.cuh"
#include "hfc/backend/cuda/batch_norm.cuh"
#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/context.cuh"
#include "hfc/backend/cuda/conv2d.cuh"
#include "hfc/backend/cuda/elementwise.cuh"
#include "hfc/backend/cuda/filter.cuh"
#include "hfc/backend/cuda/linear.cuh"
#include "hfc/backend/cuda/memory.cuh"
#include "hfc/backend/cuda/optim.cuh"
#include "hfc/backend/cuda/pooling.cuh"
#include "hfc/backend/cuda/profiler.cuh"
#include "hfc/backend/cuda/svd.cuh"
#include "hfc/components.hpp"
