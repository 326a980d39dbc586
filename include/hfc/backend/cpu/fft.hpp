#pragma once
// FFTW plans for single 2-D real maps, cached per (H, W) and precision.
//
// FFTW's planner is not thread-safe, its new-array execute functions are: plans are created
// under one mutex, then executed concurrently from OpenMP threads on any arrays. Plans are made
// with FFTW_ESTIMATE (no timing runs, so results are identical from run to run).
//
// Each shape has two pairs of plans. FFTW's SIMD codelets need their arrays aligned as the arrays
// they were planned on, and maps sit at any offset inside a batch (a 7x7 float map is 196 bytes):
// arrays FFTW calls aligned take the SIMD plans, the others FFTW_UNALIGNED ones, which may not use
// SIMD. Every map of a 64-byte-aligned batch is aligned when a map's bytes are a multiple of 64
// (28x28, 56x56 and 112x112 floats, the module's sizes); the SIMD plans filtered
// 64 maps of 56x56 in 294 us against 495 us (112x112: 1.27 against 1.96 ms) on a 2-vCPU EPYC VM.
// A map's result thus depends on its address by rounding (about 1e-7 relative), never by more.
#include <complex>
#include <map>
#include <mutex>
#include <utility>

#include <fftw3.h>

#include "hfc/core/error.hpp"

namespace hfc::cpu_backend {

template <class T>
struct Fftw;

template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  static plan r2c(int h, int w, float* in, std::complex<float>* out, unsigned flags) {
    return fftwf_plan_dft_r2c_2d(h, w, in, reinterpret_cast<fftwf_complex*>(out), flags);
  }
  static plan c2r(int h, int w, std::complex<float>* in, float* out, unsigned flags) {
    return fftwf_plan_dft_c2r_2d(h, w, reinterpret_cast<fftwf_complex*>(in), out, flags);
  }
  static void execute(plan p, float* in, std::complex<float>* out) {
    fftwf_execute_dft_r2c(p, in, reinterpret_cast<fftwf_complex*>(out));
  }
  static void execute(plan p, std::complex<float>* in, float* out) {
    fftwf_execute_dft_c2r(p, reinterpret_cast<fftwf_complex*>(in), out);
  }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
  static void* malloc(std::size_t bytes) { return fftwf_malloc(bytes); }
  static void free(void* p) { fftwf_free(p); }
  static bool simd_aligned(const void* p) { return fftwf_alignment_of(static_cast<float*>(const_cast<void*>(p))) == 0; }
};

template <>
struct Fftw<double> {
  using plan = fftw_plan;
  static plan r2c(int h, int w, double* in, std::complex<double>* out, unsigned flags) {
    return fftw_plan_dft_r2c_2d(h, w, in, reinterpret_cast<fftw_complex*>(out), flags);
  }
  static plan c2r(int h, int w, std::complex<double>* in, double* out, unsigned flags) {
    return fftw_plan_dft_c2r_2d(h, w, reinterpret_cast<fftw_complex*>(in), out, flags);
  }
  static void execute(plan p, double* in, std::complex<double>* out) {
    fftw_execute_dft_r2c(p, in, reinterpret_cast<fftw_complex*>(out));
  }
  static void execute(plan p, std::complex<double>* in, double* out) {
    fftw_execute_dft_c2r(p, reinterpret_cast<fftw_complex*>(in), out);
  }
  static void destroy(plan p) { fftw_destroy_plan(p); }
  static void* malloc(std::size_t bytes) { return fftw_malloc(bytes); }
  static void free(void* p) { fftw_free(p); }
  static bool simd_aligned(const void* p) { return fftw_alignment_of(static_cast<double*>(const_cast<void*>(p))) == 0; }
};

// The forward (r2c) and inverse (c2r) plan pair for one H x W map.
template <class T>
struct FftPlanPair {
  typename Fftw<T>::plan forward = nullptr;
  typename Fftw<T>::plan inverse = nullptr;
};

// The SIMD pair, for arrays aligned as fftw_malloc's, and the FFTW_UNALIGNED pair for the others.
template <class T>
struct FftPlans {
  FftPlanPair<T> aligned, unaligned;

  // The pair that may run on these arrays: the real input, the spectrum and the real output.
  const FftPlanPair<T>& for_arrays(const T* in, const std::complex<T>* spectrum, const T* out) const {
    const bool simd = Fftw<T>::simd_aligned(in) && Fftw<T>::simd_aligned(spectrum) && Fftw<T>::simd_aligned(out);
    return simd ? aligned : unaligned;
  }
};

template <class T>
class FftPlanCache {
 public:
  static FftPlanCache& instance() {
    static FftPlanCache cache;
    return cache;
  }

  const FftPlans<T>& get(int h, int w) {
    std::lock_guard lock(mutex_);
    auto it = plans_.find({h, w});
    if (it != plans_.end()) return it->second;
    // Planning needs arrays of the right size (fftw_malloc'd: the aligned plans assume their
    // alignment); FFTW_ESTIMATE does not touch their contents.
    const std::size_t spectrum = static_cast<std::size_t>(h) * static_cast<std::size_t>(w / 2 + 1);
    auto* real = static_cast<T*>(Fftw<T>::malloc(sizeof(T) * static_cast<std::size_t>(h) * w));
    auto* cplx = static_cast<std::complex<T>*>(Fftw<T>::malloc(sizeof(std::complex<T>) * spectrum));
    auto pair = [&](unsigned flags) {
      return FftPlanPair<T>{Fftw<T>::r2c(h, w, real, cplx, flags), Fftw<T>::c2r(h, w, cplx, real, flags)};
    };
    FftPlans<T> p{pair(FFTW_ESTIMATE), pair(FFTW_ESTIMATE | FFTW_UNALIGNED)};
    Fftw<T>::free(real);
    Fftw<T>::free(cplx);
    if (!(p.aligned.forward && p.aligned.inverse && p.unaligned.forward && p.unaligned.inverse)) {
      destroy(p);
      fail("FFTW could not plan a ", h, "x", w, " real transform");
    }
    return plans_.emplace(std::pair{h, w}, p).first->second;
  }

  ~FftPlanCache() {
    for (auto& [key, p] : plans_) destroy(p);
  }

 private:
  FftPlanCache() = default;
  static void destroy(const FftPlans<T>& p) {
    for (const auto* pair : {&p.aligned, &p.unaligned}) {
      if (pair->forward) Fftw<T>::destroy(pair->forward);
      if (pair->inverse) Fftw<T>::destroy(pair->inverse);
    }
  }
  std::mutex mutex_;
  std::map<std::pair<int, int>, FftPlans<T>> plans_;
};

}  // namespace hfc::cpu_backend
