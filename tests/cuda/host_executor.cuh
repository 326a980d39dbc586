#pragma once
// The cuda backend's algorithms on the host, for machines without a GPU (CI).
//
// HostExec runs the backend's kernel bodies one index at a time, its GEMMs as plain loops and its
// channel sums serially; `cuda_on_host` is a backend tag whose tensors live in host memory and
// whose kernels are the cuda backend's, run by HostExec. Everything the GPU adds (launch shapes,
// shared memory, warp reductions, cuBLAS) is left out, and everything else (the indexing of
// im2col, col2im, pooling windows, the BatchNorm and gate algebra, the chunking of convolutions,
// the order of the calls) is the code the GPU runs. Of the device-only pieces, the float SVD runs
// the register Jacobi kernel's own program on the host (register_svd_host.hpp); the double SVD and
// cuFFT are replaced by host versions written here: a one-sided Jacobi SVD in double and a
// separable DFT in double.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include <map>
#include <string>

#include <hfc/cuda.cuh>

#include "register_svd_host.hpp"

namespace hfc::cuda_backend {

// What the GPU would launch, counted while a LaunchCounter is active (count_launches.cu): each
// kernel body, GEMM or batch of GEMMs, channel sum, SVD and frequency filter the host executor
// runs, by kind (kernel bodies and channel sums by their type's name). With count_only the work
// itself is skipped and the results are garbage, so that a 224-px training step takes seconds.
struct LaunchCounter {
  std::map<std::string, std::int64_t> by_name;
  bool count_only = false;
  LaunchCounter* outer = nullptr;

  explicit LaunchCounter(bool skip_work) : count_only(skip_work), outer(active()) { active() = this; }
  ~LaunchCounter() { active() = outer; }
  LaunchCounter(const LaunchCounter&) = delete;
  LaunchCounter& operator=(const LaunchCounter&) = delete;
  static LaunchCounter*& active() {
    static LaunchCounter* counter = nullptr;
    return counter;
  }
  // Counts `name` when a counter is active; true when the work is to be skipped.
  static bool count(const std::string& name) {
    LaunchCounter* c = active();
    if (!c) return false;
    ++c->by_name[name];
    return c->count_only;
  }
};

template <class T>
class HostBuffer {
 public:
  explicit HostBuffer(std::int64_t count) : data_(static_cast<std::size_t>(std::max<std::int64_t>(count, 1))) {}
  T* get() const { return const_cast<T*>(data_.data()); }

 private:
  std::vector<T> data_;
};

template <int K>
class HostChannelSums {
 public:
  template <class Terms>
  HostChannelSums(const Terms& terms, std::int64_t n, std::int64_t c, std::int64_t plane)
      : sums_(static_cast<std::size_t>(std::max<std::int64_t>(c * K, 1)), 0.0) {
    if (c > 0 && LaunchCounter::active() && LaunchCounter::count("channel sums " + launch_type_name<Terms>())) return;
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t p = 0; p < plane; ++p) {
          const DoubleSums<K> t = terms(b, ch, p);
          for (int k = 0; k < K; ++k) sums_[static_cast<std::size_t>(ch * K + k)] += t.v[k];
        }
  }
  ChannelSumsView<K> view() const { return {sums_.data(), 1}; }

 private:
  std::vector<double> sums_;
};

struct HostExec {
  template <class T>
  using Buffer = HostBuffer<T>;

  template <class Body>
  static void for_each(std::int64_t n, const Body& body) {
    if (n <= 0 || LaunchCounter::count(launch_type_name<Body>())) return;
    for (std::int64_t i = 0; i < n; ++i) body(i);
  }
  // Row-major C = alpha op(A) op(B) + beta C, sums in double; beta = 0 ignores C, as BLAS does.
  template <class T>
  static void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc, bool /*tf32*/) {
    if (m == 0 || n == 0 || LaunchCounter::count("cublasGemmEx")) return;
    multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  template <class T>
  static void gemm_batched(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                           std::int64_t lda, std::int64_t stride_a, const T* b, std::int64_t ldb, std::int64_t stride_b,
                           T beta, T* c, std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, bool /*tf32*/) {
    if (m == 0 || n == 0 || batch == 0 || LaunchCounter::count("cublasGemmStridedBatchedEx")) return;
    for (std::int64_t i = 0; i < batch; ++i)
      multiply(ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
  }
  template <int K, class Terms>
  static HostChannelSums<K> channel_sums(const Terms& terms, std::int64_t n, std::int64_t c, std::int64_t plane) {
    return HostChannelSums<K>(terms, n, c, plane);
  }

 private:
  template <class T>
  static void multiply(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                       std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t l = 0; l < k; ++l) {
          const T av = ta == Trans::no ? a[i * lda + l] : a[l * lda + i];
          const T bv = tb == Trans::no ? b[l * ldb + j] : b[j * ldb + l];
          sum += double(av) * double(bv);
        }
        T& out = c[i * ldc + j];
        out = T(alpha * sum + (beta == T(0) ? 0.0 : double(beta) * double(out)));
      }
  }
};

struct cuda_on_host {
  static constexpr std::string_view name = "cuda_on_host";
  static constexpr bool host_accessible = true;
};
template <>
struct executor_of<cuda_on_host> {
  using type = HostExec;
};

inline void* allocate_bytes(cuda_on_host, std::size_t bytes) {
  return ::operator new(std::max<std::size_t>(bytes, 1), std::align_val_t(64));
}
inline void free_bytes(cuda_on_host, void* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
template <class T>
void fill_n(cuda_on_host, T* dst, std::int64_t n, T value) {
  std::fill_n(dst, n, value);
}
template <class T>
void copy_n(cuda_on_host, const T* src, std::int64_t n, T* dst) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
}
template <class From, class To, class T>
  requires(std::same_as<From, cuda_on_host> || std::same_as<To, cuda_on_host>)
void transfer(From, To, const T* src, std::int64_t n, T* dst) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
}

// Thin SVD. Float matrices take the register Jacobi kernel's own program (svd_registers.cuh), so
// that the module's results carry that float GPU kernel's errors into the comparison with the cpu
// backend (it is the default; the shared-memory kernel, svd.cuh, runs on the GPU alone).
// Double ones (and sizes no register kernel holds) take one-sided Jacobi in double: W = A (or A^T
// when wide) has its columns rotated until orthogonal; sigma_j = |w_j|, the left factor
// w_j / sigma_j, the right factor the rotations.
template <class T>
void svd_kernel(cuda_on_host, const T* a, std::int64_t batch, std::int64_t m, std::int64_t n, T* s, T* u, T* v) {
  if (batch == 0 || LaunchCounter::count("svd")) return;
  if constexpr (std::is_same_v<T, float>)
    if (test::register_jacobi_svd_on_host(a, batch, m, n, s, u, v)) return;
  const bool wide = m < n;
  const std::int64_t rows = wide ? n : m, cols = wide ? m : n, k = cols;
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<double> W(static_cast<std::size_t>(rows * cols)), V(static_cast<std::size_t>(cols * cols), 0.0);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        W[static_cast<std::size_t>(j * rows + i)] = wide ? a[b * m * n + j * n + i] : a[b * m * n + i * n + j];
    for (std::int64_t j = 0; j < cols; ++j) V[static_cast<std::size_t>(j * cols + j)] = 1.0;
    for (int sweep = 0; sweep < 60; ++sweep) {
      bool rotated = false;
      for (std::int64_t p = 0; p < cols; ++p)
        for (std::int64_t q = p + 1; q < cols; ++q) {
          double* wp = &W[static_cast<std::size_t>(p * rows)];
          double* wq = &W[static_cast<std::size_t>(q * rows)];
          double alpha = 0, beta = 0, dot = 0;
          for (std::int64_t i = 0; i < rows; ++i) {
            alpha += wp[i] * wp[i];
            beta += wq[i] * wq[i];
            dot += wp[i] * wq[i];
          }
          if (!(std::abs(dot) > 1e-15 * std::sqrt(alpha * beta))) continue;
          rotated = true;
          const double zeta = (beta - alpha) / (2 * dot);
          const double t = std::copysign(1.0, zeta) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
          const double c = 1 / std::sqrt(1 + t * t), sn = c * t;
          auto rotate = [&](double* x, double* y, std::int64_t len) {
            for (std::int64_t i = 0; i < len; ++i) {
              const double xi = x[i], yi = y[i];
              x[i] = c * xi - sn * yi;
              y[i] = sn * xi + c * yi;
            }
          };
          rotate(wp, wq, rows);
          rotate(&V[static_cast<std::size_t>(p * cols)], &V[static_cast<std::size_t>(q * cols)], cols);
        }
      if (!rotated) break;
    }
    std::vector<double> sigma(static_cast<std::size_t>(cols));
    for (std::int64_t j = 0; j < cols; ++j) {
      double sum = 0;
      for (std::int64_t i = 0; i < rows; ++i) sum += W[static_cast<std::size_t>(j * rows + i)] * W[static_cast<std::size_t>(j * rows + i)];
      sigma[static_cast<std::size_t>(j)] = std::sqrt(sum);
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(cols));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t x, std::int64_t y) { return sigma[std::size_t(x)] > sigma[std::size_t(y)]; });
    T* left = wide ? v : u;
    T* right = wide ? u : v;
    for (std::int64_t r = 0; r < k; ++r) {
      const std::int64_t j = order[static_cast<std::size_t>(r)];
      const double sj = sigma[static_cast<std::size_t>(j)];
      s[b * k + r] = T(sj);
      if (!u) continue;
      for (std::int64_t i = 0; i < rows; ++i)
        left[(b * rows + i) * k + r] = T(sj > 0 ? W[static_cast<std::size_t>(j * rows + i)] / sj : 0.0);
      for (std::int64_t i = 0; i < cols; ++i) right[(b * cols + i) * k + r] = T(V[static_cast<std::size_t>(j * cols + i)]);
    }
  }
}

// The frequency filter by a separable DFT in double: the full spectrum of each map, times the
// half-spectrum response extended by Hermitian symmetry, transformed back (1/(h w) is in the
// response).
template <class T>
void frequency_filter_kernel(cuda_on_host, const T* in, T* out, std::int64_t maps, std::int64_t h, std::int64_t w,
                             const T* response) {
  if (maps == 0 || LaunchCounter::count("frequency filter")) return;
  using C = std::complex<double>;
  const double pi = std::acos(-1.0);
  auto dft = [&](std::vector<C>& data, std::int64_t count, std::int64_t length, std::int64_t stride,
                 std::int64_t step, double sign) {
    std::vector<C> line(static_cast<std::size_t>(length));
    for (std::int64_t l = 0; l < count; ++l) {
      for (std::int64_t f = 0; f < length; ++f) {
        C sum = 0;
        for (std::int64_t t = 0; t < length; ++t)
          sum += data[static_cast<std::size_t>(l * step + t * stride)] * std::polar(1.0, sign * 2 * pi * double(f * t % length) / double(length));
        line[static_cast<std::size_t>(f)] = sum;
      }
      for (std::int64_t f = 0; f < length; ++f) data[static_cast<std::size_t>(l * step + f * stride)] = line[static_cast<std::size_t>(f)];
    }
  };
  const std::int64_t half_w = w / 2 + 1;
  for (std::int64_t mp = 0; mp < maps; ++mp) {
    std::vector<C> x(static_cast<std::size_t>(h * w));
    for (std::int64_t i = 0; i < h * w; ++i) x[static_cast<std::size_t>(i)] = double(in[mp * h * w + i]);
    dft(x, h, w, 1, w, -1);  // rows
    dft(x, w, h, w, 1, -1);  // columns
    for (std::int64_t ky = 0; ky < h; ++ky)
      for (std::int64_t kx = 0; kx < w; ++kx) {
        const bool stored = kx < half_w;
        const std::int64_t ry = stored ? ky : (h - ky) % h, rx = stored ? kx : w - kx;
        x[static_cast<std::size_t>(ky * w + kx)] *= double(response[ry * half_w + rx]);
      }
    dft(x, h, w, 1, w, 1);
    dft(x, w, h, w, 1, 1);
    for (std::int64_t i = 0; i < h * w; ++i) out[mp * h * w + i] = T(x[static_cast<std::size_t>(i)].real());
  }
}

}  // namespace hfc::cuda_backend

namespace hfc {
using cuda_on_host = cuda_backend::cuda_on_host;
}  // namespace hfc
