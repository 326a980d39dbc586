#pragma once
// hfcnet for nvcc translation units: the core and the cuda backend, never Eigen.
// The cuda backend so far covers tensor storage, host/device copies, the frequency filters, the
// batched SVD with its backward, the correlation and the sigmoid gate; convolutions and the
// layers follow (docs/performance.md says what has run on a GPU).
#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/elementwise.cuh"
#include "hfc/backend/cuda/filter.cuh"
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
#include "hfc/ops/correlation.hpp"
#include "hfc/ops/elementwise.hpp"
#include "hfc/ops/filter.hpp"
#include "hfc/ops/gating.hpp"
#include "hfc/ops/svd.hpp"
