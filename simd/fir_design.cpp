// Kaiser-window design after Kaiser (1974) as given in Oppenheim & Schafer, "Discrete-Time
// Signal Processing", §7.5.3.
#include "simd/fir_design.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tutti::simd::fir {
namespace {

// Modified Bessel function of the first kind, order 0, by its power series.
double bessel_i0(double x) noexcept {
  double sum = 1.0;
  double term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200 && term > 1e-17 * sum; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
  }
  return sum;
}

}  // namespace

double kaiser_beta(double atten_db) noexcept {
  if (atten_db > 50.0) return 0.1102 * (atten_db - 8.7);
  if (atten_db >= 21.0)
    return 0.5842 * std::pow(atten_db - 21.0, 0.4) + 0.07886 * (atten_db - 21.0);
  return 0.0;
}

size_t kaiser_length(double atten_db, double transition) noexcept {
  const double order = (atten_db - 7.95) / (2.285 * 2.0 * std::numbers::pi * transition);
  return static_cast<size_t>(std::ceil(order)) + 1;
}

std::vector<double> kaiser_lowpass(size_t length, double cutoff, double beta, double gain) {
  std::vector<double> taps(length);
  const double mid = static_cast<double>(length - 1) / 2.0;
  const double norm = bessel_i0(beta);
  double sum = 0.0;
  for (size_t k = 0; k < length; ++k) {
    const double t = static_cast<double>(k) - mid;
    const double ideal =
        t == 0.0 ? 2.0 * cutoff
                 : std::sin(2.0 * std::numbers::pi * cutoff * t) / (std::numbers::pi * t);
    const double r = t / mid;
    const double window = bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / norm;
    taps[k] = ideal * window;
    sum += taps[k];
  }
  for (double& tap : taps) tap *= gain / sum;
  return taps;
}

double response(const std::vector<double>& taps, double f) noexcept {
  double re = 0.0;
  double im = 0.0;
  for (size_t k = 0; k < taps.size(); ++k) {
    const double phase = 2.0 * std::numbers::pi * f * static_cast<double>(k);
    re += taps[k] * std::cos(phase);
    im -= taps[k] * std::sin(phase);
  }
  return std::hypot(re, im);
}

}  // namespace tutti::simd::fir
