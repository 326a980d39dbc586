#pragma once
// Backend policy tags. A component is a template on (T, B); the tag B selects the kernels at
// compile time. Each tag lives in its backend's namespace so that argument-dependent lookup
// finds that backend's kernels, e.g. `frequency_filter_kernel(B{}, ...)` resolves to
// hfc::cpu_backend::frequency_filter_kernel for hfc::cpu.
#include <concepts>
#include <cstdint>
#include <string_view>

namespace hfc {
namespace cpu_backend {
struct cpu {
  static constexpr std::string_view name = "cpu";
  static constexpr bool host_accessible = true;  // data() may be dereferenced on the host
};
}  // namespace cpu_backend
namespace cuda_backend {
struct cuda {
  static constexpr std::string_view name = "cuda";
  static constexpr bool host_accessible = false;
};
}  // namespace cuda_backend

using cpu = cpu_backend::cpu;
using cuda = cuda_backend::cuda;

template <class B>
concept Backend = requires {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::host_accessible } -> std::convertible_to<bool>;
};

template <class B>
concept HostBackend = Backend<B> && B::host_accessible;

// The scalar types every component supports: float is the working type, double runs the
// gradient checks.
template <class T>
concept Scalar = std::same_as<T, float> || std::same_as<T, double>;

// What a Tensor may hold: the scalars, plus integer indices (max-pool argmax, counters) and byte
// masks (dropout), as PyTorch's int64 and uint8 tensors.
template <class T>
concept Element = Scalar<T> || std::same_as<T, std::int64_t> || std::same_as<T, std::int32_t> ||
                  std::same_as<T, std::uint8_t>;

}  // namespace hfc
