// Thin wrappers around the public API that use std::vector buffers and widen
// uint8/uint16 codes to uint32, so tests treat every bitwidth alike.
//
// Header-only on purpose: CMake builds only tests/cpp/*_test.cpp.
#ifndef WASMQUANT_TESTS_CPP_API_HELPERS_H_
#define WASMQUANT_TESTS_CPP_API_HELPERS_H_

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/status.h"

namespace wasmquant {
namespace test_util {

struct QuantizeResult {
  Status status;
  Encoding encoding;
  std::vector<uint32_t> codes;
};

struct DequantizeResult {
  Status status;
  std::vector<float> x;
};

// Sentinel written into output buffers before a call that must not write.
constexpr uint8_t kSentinelU8 = 0xA5;
constexpr uint16_t kSentinelU16 = 0xA5A5;
constexpr uint32_t kSentinelCode = 0xA5A5;  // widened form of either sentinel
constexpr float kSentinelFloat = -12345.5f;

inline uint32_t SentinelFor(int bitwidth) {
  return CodeBytes(bitwidth) == 1 ? kSentinelU8 : kSentinelU16;
}

// wasmquant::Quantize (calibrate + quantize) on the whole vector. The code
// buffer starts out filled with the sentinel.
inline QuantizeResult QuantizeAll(const KernelTable& kernels,
                                  const std::vector<float>& x,
                                  const QuantizeOptions& options) {
  QuantizeResult r;
  if (CodeBytes(options.bitwidth) == 1) {
    std::vector<uint8_t> codes(x.size(), kSentinelU8);
    r.status = Quantize(kernels, x.data(), x.size(), options, &r.encoding,
                        codes.data());
    r.codes.assign(codes.begin(), codes.end());
  } else {
    std::vector<uint16_t> codes(x.size(), kSentinelU16);
    r.status = Quantize(kernels, x.data(), x.size(), options, &r.encoding,
                        codes.data());
    r.codes.assign(codes.begin(), codes.end());
  }
  return r;
}

// wasmquant::QuantizeChunk with a sentinel-filled code buffer.
inline QuantizeResult QuantizeChunkAll(const KernelTable& kernels,
                                       const std::vector<float>& x,
                                       const KernelParams& params,
                                       int bitwidth, NonFinite non_finite,
                                       size_t index_base = 0) {
  QuantizeResult r;
  if (CodeBytes(bitwidth) == 1) {
    std::vector<uint8_t> codes(x.size(), kSentinelU8);
    r.status = QuantizeChunk(kernels, x.data(), x.size(), params, bitwidth,
                             non_finite, index_base, codes.data());
    r.codes.assign(codes.begin(), codes.end());
  } else {
    std::vector<uint16_t> codes(x.size(), kSentinelU16);
    r.status = QuantizeChunk(kernels, x.data(), x.size(), params, bitwidth,
                             non_finite, index_base, codes.data());
    r.codes.assign(codes.begin(), codes.end());
  }
  return r;
}

// wasmquant::DequantizeChunk with a sentinel-filled output. Codes are
// narrowed to uint8 (bitwidth <= 8) or uint16.
inline DequantizeResult DequantizeAll(const KernelTable& kernels,
                                      const std::vector<uint32_t>& codes,
                                      const KernelParams& params, int bitwidth,
                                      size_t index_base = 0) {
  DequantizeResult r;
  r.x.assign(codes.size(), kSentinelFloat);
  if (CodeBytes(bitwidth) == 1) {
    std::vector<uint8_t> narrow(codes.begin(), codes.end());
    r.status = DequantizeChunk(kernels, narrow.data(), narrow.size(), params,
                               bitwidth, index_base, r.x.data());
  } else {
    std::vector<uint16_t> narrow(codes.begin(), codes.end());
    r.status = DequantizeChunk(kernels, narrow.data(), narrow.size(), params,
                               bitwidth, index_base, r.x.data());
  }
  return r;
}

// True if message contains index as a whole decimal number.
inline bool NamesIndex(const std::string& message, uint64_t index) {
  const std::regex re("(^|[^0-9])" + std::to_string(index) + "([^0-9]|$)");
  return std::regex_search(message, re);
}

// True if message contains the word, ignoring case.
inline bool ContainsIgnoringCase(const std::string& message,
                                 const std::string& word) {
  const std::regex re(word, std::regex::icase);
  return std::regex_search(message, re);
}

}  // namespace test_util
}  // namespace wasmquant

#endif  // WASMQUANT_TESTS_CPP_API_HELPERS_H_
