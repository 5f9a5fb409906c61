#include "wasmquant/quantizer.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/element.h"
#include "nonfinite.h"

namespace wasmquant {

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
  // Rows of at least 256 elements amortise the per-row work for a few
  // channels; Check() rejects the other cases before any use.
  constexpr size_t kMinRowPeriod = 256;
  if (layout_.RowPositions() > 0 && params_.size() == layout_.channels &&
      !mixed_types_) {
    rows_ = MakeChannelParams(params_, static_cast<size_t>(layout_.inner),
                              kMinRowPeriod);
    const bool is_signed =
        code_type_ == CodeType::kI8 || code_type_ == CodeType::kI16;
    const int32_t bits = CodeBytes(code_type_) == 1 ? 8 : 16;
    const int32_t type_low = is_signed ? -(int32_t{1} << (bits - 1)) : 0;
    const int32_t type_high =
        is_signed ? (int32_t{1} << (bits - 1)) - 1 : (int32_t{1} << bits) - 1;
    for (const KernelParams& p : params_) {
      rows_check_codes_ |= p.qmin + p.code_offset > type_low ||
                           p.qmax + p.code_offset < type_high;
    }
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
  if (rows_.period > 0) {
    return QuantizeRows(x, n, non_finite, index_base, codes, known_finite);
  }
  const size_t bytes = CodeBytes(code_type_);
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
  if (rows_.period > 0) return DequantizeRows(codes, n, index_base, x);
  const size_t bytes = CodeBytes(code_type_);
  return layout_.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return DequantizeChunk(
            kernels_, static_cast<const char*>(codes) + j * bytes, length,
            params_[channel], code_type_, index_base + j, x + j);
      });
}

namespace {

// The row-by-row forms: rows_ holds a whole number of the tensor's rows, so
// element index_base + j is at position (index_base + j) % period.
template <typename Code>
void QuantizeRowsInto(void (*kernel)(const float*, size_t, const ChannelParams&,
                                     size_t, Code*),
                      const float* x, size_t n, const ChannelParams& p,
                      size_t k, bool has_nonfinite, Code* codes) {
  kernel(x, n, p, k, codes);
  if (!has_nonfinite) return;
  ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      if (std::isnan(x[j + t])) {
        codes[j + t] = static_cast<Code>(element::ZeroCode(p.params[q + t]));
      }
    }
  });
}

template <typename Code>
Status DequantizeRowsFrom(void (*kernel)(const Code*, size_t,
                                         const ChannelParams&, size_t, float*),
                          const Code* codes, size_t n, const ChannelParams& p,
                          size_t k, bool check, uint64_t index_base, float* x) {
  // Codes outside their channel's range: OR-ed over a row segment (a loop
  // the compiler can vectorise), found one by one only when there are any.
  const int32_t* low = p.valid_low.data();
  const int32_t* high = p.valid_high.data();
  bool any_outside = false;
  if (check) {
    ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
      bool outside = false;
      for (size_t t = 0; t < length; ++t) {
        const int32_t c = codes[j + t];
        outside |= (c < low[q + t]) | (c > high[q + t]);
      }
      any_outside |= outside;
    });
  }
  if (any_outside) {
    Status status;
    ForEachRowSegment(n, p.period, k, [&](size_t j, size_t q, size_t length) {
      for (size_t t = 0; t < length && status.ok(); ++t) {
        const int32_t c = codes[j + t];
        if (c < low[q + t] || c > high[q + t]) {
          status = Status::RangeError(
              "code " + std::to_string(c) + " at index " +
              std::to_string(index_base + j + t) + " is outside [" +
              std::to_string(low[q + t]) + ", " + std::to_string(high[q + t]) +
              "], the codes of this encoding");
        }
      }
    });
    return status;
  }
  kernel(codes, n, p, k, x);
  return Status::Ok();
}

}  // namespace

Status ChannelQuantizer::QuantizeRows(const float* x, size_t n,
                                      NonFinite non_finite, uint64_t index_base,
                                      void* codes, bool known_finite) const {
  // One check over the whole x: the first non-finite element of x is the
  // first of the runs the generic path would check in order.
  const bool finite = known_finite || kernels_.min_max(x, n).all_finite;
  if (!finite && non_finite == NonFinite::kError) {
    const size_t i = FirstNonFinite(x, n);
    return NonFiniteError(index_base + i, x[i]);
  }
  const size_t k = static_cast<size_t>(index_base % rows_.period);
  switch (code_type_) {
    case CodeType::kU8:
      QuantizeRowsInto(kernels_.quantize_rows_u8, x, n, rows_, k, !finite,
                       static_cast<uint8_t*>(codes));
      break;
    case CodeType::kU16:
      QuantizeRowsInto(kernels_.quantize_rows_u16, x, n, rows_, k, !finite,
                       static_cast<uint16_t*>(codes));
      break;
    case CodeType::kI8:
      QuantizeRowsInto(kernels_.quantize_rows_i8, x, n, rows_, k, !finite,
                       static_cast<int8_t*>(codes));
      break;
    case CodeType::kI16:
      QuantizeRowsInto(kernels_.quantize_rows_i16, x, n, rows_, k, !finite,
                       static_cast<int16_t*>(codes));
      break;
  }
  return Status::Ok();
}

Status ChannelQuantizer::DequantizeRows(const void* codes, size_t n,
                                        uint64_t index_base, float* x) const {
  const size_t k = static_cast<size_t>(index_base % rows_.period);
  switch (code_type_) {
    case CodeType::kU8:
      return DequantizeRowsFrom(kernels_.dequantize_rows_u8,
                                static_cast<const uint8_t*>(codes), n, rows_, k,
                                rows_check_codes_, index_base, x);
    case CodeType::kU16:
      return DequantizeRowsFrom(kernels_.dequantize_rows_u16,
                                static_cast<const uint16_t*>(codes), n, rows_,
                                k, rows_check_codes_, index_base, x);
    case CodeType::kI8:
      return DequantizeRowsFrom(kernels_.dequantize_rows_i8,
                                static_cast<const int8_t*>(codes), n, rows_, k,
                                rows_check_codes_, index_base, x);
    case CodeType::kI16:
      return DequantizeRowsFrom(kernels_.dequantize_rows_i16,
                                static_cast<const int16_t*>(codes), n, rows_, k,
                                rows_check_codes_, index_base, x);
  }
  return Status::Error("unknown code type");
}

}  // namespace wasmquant
