// Reference kernels: plain loops over element.h, the definition the SIMD128
// kernels must reproduce bit for bit.
#include <cmath>
#include <limits>

#include "kernels/element.h"
#include "wasmquant/kernels.h"

namespace wasmquant {
namespace {

MinMaxResult MinMax(const float* x, size_t n) {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -lo;
  bool nan = false;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    nan |= v != v;
  }
  const bool all_finite = !nan && std::isfinite(lo) && std::isfinite(hi);
  return {element::CanonicalZero(lo), element::CanonicalZero(hi),
          all_finite || n == 0};
}

template <typename Code>
void Quantize(const float* x, size_t n, const KernelParams& p, Code* codes) {
  for (size_t i = 0; i < n; ++i) {
    codes[i] = static_cast<Code>(element::OutputCode(x[i], p));
  }
}

template <typename Code>
void Dequantize(const Code* codes, size_t n, const KernelParams& p, float* x) {
  for (size_t i = 0; i < n; ++i) x[i] = element::Dequantize(codes[i], p);
}

void AccumulateError(const float* x, size_t n, const KernelParams& p,
                     ErrorLanes* lanes) {
  for (size_t i = 0; i < n; ++i) {
    element::AccumulateError(x[i], p, static_cast<int>(i % kErrorLanes), lanes);
  }
}

}  // namespace

const KernelTable& ScalarKernels() {
  static const KernelTable table = {
      "scalar",
      MinMax,
      Quantize<uint8_t>,
      Quantize<uint16_t>,
      Quantize<int8_t>,
      Quantize<int16_t>,
      Dequantize<uint8_t>,
      Dequantize<uint16_t>,
      Dequantize<int8_t>,
      Dequantize<int16_t>,
      AccumulateError,
  };
  return table;
}

}  // namespace wasmquant
