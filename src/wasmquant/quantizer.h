// Calibration and quantization over a tensor that may arrive in chunks.
// The JS API feeds chunks of a bounded scratch buffer; C++ callers with the
// whole tensor in memory use the one-shot functions of oneshot.h.
#ifndef WASMQUANT_QUANTIZER_H_
#define WASMQUANT_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
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
// tensor seen as [outer, channels, inner]. Per tensor: channels 1, inner 0
// (one run of every element), the marker the JS API uses too.
struct ChannelLayout {
  uint64_t channels = 1;
  uint64_t inner = 0;

  bool per_tensor() const { return inner == 0; }

  // Calls run(channel, j, length) for the runs of x[0, n), the elements from
  // index_base on, that each stay in one channel; stops at the first error.
  // The channel is tracked, not divided out per run: runs can be single
  // elements (a last-axis channel), and 64-bit division is slow in wasm.
  template <typename Run>
  Status ForEachRun(uint64_t index_base, size_t n, Run&& run) const {
    if (per_tensor()) return n == 0 ? Status::Ok() : run(0, 0, n);
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

  // Layouts with runs shorter than kShortRun (channels innermost, or nearly)
  // are processed row by row instead, a row being channels * inner elements
  // with consecutive channels' params side by side (ChannelParams): this
  // returns that row length, or 0 to keep to ForEachRun. With inner > 1 the
  // params repeat per element of the row, so only for rows up to
  // kMaxRowPositions; with inner == 1 a row costs what the channels do.
  static constexpr uint64_t kMaxRowPositions = 65536;
  uint64_t RowPositions() const {
    if (inner == 0 || inner >= kShortRun) return 0;
    const uint64_t positions = channels * inner;
    return inner == 1 || positions <= kMaxRowPositions ? positions : 0;
  }
};

// How many elements each position of rows of `period` positions has had;
// whole rows are counted once, for all positions.
struct RowCounts {
  std::vector<uint64_t> partial;  // period entries
  uint64_t full = 0;

  // x[0, n), x[0] at position k.
  void Add(size_t n, size_t period, size_t k) {
    ForEachRowSegment(n, period, k, [&](size_t, size_t q, size_t length) {
      if (length == period) {
        ++full;
      } else {
        for (size_t t = 0; t < length; ++t) ++partial[q + t];
      }
    });
  }
  uint64_t operator[](size_t q) const { return full + partial[q]; }
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
  // Each run within one channel is checked and quantized on its own: on an
  // error the runs before it may have been written, so callers write into
  // scratch. (The row-by-row path of RowPositions() layouts checks the whole
  // x first and writes nothing on an error; so does Dequantize there.)
  Status Quantize(const float* x, size_t n, NonFinite non_finite,
                  uint64_t index_base, void* codes, bool known_finite) const;
  Status Dequantize(const void* codes, size_t n, uint64_t index_base,
                    float* x) const;
  CodeType code_type() const { return code_type_; }

 private:
  Status QuantizeRows(const float* x, size_t n, NonFinite non_finite,
                      uint64_t index_base, void* codes,
                      bool known_finite) const;
  Status DequantizeRows(const void* codes, size_t n, uint64_t index_base,
                        float* x) const;

  const KernelTable& kernels_;
  ChannelLayout layout_;
  std::vector<KernelParams> params_;
  ChannelParams rows_;  // period 0 unless layout_.RowPositions() is used
  // Whether some channel's codes are a narrower range than the code type's,
  // so that Dequantize must check them (as DequantizeChunk decides per run).
  bool rows_check_codes_ = false;
  CodeType code_type_;
  bool mixed_types_ = false;
};

}  // namespace wasmquant

#endif  // WASMQUANT_QUANTIZER_H_
