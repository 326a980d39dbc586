#pragma once
// Every kernel of the cpu backend (Eigen, FFTW, OpenMP, optionally OpenBLAS).
#include "hfc/backend/cpu/activation.hpp"
#include "hfc/backend/cpu/batch_norm.hpp"
#include "hfc/backend/cpu/conv2d.hpp"
#include "hfc/backend/cpu/correlation.hpp"
#include "hfc/backend/cpu/elementwise.hpp"
#include "hfc/backend/cpu/filter.hpp"
#include "hfc/backend/cpu/gating.hpp"
#include "hfc/backend/cpu/gemm.hpp"
#include "hfc/backend/cpu/linear.hpp"
#include "hfc/backend/cpu/memory.hpp"
#include "hfc/backend/cpu/pooling.hpp"
#include "hfc/backend/cpu/svd.hpp"
