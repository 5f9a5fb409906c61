// Calibration and quantization over a tensor that may arrive in chunks.
// The JS API feeds chunks of a bounded scratch buffer; C++ callers with the
// whole tensor in memory use the one-shot functions at the end.
#ifndef WASMQUANT_QUANTIZER_H_
#define WASMQUANT_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/status.h"

namespace wasmquant {

enum class NonFinite {
  kError = 0,     // the first NaN/Inf is an error naming its index
  kSaturate = 1,  // NaN -> the code of 0.0, +Inf -> qmax, -Inf -> qmin
};

// Asymmetric encodings have uint8 codes up to 8 bits, uint16 above.
inline CodeType UnsignedCodeType(int bitwidth) {
  return bitwidth <= 8 ? CodeType::kU8 : CodeType::kU16;
}
inline size_t CodeBytes(CodeType type) {
  return type == CodeType::kU8 || type == CodeType::kI8 ? 1 : 2;
}
inline size_t CodeBytes(int bitwidth) {
  return CodeBytes(UnsignedCodeType(bitwidth));
}

// Element i of a tensor belongs to channel (i / inner) % channels: the
// tensor seen as [outer, channels, inner]. Per tensor: channels = 1.
struct ChannelLayout {
  uint64_t channels = 1;
  uint64_t inner = UINT64_MAX;

  size_t ChannelOf(uint64_t index) const {
    return static_cast<size_t>((index / inner) % channels);
  }
  // How many of the n elements from index on stay in its channel.
  size_t RunFrom(uint64_t index, size_t n) const {
    const uint64_t run = inner - index % inner;
    return run < n ? static_cast<size_t>(run) : n;
  }
};

// Quantizes x[0, n) into codes of the given type. index_base is
// the index of x[0] in the whole tensor, for error messages. On error nothing
// is written. known_finite skips the NaN/Inf scan for data a Calibrator has
// already seen whole and found finite.
Status QuantizeChunk(const KernelTable& kernels, const float* x, size_t n,
                     const KernelParams& params, CodeType code_type,
                     NonFinite non_finite, uint64_t index_base, void* codes,
                     bool known_finite = false);

// Rejects codes outside the encoding's range before writing anything.
Status DequantizeChunk(const KernelTable& kernels, const void* codes, size_t n,
                       const KernelParams& params, CodeType code_type,
                       uint64_t index_base, float* x);

// Per-channel forms: element index_base + j uses the encoding of its
// channel. Encodings must share one CodeType.
class ChannelQuantizer {
 public:
  ChannelQuantizer(const KernelTable& kernels, const ChannelLayout& layout,
                   const std::vector<Encoding>& encodings, Rounding rounding);

  // The encodings' CodeType, or an error if they do not agree.
  Status Check() const;
  Status Quantize(const float* x, size_t n, NonFinite non_finite,
                  uint64_t index_base, void* codes, bool known_finite) const;
  Status Dequantize(const void* codes, size_t n, uint64_t index_base,
                    float* x) const;
  CodeType code_type() const { return code_type_; }

 private:
  const KernelTable& kernels_;
  ChannelLayout layout_;
  std::vector<KernelParams> params_;
  CodeType code_type_;
  bool mixed_types_ = false;
};

}  // namespace wasmquant

#endif  // WASMQUANT_QUANTIZER_H_
