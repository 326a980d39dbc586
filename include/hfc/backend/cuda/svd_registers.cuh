#pragma once
// A third batched float SVD on the GPU: one-sided (Hestenes) Jacobi as in svd.cuh, with each
// column pair in the registers of a group of G lanes instead of in shared memory.
//
// Why: svd.cuh's step is one long dependent chain per warp (a 32-lane double reduction, the
// rotation, updates through shared memory), with every warp of the block in the same phase: 1.3 us
// a step at 56 x 56 on an H200, 0.64 ms for 32 matrices. Here a step is, per group, R float FMAs
// per sum, log2(G) shuffles, the rotation and its float FMAs, all in registers; then each group
// passes one column to a neighbour through shared memory, and the block meets at one barrier.
// Whether that is faster is for the GPU check to say (bench_svd_cuda.cu runs all three kernels
// and every G). It is Context::svd_algorithm's default: CI runs its own code on the host, and it is
// the most accurate of the three.
//
// The ordering is odd-even transposition. The columns sit in positions 0 .. count-1 (count even:
// an odd column count gets a zero column, which never rotates). Even steps pair positions (0,1),
// (2,3), ...; odd steps (1,2), (3,4), ..., while positions 0 and count-1 wait. After its rotation a
// pair swaps its two columns. In count steps every two columns meet exactly once (as elements do
// when odd-even transposition sorts a reversed list) and the order reverses: that is a sweep.
// Group k holds positions (2k, 2k+1) in even steps and (2k+1, 2k+2) in odd steps, so between
// steps it keeps one column and trades the other with a neighbour (the round-robin ordering of
// svd.cuh moves two): one mailbox per group in shared memory, written before the step's barrier
// and read after it. Each mailbox has one writer and one reader per step, and its reader is its
// next writer, so one barrier a step suffices.
//
// Each lane holds rows lane, lane + G, lane + 2G, ... (rows_per_lane of them, at most R) of both
// columns of W and of their columns of V. The three sums w_p . w_q, |w_p|^2 and |w_q|^2 are taken
// afresh every step (no norm is carried from step to step), in float: W is first scaled by a power
// of two so that they cannot overflow, and with the rotations in Rutishauser's form (svd_common.cuh)
// the host runs of the tests' matrices stayed at 2-3e-7 s_max, as with double sums, which would
// cost two float-to-double conversions per row (16 a cycle per SM on sm_90) and twice the shuffles.
//
// The algorithm is written once against a lane-groups policy. DeviceLaneGroups runs it with one
// lane per thread and shuffles; HostLaneGroups, where there is no GPU (tests), with every lane's
// registers in memory and loops, groups one after another (a step's groups touch disjoint data).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "hfc/backend/cuda/check.cuh"
#include "hfc/backend/cuda/context.cuh"
#include "hfc/backend/cuda/launch.cuh"
#include "hfc/backend/cuda/reduce.cuh"
#include "hfc/backend/cuda/svd_common.cuh"
#include "hfc/backend/host_device.hpp"
#include "hfc/core/error.hpp"

namespace hfc::cuda_backend {

// One lane's registers: its rows of the two columns of W its group holds (slots 0 and 1), the same
// rows of their V columns, which input column each slot holds (>= cols: a zero column), and what
// barrier_or gathers: whether it loaded a non-finite entry, whether its group rotated this step.
template <int R>
struct JacobiLane {
  float w[2][R];
  float v[2][R];
  int id[2];
  bool nonfinite, rotated;
};

// w_0 . w_1, |w_0|^2 and |w_1|^2 of a group's two columns (a lane's share, then the group's).
template <class T>
struct ColumnSums {
  T dot, norm0, norm1;
  HFC_HOST_DEVICE ColumnSums operator+(const ColumnSums& o) const {
    return {dot + o.dot, norm0 + o.norm0, norm1 + o.norm1};
  }
};

// Sizes of one matrix's problem with `lanes` lanes per column pair.
struct RegisterJacobiShape {
  int rows, cols;     // W: A, or A^T when A is wide, so that rows >= cols
  int count, pairs;   // positions (cols rounded up to even) and groups
  int lanes;          // G
  int rows_per_lane;  // ceil(rows / G)
  int ld;             // floats per mailbox column: >= G * rows_per_lane, and == G (mod 32), so that
                      // the groups of a warp, reading neighbouring mailboxes, hit different banks

  HFC_HOST_DEVICE static RegisterJacobiShape make(int m, int n, int lanes) {
    RegisterJacobiShape s{};
    s.rows = m < n ? n : m;
    s.cols = m < n ? m : n;
    s.count = s.cols + (s.cols & 1);
    s.pairs = s.count / 2;
    s.lanes = lanes;
    s.rows_per_lane = (s.rows + lanes - 1) / lanes;
    s.ld = lanes * s.rows_per_lane;
    while (s.ld % 32 != lanes % 32) s.ld += lanes;
    return s;
  }
  // Whole warps: the shuffles take every lane of a warp, so a last partial group of lanes is padded
  // with idle groups.
  HFC_HOST_DEVICE int threads() const { return (pairs * lanes + 31) / 32 * 32; }
  HFC_HOST_DEVICE std::size_t bytes() const {
    return (2 * std::size_t(pairs) * std::size_t(ld) + std::size_t(count)) * sizeof(float) +
           (std::size_t(pairs) * std::size_t(lanes) + std::size_t(count)) * sizeof(int);
  }
};

// The block's shared memory: the mailboxes, then sigma and the input column of each position.
struct RegisterJacobiWork {
  float* mail_w;  // pairs x ld
  float* mail_v;  // pairs x ld
  float* sigma;   // count
  int* mail_id;   // pairs x G: each lane passes the column's id to the same lane of the next group, as
                  // it does its rows (one copy read by all lanes would be rewritten by lane 0 of its
                  // reader group before the others had read it: nothing orders that within a warp)
  int* ids;       // count

  HFC_HOST_DEVICE static RegisterJacobiWork carve(void* memory, const RegisterJacobiShape& s) {
    RegisterJacobiWork w{};
    w.mail_w = static_cast<float*>(memory);
    w.mail_v = w.mail_w + std::size_t(s.pairs) * s.ld;
    w.sigma = w.mail_v + std::size_t(s.pairs) * s.ld;
    w.mail_id = reinterpret_cast<int*>(w.sigma + s.count);
    w.ids = w.mail_id + std::size_t(s.pairs) * s.lanes;
    return w;
  }
};

// Thread t of the block is lane t % G of group t / G; `regs` are its registers.
template <int G, class Lane>
struct DeviceLaneGroups {
  Lane regs;

  template <class F>
  HFC_HOST_DEVICE void each(F&& f) {
#if defined(__CUDA_ARCH__)
    f(int(threadIdx.x) / G, int(threadIdx.x) % G, regs);
#endif
  }
  // finish(group, lane, regs, the sum of partial(...) over the group's lanes), for every lane;
  // partial returns ColumnSums<float or double>.
  template <class Partial, class Finish>
  HFC_HOST_DEVICE void reduce(Partial&& partial, Finish&& finish) {
#if defined(__CUDA_ARCH__)
    const int group = int(threadIdx.x) / G, lane = int(threadIdx.x) % G;
    auto t = partial(group, lane, regs);
#pragma unroll
    for (int offset = G / 2; offset > 0; offset >>= 1)
      t = t + decltype(t){__shfl_xor_sync(0xffffffffu, t.dot, offset), __shfl_xor_sync(0xffffffffu, t.norm0, offset),
                          __shfl_xor_sync(0xffffffffu, t.norm1, offset)};
    finish(group, lane, regs, t);
#endif
  }
  // A barrier; the largest value(regs) of the block.
  template <class Value>
  HFC_HOST_DEVICE int barrier_max(Value&& value) {
#if defined(__CUDA_ARCH__)
    return detail::block_max(value(regs));
#else
    return 0;
#endif
  }
  // A barrier; whether flag(regs) held for any lane of the block.
  template <class Flag>
  HFC_HOST_DEVICE bool barrier_or(Flag&& flag) {
#if defined(__CUDA_ARCH__)
    return __syncthreads_or(flag(regs)) != 0;
#else
    return false;
#endif
  }
  HFC_HOST_DEVICE void barrier() {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
};

// The same contract on the host: every lane's registers in `regs` (groups * G of them, group-major).
// (Host-device only so that nvcc's device pass of register_jacobi_svd accepts it; it runs on the host.)
// `reversed` runs the groups of each phase last to first, and in `each` their lanes too: a phase
// whose groups or lanes depended on each other (a race on the GPU) would then give other results
// (tests run both orders). (reduce keeps its lane order: it sets the sums' rounding.)
template <int G, class Lane>
struct HostLaneGroups {
  Lane* regs;
  int groups;
  bool reversed = false;

  template <class F>
  HFC_HOST_DEVICE void each(F&& f) {
#if !defined(__CUDA_ARCH__)
    for (int i = 0; i < groups; ++i) {
      const int k = reversed ? groups - 1 - i : i;
      for (int j = 0; j < G; ++j) {
        const int l = reversed ? G - 1 - j : j;
        f(k, l, regs[k * G + l]);
      }
    }
#endif
  }
  template <class Partial, class Finish>
  HFC_HOST_DEVICE void reduce(Partial&& partial, Finish&& finish) {
#if !defined(__CUDA_ARCH__)
    for (int i = 0; i < groups; ++i) {
      const int k = reversed ? groups - 1 - i : i;
      auto t = partial(k, 0, regs[k * G]);
      for (int l = 1; l < G; ++l) t = t + partial(k, l, regs[k * G + l]);
      for (int l = 0; l < G; ++l) finish(k, l, regs[k * G + l], t);
    }
#endif
  }
  template <class Value>
  HFC_HOST_DEVICE int barrier_max(Value&& value) {
    int largest = detail::kNoExponent;
#if !defined(__CUDA_ARCH__)
    for (int i = 0; i < groups * G; ++i) largest = std::max(largest, value(regs[i]));
#endif
    return largest;
  }
  template <class Flag>
  HFC_HOST_DEVICE bool barrier_or(Flag&& flag) {
    bool any = false;
#if !defined(__CUDA_ARCH__)
    for (int i = 0; i < groups * G; ++i) any = flag(regs[i]) || any;
#endif
    return any;
  }
  HFC_HOST_DEVICE void barrier() {}
};

namespace detail {

// Lane `lane`'s rows of slot S's columns into mailbox `box`, or back (V's column only when the
// vectors are wanted).
template <int S, int G, int R>
HFC_HOST_DEVICE inline void post_column(const RegisterJacobiWork& work, int ld, int rows_per_lane, bool vectors,
                                        int box, int lane, const JacobiLane<R>& x) {
#pragma unroll
  for (int r = 0; r < R; ++r)
    if (r < rows_per_lane) {
      work.mail_w[box * ld + lane + G * r] = x.w[S][r];
      if (vectors) work.mail_v[box * ld + lane + G * r] = x.v[S][r];
    }
  work.mail_id[box * G + lane] = x.id[S];
}
template <int S, int G, int R>
HFC_HOST_DEVICE inline void fetch_column(const RegisterJacobiWork& work, int ld, int rows_per_lane, bool vectors,
                                         int box, int lane, JacobiLane<R>& x) {
#pragma unroll
  for (int r = 0; r < R; ++r)
    if (r < rows_per_lane) {
      x.w[S][r] = work.mail_w[box * ld + lane + G * r];
      if (vectors) x.v[S][r] = work.mail_v[box * ld + lane + G * r];
    }
  x.id[S] = work.mail_id[box * G + lane];
}
template <int To, int From, int R>
HFC_HOST_DEVICE inline void move_slot(JacobiLane<R>& x) {
#pragma unroll
  for (int r = 0; r < R; ++r) {
    x.w[To][r] = x.w[From][r];
    x.v[To][r] = x.v[From][r];
  }
  x.id[To] = x.id[From];
}

}  // namespace detail

// The SVD of one m x n row-major float matrix a (m, n and the lanes given by `shape`): s (min(m, n),
// descending), and when u is not null u (m x k) and v (n x k), row-major, k = min(m, n). Lanes
// run groups of G lanes (G = shape.lanes), each lane at most R rows (R >= shape.rows_per_lane).
template <int G, int R, class Lanes>
HFC_HOST_DEVICE void register_jacobi_svd(Lanes& lanes, const RegisterJacobiShape& shape, const RegisterJacobiWork& work,
                                         const float* a, int m, int n, int max_sweeps, float* s, float* u, float* v) {
  using Lane = JacobiLane<R>;
  const bool wide = m < n;
  const int rows = shape.rows, cols = shape.cols, count = shape.count, pairs = shape.pairs;
  const int rpl = shape.rows_per_lane, ld = shape.ld;
  const bool vectors = u != nullptr;

  // Slot c of group k starts at position 2k + c with column 2k + c of W and of the identity.
  lanes.each([&](int k, int l, Lane& x) {
    x.nonfinite = false;
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int j = 2 * k + c;
      x.id[c] = j;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int i = l + G * r;
        const bool inside = r < rpl && i < rows && j < cols;
        x.w[c][r] = inside ? (wide ? a[j * n + i] : a[i * n + j]) : 0.0f;
        x.v[c][r] = inside && i == j ? 1.0f : 0.0f;
        x.nonfinite = x.nonfinite || !detail::is_finite(x.w[c][r]);
      }
    }
  });
  if (lanes.barrier_or([](const Lane& x) { return x.nonfinite; })) {
    lanes.each([&](int k, int l, const Lane&) {
      if (k < pairs) detail::fill_svd_with_nan(k * G + l, pairs * G, m, n, s, u, v);
    });
    return;
  }
  // W scaled by a power of two (exact) to a largest |entry| in [0.5, 1), so that the float sums of a
  // step neither overflow nor lose small columns to underflow; sigma is scaled back at the end.
  const int exponent = detail::unit_scale_exponent(lanes.barrier_max([](const Lane& x) {
    int top = detail::kNoExponent;
#pragma unroll
    for (int r = 0; r < R; ++r)
      for (const float value : {x.w[0][r], x.w[1][r]}) {
        const int e = detail::binary_exponent(value);
        top = e > top ? e : top;
      }
    return top;
  }));
  lanes.each([&](int, int, Lane& x) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      x.w[0][r] = ldexpf(x.w[0][r], -exponent);
      x.w[1][r] = ldexpf(x.w[1][r], -exponent);
    }
  });

  const double tol = detail::orthogonality_tolerance<float>(rows), tol2 = tol * tol;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    bool rotated = false;
    for (int step = 0; step < count; ++step) {
      const bool odd = step & 1;
      lanes.reduce(
          [&](int, int, const Lane& x) {  // float sums: host runs held 2-3e-7 s_max, as with double ones
            ColumnSums<float> t{0, 0, 0};
#pragma unroll
            for (int r = 0; r < R; ++r)
              if (r < rpl) {
                const float p = x.w[0][r], q = x.w[1][r];
                t.dot = fmaf(p, q, t.dot);
                t.norm0 = fmaf(p, p, t.norm0);
                t.norm1 = fmaf(q, q, t.norm1);
              }
            return t;
          },
          [&](int k, int, Lane& x, const ColumnSums<float>& t) {
            x.rotated = false;
            if (k >= pairs || (odd && k == pairs - 1)) return;  // an idle group, or position count-1 waiting
            // Rotate, then swap: slot 0 <- s w_0 + c w_1, slot 1 <- c w_0 - s w_1. No rotation
            // (s = tau = 0): a swap.
            float sn = 0, tau = 0;
            if (double(t.dot) * t.dot > tol2 * t.norm0 * t.norm1) {
              float t_unused;
              detail::jacobi_rotation(t.norm0, t.norm1, t.dot, sn, t_unused, tau);
              x.rotated = sn != 0;  // a rotation that moves nothing does not keep the sweeps going
            }
#pragma unroll
            for (int r = 0; r < R; ++r) {
              float p = x.w[0][r], q = x.w[1][r];
              detail::rotate_pair(p, q, sn, tau);
              x.w[0][r] = q;
              x.w[1][r] = p;
              if (!vectors) continue;  // singular values alone need no V
              p = x.v[0][r];
              q = x.v[1][r];
              detail::rotate_pair(p, q, sn, tau);
              x.v[0][r] = q;
              x.v[1][r] = p;
            }
            const int id0 = x.id[0];
            x.id[0] = x.id[1];
            x.id[1] = id0;
          });
      // Even to odd: group k posts position 2k (slot 0) to mailbox k, and takes position 2k+2 from
      // mailbox k+1. Odd to even: it posts position 2k+2 (slot 1) to mailbox k+1 and takes position
      // 2k from mailbox k. Mailbox 0 holds position 0 while it waits; the last group's position
      // count (odd steps) is a zero column of its own.
      lanes.each([&](int k, int l, const Lane& x) {
        if (k >= pairs) return;
        if (!odd) detail::post_column<0, G>(work, ld, rpl, vectors, k, l, x);
        else if (k < pairs - 1) detail::post_column<1, G>(work, ld, rpl, vectors, k + 1, l, x);
      });
      rotated = lanes.barrier_or([](const Lane& x) { return x.rotated; }) || rotated;
      lanes.each([&](int k, int l, Lane& x) {
        if (k >= pairs) return;
        if (!odd) {
          detail::move_slot<0, 1>(x);
          if (k < pairs - 1) {
            detail::fetch_column<1, G>(work, ld, rpl, vectors, k + 1, l, x);
          } else {
#pragma unroll
            for (int r = 0; r < R; ++r) x.w[1][r] = x.v[1][r] = 0.0f;
            x.id[1] = count;
          }
        } else {
          detail::move_slot<1, 0>(x);
          detail::fetch_column<0, G>(work, ld, rpl, vectors, k, l, x);
        }
      });
    }
    if (!rotated) break;  // a sweep has count (even) steps: group k holds positions 2k, 2k+1 again
  }

  // sigma = |w|; position p's column goes to rank(p) in descending order, ties by input column.
  lanes.reduce(
      [&](int, int, const Lane& x) {
        ColumnSums<double> t{0, 0, 0};
#pragma unroll
        for (int r = 0; r < R; ++r)
          if (r < rpl) {
            t.norm0 += double(x.w[0][r]) * x.w[0][r];
            t.norm1 += double(x.w[1][r]) * x.w[1][r];
          }
        return t;
      },
      [&](int k, int l, Lane& x, const ColumnSums<double>& t) {
        if (k >= pairs || l != 0) return;
        work.sigma[2 * k] = float(sqrt(t.norm0));
        work.sigma[2 * k + 1] = float(sqrt(t.norm1));
        work.ids[2 * k] = x.id[0];
        work.ids[2 * k + 1] = x.id[1];
      });
  lanes.barrier();
  float* left = wide ? v : u;   // rows x cols: W's normalised columns
  float* right = wide ? u : v;  // cols x cols: the rotations
  lanes.each([&](int k, int l, const Lane& x) {
    if (k >= pairs) return;
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int j = x.id[c];
      if (j >= cols) continue;  // the zero column of an odd count
      const float sigma = work.sigma[2 * k + c];
      int rank = 0;
      for (int p = 0; p < count; ++p) {
        const int jp = work.ids[p];
        rank += jp < cols && (work.sigma[p] > sigma || (work.sigma[p] == sigma && jp < j));
      }
      if (l == 0) s[rank] = ldexpf(sigma, exponent);
      if (!u) continue;
      const float inv = sigma > 0 ? 1.0f / sigma : 0.0f;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int i = l + G * r;
        if (r < rpl && i < rows) left[i * cols + rank] = x.w[c][r] * inv;
        if (r < rpl && i < cols) right[i * cols + rank] = x.v[c][r];
      }
    }
  });
}

namespace detail {

// The most threads a block of the (G, R) kernel may have: what the largest matrix it holds needs
// (cols <= rows <= G R, so G R / 2 pairs at most, in whole warps), and at most 1024 at 8 rows a lane
// or 512 at 16 (room for 64 and 128 registers). The kernel is compiled for that many, so smaller
// configurations get more registers (at 1024 threads the compiler spills about 40 bytes).
constexpr int register_jacobi_max_threads(int lanes, int rows_per_lane) {
  const int needed = ((lanes * rows_per_lane + 1) / 2 * lanes + 31) / 32 * 32;
  const int cap = rows_per_lane <= 8 ? 1024 : 512;
  return needed < cap ? needed : cap;
}

template <int G, int R>
__global__ void __launch_bounds__(register_jacobi_max_threads(G, R))
    register_jacobi_svd_kernel(const float* a, int m, int n, RegisterJacobiShape shape, int max_sweeps, float* s,
                               float* u, float* v) {
  extern __shared__ float register_jacobi_shared[];
  const auto work = RegisterJacobiWork::carve(register_jacobi_shared, shape);
  DeviceLaneGroups<G, JacobiLane<R>> lanes;
  const std::int64_t b = blockIdx.x;
  const int k = shape.cols;
  register_jacobi_svd<G, R>(lanes, shape, work, a + b * m * n, m, n, max_sweeps, s + b * k, u ? u + b * m * k : nullptr,
                            v ? v + b * n * k : nullptr);
}

template <int G, int R>
void launch_register_jacobi(const float* a, std::int64_t batch, int m, int n, const RegisterJacobiShape& shape, float* s,
                            float* u, float* v) {
  const auto kernel = register_jacobi_svd_kernel<G, R>;
  const int bytes = static_cast<int>(shape.bytes());
  HFC_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const ProfiledLaunch timing([&] {
    return svd_launch_name("register_jacobi_svd", batch, m, n, u != nullptr,
                           "G=" + std::to_string(G) + " R=" + std::to_string(R));
  });
  kernel<<<static_cast<unsigned>(batch), shape.threads(), bytes, stream()>>>(a, m, n, shape, kMaxJacobiSweeps, s, u, v);
  HFC_CUDA_AFTER_LAUNCH("register_jacobi_svd_kernel");
}

}  // namespace detail

// Which compiled kernel takes an m x n matrix: its shape (lanes per column pair included) and rows
// per lane, 8 or 16; 0 when none holds it.
struct RegisterJacobiPlan {
  RegisterJacobiShape shape;
  int rows_per_lane;
  bool fits() const { return rows_per_lane != 0; }
};

// The plan for `lanes` lanes per pair: the smaller compiled rows per lane that holds the matrix,
// within its kernel's threads and the device's shared memory (limit, in bytes).
inline RegisterJacobiPlan register_jacobi_plan_for(std::int64_t m, std::int64_t n, int lanes, std::size_t limit) {
  const auto shape = RegisterJacobiShape::make(int(m), int(n), lanes);
  if (shape.bytes() <= limit)
    for (const int rows_per_lane : {8, 16})
      if (shape.rows_per_lane <= rows_per_lane &&
          shape.threads() <= detail::register_jacobi_max_threads(lanes, rows_per_lane))
        return {shape, rows_per_lane};
  return {shape, 0};
}
// The plan for an m x n matrix: `requested` lanes per pair (4, 8, 16 or 32), or with 0 the fewest
// that keep a lane at 8 rows or less, else at 16 or less. Does not fit when none does (svd_kernel
// then takes the shared-memory kernel, or reports a requested count that cannot hold the matrix).
inline RegisterJacobiPlan register_jacobi_plan(std::int64_t m, std::int64_t n, int requested, std::size_t limit) {
  check(requested == 0 || requested == 4 || requested == 8 || requested == 16 || requested == 32,
        "cuda svd: svd_lanes_per_pair must be 0 (chosen by size), 4, 8, 16 or 32, not ", requested);
  if (requested != 0) return register_jacobi_plan_for(m, n, requested, limit);
  for (const int rows_per_lane : {8, 16})
    for (const int lanes : {4, 8, 16, 32}) {
      const auto plan = register_jacobi_plan_for(m, n, lanes, limit);
      if (plan.rows_per_lane == rows_per_lane) return plan;
    }
  return {RegisterJacobiShape::make(int(m), int(n), 4), 0};
}

// f.template operator()<G, R>() for the compiled kernel of a plan that fits.
template <class F>
void with_register_jacobi_config(const RegisterJacobiPlan& plan, F&& f) {
  switch (plan.shape.lanes * 100 + plan.rows_per_lane) {
    case 408: return f.template operator()<4, 8>();
    case 416: return f.template operator()<4, 16>();
    case 808: return f.template operator()<8, 8>();
    case 816: return f.template operator()<8, 16>();
    case 1608: return f.template operator()<16, 8>();
    case 1616: return f.template operator()<16, 16>();
    case 3208: return f.template operator()<32, 8>();
    case 3216: return f.template operator()<32, 16>();
    default: fail("cuda svd (registers): no kernel for ", plan.shape.lanes, " lanes and ", plan.rows_per_lane,
                  " rows per lane");
  }
}

// The batched SVD by register_jacobi_svd, one block per matrix, as a fitting plan says.
inline void register_jacobi_svd_batched(const float* a, std::int64_t batch, std::int64_t m, std::int64_t n,
                                        const RegisterJacobiPlan& plan, float* s, float* u, float* v) {
  with_register_jacobi_config(plan, [&]<int G, int R>() {
    detail::launch_register_jacobi<G, R>(a, batch, int(m), int(n), plan.shape, s, u, v);
  });
}

}  // namespace hfc::cuda_backend
