#pragma once
// hfcnet for nvcc translation units: the core and the cuda backend, never Eigen.
// The cuda backend so far covers tensor storage, host/device copies and the batched SVD with its
// backward; the other components follow (see docs/performance.md for what has run on a GPU).
#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/memory.cuh"
#include "hfc/backend/cuda/svd.cuh"
#include "hfc/core/backend.hpp"
#include "hfc/core/error.hpp"
#include "hfc/core/grad_mode.hpp"
#include "hfc/core/init.hpp"
#include "hfc/core/parameter.hpp"
#include "hfc/core/rng.hpp"
#include "hfc/core/shape.hpp"
#include "hfc/core/tensor.hpp"
#include "hfc/ops/svd.hpp"
