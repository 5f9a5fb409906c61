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

// Below this many elements the core works element by element rather than
// calling a kernel: per-channel runs can be this short.
constexpr size_t kShortRun = 16;

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

  // Calls run(channel, j, length) for the runs of x[0, n), the elements from
  // index_base on, that each stay in one channel; stops at the first error.
  // The channel is tracked, not divided out per run: runs can be single
  // elements (a last-axis channel), and 64-bit division is slow in wasm.
  template <typename Run>
  Status ForEachRun(uint64_t index_base, size_t n, Run&& run) const {
    size_t channel = static_cast<size_t>((index_base / inner) % channels);
    uint64_t left = inner - index_base % inner;  // in the current run
    for (size_t j = 0; j < n;) {
      const size_t length = left < n - j ? static_cast<size_t>(left) : n - j;
      Status status = run(channel, j, length);
      if (!status.ok()) return status;
      j += length;
      if (++channel == channels) channel = 0;
      left = inner;
    }
    return Status::Ok();
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
