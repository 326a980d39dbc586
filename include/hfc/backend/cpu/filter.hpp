#pragma once
// Frequency filtering of a batch of real 2-D maps: out = irfft2(rfft2(in) * response), through
// a few Fourier modes when the response (or one minus it) is band-limited (band_filter.hpp), else
// through FFTW.
#include <complex>
#include <cstdint>

#include "hfc/backend/cpu/band_filter.hpp"
#include "hfc/backend/cpu/fft.hpp"
#include "hfc/backend/cpu/memory.hpp"

namespace hfc::cpu_backend {

// in, out: `maps` maps of h x w. response: h x (w/2 + 1) real weights on the unshifted
// half-spectrum, with the 1/(h*w) normalisation of the inverse transform folded in.
// `out` may alias `in`.
template <class T>
void frequency_filter_kernel(cpu, const T* in, T* out, std::int64_t maps, std::int64_t h, std::int64_t w,
                             const T* response) {
  if (const auto band = band_plan(response, h, w)) {
    band_filter_kernel(in, out, maps, h, w, *band);
    return;
  }
  const auto& plans = FftPlanCache<T>::instance().get(static_cast<int>(h), static_cast<int>(w));
  const std::int64_t half = h * (w / 2 + 1);
  const std::int64_t area = h * w;
#pragma omp parallel for schedule(static)
  for (std::int64_t m = 0; m < maps; ++m) {
    struct Spectrum;
    auto* spectrum = aligned_scratch<std::complex<T>, Spectrum>(static_cast<std::size_t>(half));
    const auto& pair = plans.for_arrays(in + m * area, spectrum, out + m * area);
    // r2c does not modify its input (out-of-place, FFTW_PRESERVE_INPUT is its default).
    Fftw<T>::execute(pair.forward, const_cast<T*>(in + m * area), spectrum);
    for (std::int64_t i = 0; i < half; ++i) spectrum[i] *= response[i];
    Fftw<T>::execute(pair.inverse, spectrum, out + m * area);
  }
}

}  // namespace hfc::cpu_backend
