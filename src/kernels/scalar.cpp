// Reference kernels: plain loops over element.h, the definition the SIMD128
// kernels must reproduce bit for bit.
#include <algorithm>
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

size_t AccumulateError(const float* x, size_t n, const KernelParams& p,
                       ErrorLanes* lanes) {
  const size_t whole = n / kErrorLanes * kErrorLanes;
  for (size_t b = 0; b < whole; b += kErrorBlock) {
    const size_t length = std::min(whole - b, kErrorBlock);
    element::BlockSums sums;
    float max_abs_x = 0;
    float max_abs_error = 0;
    uint64_t clipped = 0;
    for (size_t i = 0; i < length; ++i) {
      const float v = x[b + i];
      const float e = element::AbsError(v, p);
      const size_t l = i % kErrorLanes;
      sums.sq_error[l] += e * e;
      sums.abs_error[l] += e;
      sums.sq_signal[l] += v * v;
      max_abs_x = std::max(max_abs_x, std::fabs(v));
      max_abs_error = std::max(max_abs_error, e);
      clipped += element::IsClipped(v, p);
    }
    if (element::BlockHasNonFinite(sums, x + b, length)) return b;
    lanes->clipped += clipped;
    lanes->max_abs_error = std::max(lanes->max_abs_error, max_abs_error);
    if (element::FloatBlockSafe(max_abs_x, max_abs_error)) {
      sums.AddTo(lanes);
    } else {
      element::AddBlockInDouble(x + b, length, p, lanes);
    }
  }
  return element::AccumulateTail(x, whole, n, p, lanes);
}

template <typename Code>
void QuantizeRows(const float* x, size_t n, const ChannelParams& p, size_t k,
                  Code* codes) {
  ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      codes[j + t] =
          static_cast<Code>(element::OutputCode(x[j + t], p.params[q + t]));
    }
  });
}

template <typename Code>
void DequantizeRows(const Code* codes, size_t n, const ChannelParams& p,
                    size_t k, float* x) {
  ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      x[j + t] = element::Dequantize(codes[j + t], p.params[q + t]);
    }
  });
}

void MinMaxRows(const float* x, size_t n, size_t period, size_t k, float* lo,
                float* hi) {
  ForEachRowSegment(n, period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      const float v = x[j + t];
      if (v < lo[q + t]) lo[q + t] = v;
      if (v > hi[q + t]) hi[q + t] = v;
    }
  });
}

void AccumulateErrorRows(const float* x, size_t n, const ChannelParams& p,
                         size_t k, const ChannelErrors& sums) {
  ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      element::AccumulateChannelError(x[j + t], p.params[q + t], q + t, sums);
    }
  });
}

void CountKeyDigits(const float* x, size_t n, const KeyDigits& d,
                    uint64_t* counts) {
  for (size_t i = 0; i < n; ++i) element::CountKeyDigit(x[i], d, counts);
}

void CountKeyDigitsRows(const float* x, size_t n, const KeyDigitRows& rows,
                        size_t k, const KeyDigits* digits, uint64_t* counts) {
  ForEachRowSegment(n, rows.period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      element::CountRowKeyDigit(x[j + t], rows, q + t, digits, counts);
    }
  });
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
      QuantizeRows<uint8_t>,
      QuantizeRows<uint16_t>,
      QuantizeRows<int8_t>,
      QuantizeRows<int16_t>,
      DequantizeRows<uint8_t>,
      DequantizeRows<uint16_t>,
      DequantizeRows<int8_t>,
      DequantizeRows<int16_t>,
      MinMaxRows,
      AccumulateErrorRows,
      CountKeyDigits,
      CountKeyDigitsRows,
  };
  return table;
}

}  // namespace wasmquant
