#pragma once
// The register Jacobi SVD's own program (backend/cuda/svd_registers.cuh) run on the host: every
// lane's registers in memory (HostLaneGroups), the groups one after another. For the SVD tests
// (test_svd_registers_host.cu) and for the host run of the cuda backend (host_executor.cuh).
#include <cstdint>
#include <vector>

#include <hfc/cuda.cuh>

namespace hfc::test {

// An H100/H200's shared memory per block as max_shared_bytes_per_block gives it (opt-in limit, less
// the reserve for static variables): what the plans on the host are made for.
inline constexpr std::size_t kDeviceSharedLimit = 227 * 1024 - 1024;

// s (batch x k), and when u is not null u (batch x m x k) and v (batch x n x k), k = min(m, n), with
// `lanes` lanes per column pair (0: as svd_kernel chooses them) at the rows per lane the GPU would
// take. False, and nothing written, when no kernel holds an m x n matrix. `reversed`: each phase's
// groups last to first (HostLaneGroups).
inline bool register_jacobi_svd_on_host(const float* a, std::int64_t batch, std::int64_t m, std::int64_t n, float* s,
                                        float* u, float* v, int lanes = 0, bool reversed = false) {
  const auto plan = cuda_backend::register_jacobi_plan(m, n, lanes, kDeviceSharedLimit);
  if (!plan.fits()) return false;
  const auto& shape = plan.shape;
  cuda_backend::with_register_jacobi_config(plan, [&]<int G, int R>() {
    std::vector<unsigned char> shared(shape.bytes());
    const auto work = cuda_backend::RegisterJacobiWork::carve(shared.data(), shape);
    std::vector<cuda_backend::JacobiLane<R>> regs(std::size_t(shape.pairs) * G);
    cuda_backend::HostLaneGroups<G, cuda_backend::JacobiLane<R>> groups{regs.data(), shape.pairs, reversed};
    const std::int64_t k = shape.cols;
    for (std::int64_t b = 0; b < batch; ++b)
      cuda_backend::register_jacobi_svd<G, R>(groups, shape, work, a + b * m * n, int(m), int(n),
                                              cuda_backend::detail::kMaxJacobiSweeps, s + b * k,
                                              u ? u + b * m * k : nullptr, v ? v + b * n * k : nullptr);
  });
  return true;
}

}  // namespace hfc::test
