#pragma once
// The register Jacobi SVD's own program (backend/cuda/svd_registers.cuh) run on the host: every
// lane's registers in memory (HostLaneGroups), the groups one after another. For the SVD tests
// (test_svd_registers_host.cu) and for the host run of the cuda backend (host_executor.cuh).
#include <cstdint>
#include <vector>

#include <hfc/cuda.cuh>

namespace hfc::test {

// s (batch x k), and when u is not null u (batch x m x k) and v (batch x n x k), k = min(m, n), with
// `lanes` lanes per column pair (0: as svd_kernel chooses them) at the rows per lane the GPU would
// take. False, and nothing written, when no kernel holds an m x n matrix.
inline bool register_jacobi_svd_on_host(const float* a, std::int64_t batch, std::int64_t m, std::int64_t n, float* s,
                                        float* u, float* v, int lanes = 0) {
  constexpr std::size_t kSharedLimit = 227 * 1024;  // an H100/H200's opt-in limit per block
  lanes = cuda_backend::register_jacobi_lanes(m, n, lanes, kSharedLimit);
  if (lanes == 0) return false;
  const auto shape = cuda_backend::RegisterJacobiShape::make(int(m), int(n), lanes);
  const int rows_per_lane = cuda_backend::register_jacobi_rows_per_lane(shape, kSharedLimit);
  cuda_backend::with_register_jacobi_config(lanes, rows_per_lane, [&]<int G, int R>() {
    std::vector<unsigned char> shared(shape.bytes());
    const auto work = cuda_backend::RegisterJacobiWork::carve(shared.data(), shape);
    std::vector<cuda_backend::JacobiLane<R>> regs(std::size_t(shape.pairs) * G);
    cuda_backend::HostLaneGroups<G, cuda_backend::JacobiLane<R>> groups{regs.data(), shape.pairs};
    const std::int64_t k = shape.cols;
    for (std::int64_t b = 0; b < batch; ++b)
      cuda_backend::register_jacobi_svd<G, R>(groups, shape, work, a + b * m * n, int(m), int(n), 30, s + b * k,
                                              u ? u + b * m * k : nullptr, u ? v + b * n * k : nullptr);
  });
  return true;
}

}  // namespace hfc::test
