#pragma once
// Marks functions that run on the host and, compiled by nvcc, in cuda kernels as well.
#if defined(__CUDACC__)
#define HFC_HOST_DEVICE __host__ __device__
#else
#define HFC_HOST_DEVICE
#endif
