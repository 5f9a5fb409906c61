#include "wasmquant/quantizer.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/element.h"
#include "nonfinite.h"

namespace wasmquant {

namespace {

std::string Describe(float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

}  // namespace

Status NonFiniteError(uint64_t index, float value) {
  return Status::RangeError(
      "element " + std::to_string(index) + " is " + Describe(value) +
      "; non-finite values are rejected unless nonFinite is 'saturate'");
}

size_t FirstNonFinite(const float* x, size_t n) {
  size_t i = 0;
  while (i < n && std::isfinite(x[i])) ++i;
  return i;
}

namespace {

template <typename Code>
void QuantizeInto(void (*kernel)(const float*, size_t, const KernelParams&,
                                 Code*),
                  const float* x, size_t n, const KernelParams& params,
                  bool has_nonfinite, Code* codes) {
  if (n < kShortRun) {
    // Per-channel runs can be this short (one element for a last-axis
    // channel): the element functions the kernels are defined by, inline.
    for (size_t i = 0; i < n; ++i) {
      codes[i] = static_cast<Code>(element::OutputCode(x[i], params));
    }
  } else {
    kernel(x, n, params, codes);
  }
  if (!has_nonfinite) return;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {
      codes[i] = static_cast<Code>(params.zero_point + params.code_offset);
    }
  }
}

}  // namespace

Status QuantizeChunk(const KernelTable& kernels, const float* x, size_t n,
                     const KernelParams& params, CodeType code_type,
                     NonFinite non_finite, uint64_t index_base, void* codes,
                     bool known_finite) {
  const bool finite =
      known_finite || (n < kShortRun ? FirstNonFinite(x, n) == n
                                     : kernels.min_max(x, n).all_finite);
  if (!finite && non_finite == NonFinite::kError) {
    const size_t i = FirstNonFinite(x, n);
    return NonFiniteError(index_base + i, x[i]);
  }
  switch (code_type) {
    case CodeType::kU8:
      QuantizeInto(kernels.quantize_u8, x, n, params, !finite,
                   static_cast<uint8_t*>(codes));
      break;
    case CodeType::kU16:
      QuantizeInto(kernels.quantize_u16, x, n, params, !finite,
                   static_cast<uint16_t*>(codes));
      break;
    case CodeType::kI8:
      QuantizeInto(kernels.quantize_i8, x, n, params, !finite,
                   static_cast<int8_t*>(codes));
      break;
    case CodeType::kI16:
      QuantizeInto(kernels.quantize_i16, x, n, params, !finite,
                   static_cast<int16_t*>(codes));
      break;
  }
  return Status::Ok();
}

namespace {

// Checks the codes against the encoding's range, then dequantizes them.
template <typename Code>
Status DequantizeFrom(void (*kernel)(const Code*, size_t, const KernelParams&,
                                     float*),
                      const Code* codes, size_t n, const KernelParams& params,
                      uint64_t index_base, float* x) {
  const int32_t lo = params.qmin + params.code_offset;
  const int32_t hi = params.qmax + params.code_offset;
  if (lo > std::numeric_limits<Code>::min() ||
      hi < std::numeric_limits<Code>::max()) {
    for (size_t i = 0; i < n; ++i) {
      if (codes[i] < lo || codes[i] > hi) {
        return Status::RangeError(
            "code " + std::to_string(codes[i]) + " at index " +
            std::to_string(index_base + i) + " is outside [" +
            std::to_string(lo) + ", " + std::to_string(hi) +
            "], the codes of this encoding");
      }
    }
  }
  if (n < kShortRun) {
    for (size_t i = 0; i < n; ++i) x[i] = element::Dequantize(codes[i], params);
  } else {
    kernel(codes, n, params, x);
  }
  return Status::Ok();
}

}  // namespace

Status DequantizeChunk(const KernelTable& kernels, const void* codes, size_t n,
                       const KernelParams& params, CodeType code_type,
                       uint64_t index_base, float* x) {
  switch (code_type) {
    case CodeType::kU8:
      return DequantizeFrom(kernels.dequantize_u8,
                            static_cast<const uint8_t*>(codes), n, params,
                            index_base, x);
    case CodeType::kU16:
      return DequantizeFrom(kernels.dequantize_u16,
                            static_cast<const uint16_t*>(codes), n, params,
                            index_base, x);
    case CodeType::kI8:
      return DequantizeFrom(kernels.dequantize_i8,
                            static_cast<const int8_t*>(codes), n, params,
                            index_base, x);
    case CodeType::kI16:
      return DequantizeFrom(kernels.dequantize_i16,
                            static_cast<const int16_t*>(codes), n, params,
                            index_base, x);
  }
  return Status::Error("unknown code type");
}

ChannelQuantizer::ChannelQuantizer(const KernelTable& kernels,
                                   const ChannelLayout& layout,
                                   const std::vector<Encoding>& encodings,
                                   Rounding rounding)
    : kernels_(kernels),
      layout_(layout),
      code_type_(encodings.empty() ? CodeType::kU8
                                   : CodeTypeOf(encodings.front())) {
  params_.reserve(encodings.size());
  for (const Encoding& e : encodings) {
    params_.push_back(MakeKernelParams(e, rounding));
    mixed_types_ |= CodeTypeOf(e) != code_type_;
  }
}

Status ChannelQuantizer::Check() const {
  if (params_.size() != layout_.channels) {
    return Status::RangeError("expected " + std::to_string(layout_.channels) +
                              " encodings, one per channel, got " +
                              std::to_string(params_.size()));
  }
  if (mixed_types_) {
    return Status::RangeError(
        "the channels' encodings must all have the same bitwidth and "
        "symmetry, so that the codes have one type");
  }
  return Status::Ok();
}

Status ChannelQuantizer::Quantize(const float* x, size_t n,
                                  NonFinite non_finite, uint64_t index_base,
                                  void* codes, bool known_finite) const {
  const size_t bytes = CodeBytes(code_type_);
  // Each run within one channel is checked and quantized on its own: on an
  // error the runs before it are written, so callers write into scratch.
  return layout_.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return QuantizeChunk(kernels_, x + j, length, params_[channel],
                             code_type_, non_finite, index_base + j,
                             static_cast<char*>(codes) + j * bytes,
                             known_finite);
      });
}

Status ChannelQuantizer::Dequantize(const void* codes, size_t n,
                                    uint64_t index_base, float* x) const {
  const size_t bytes = CodeBytes(code_type_);
  return layout_.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return DequantizeChunk(
            kernels_, static_cast<const char*>(codes) + j * bytes, length,
            params_[channel], code_type_, index_base + j, x + j);
      });
}

}  // namespace wasmquant
