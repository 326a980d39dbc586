#pragma once
// hfcnet: the umbrella header for host code (the cpu backend). For CUDA translation units
// include <hfc/cuda.cuh> instead.
#include "hfc/backend/cpu/all.hpp"
#include "hfc/components.hpp"
