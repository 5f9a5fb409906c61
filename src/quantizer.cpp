#include "wasmquant/quantizer.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "nonfinite.h"

namespace wasmquant {

namespace {

std::string Describe(float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

}  // namespace

Status NonFiniteError(size_t index, float value) {
  return Status::RangeError(
      "element " + std::to_string(index) + " is " + Describe(value) +
      "; non-finite values are rejected unless nonFinite is 'saturate'");
}

size_t FirstNonFinite(const float* x, size_t n) {
  size_t i = 0;
  while (i < n && std::isfinite(x[i])) ++i;
  return i;
}

Status RangeTracker::Add(const float* x, size_t n) {
  const MinMaxResult r = kernels_.min_max(x, n);
  float lo = r.lo;
  float hi = r.hi;
  if (!r.all_finite) {
    if (non_finite_ == NonFinite::kError) {
      const size_t i = FirstNonFinite(x, n);
      return NonFiniteError(count_ + i, x[i]);
    }
    lo = std::numeric_limits<float>::infinity();
    hi = -lo;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(x[i])) {
        ++nonfinite_;
        continue;
      }
      if (x[i] < lo) lo = x[i];
      if (x[i] > hi) hi = x[i];
    }
  }
  if (lo < lo_) lo_ = lo;
  if (hi > hi_) hi_ = hi;
  count_ += n;
  return Status::Ok();
}

Status RangeTracker::Finish(const EncodingOptions& options,
                            Encoding* encoding) const {
  if (count_ == 0) {
    return Status::RangeError(
        "the tensor is empty: there is nothing to calibrate");
  }
  if (nonfinite_ == count_) {
    return Status::RangeError(
        "the tensor has no finite element to calibrate on");
  }
  return ComputeTfEncoding(lo_ + 0.0f, hi_ + 0.0f, options, encoding);
}

namespace {

template <typename Code>
void QuantizeInto(void (*kernel)(const float*, size_t, const KernelParams&,
                                 Code*),
                  const float* x, size_t n, const KernelParams& params,
                  bool has_nonfinite, Code* codes) {
  kernel(x, n, params, codes);
  if (!has_nonfinite) return;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) codes[i] = static_cast<Code>(params.zero_point);
  }
}

}  // namespace

Status QuantizeChunk(const KernelTable& kernels, const float* x, size_t n,
                     const KernelParams& params, int bitwidth,
                     NonFinite non_finite, size_t index_base, void* codes,
                     bool known_finite) {
  const bool finite = known_finite || kernels.min_max(x, n).all_finite;
  if (!finite && non_finite == NonFinite::kError) {
    const size_t i = FirstNonFinite(x, n);
    return NonFiniteError(index_base + i, x[i]);
  }
  if (CodeBytes(bitwidth) == 1) {
    QuantizeInto(kernels.quantize_u8, x, n, params, !finite,
                 static_cast<uint8_t*>(codes));
  } else {
    QuantizeInto(kernels.quantize_u16, x, n, params, !finite,
                 static_cast<uint16_t*>(codes));
  }
  return Status::Ok();
}

namespace {

template <typename Code>
Status CheckCodes(const Code* codes, size_t n, int bitwidth,
                  size_t index_base) {
  const uint32_t steps = static_cast<uint32_t>(Steps(bitwidth));
  if (steps >= std::numeric_limits<Code>::max()) return Status::Ok();
  for (size_t i = 0; i < n; ++i) {
    if (codes[i] > steps) {
      return Status::RangeError("code " + std::to_string(codes[i]) +
                                " at index " + std::to_string(index_base + i) +
                                " is outside [0, " + std::to_string(steps) +
                                "] for bitwidth " + std::to_string(bitwidth));
    }
  }
  return Status::Ok();
}

}  // namespace

Status DequantizeChunk(const KernelTable& kernels, const void* codes, size_t n,
                       const KernelParams& params, int bitwidth,
                       size_t index_base, float* x) {
  if (CodeBytes(bitwidth) == 1) {
    const auto* in = static_cast<const uint8_t*>(codes);
    Status status = CheckCodes(in, n, bitwidth, index_base);
    if (!status.ok()) return status;
    kernels.dequantize_u8(in, n, params, x);
  } else {
    const auto* in = static_cast<const uint16_t*>(codes);
    Status status = CheckCodes(in, n, bitwidth, index_base);
    if (!status.ok()) return status;
    kernels.dequantize_u16(in, n, params, x);
  }
  return Status::Ok();
}

Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const QuantizeOptions& options, Encoding* encoding) {
  RangeTracker tracker(kernels, options.non_finite);
  Status status = tracker.Add(x, n);
  if (!status.ok()) return status;
  return tracker.Finish({options.bitwidth, options.min_range}, encoding);
}

Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const QuantizeOptions& options, Encoding* encoding,
                void* codes) {
  Status status = Calibrate(kernels, x, n, options, encoding);
  if (!status.ok()) return status;
  return QuantizeChunk(kernels, x, n,
                       MakeKernelParams(*encoding, options.rounding),
                       options.bitwidth, options.non_finite, 0, codes);
}

}  // namespace wasmquant
