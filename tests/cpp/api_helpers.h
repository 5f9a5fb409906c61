// Thin wrappers around the public API that use std::vector buffers and widen
// uint8/uint16 codes to uint32, so tests treat every bitwidth alike.
//
// Header-only on purpose: CMake builds only tests/cpp/*_test.cpp.
#ifndef WASMQUANT_TESTS_CPP_API_HELPERS_H_
#define WASMQUANT_TESTS_CPP_API_HELPERS_H_

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
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
                                       const KernelParams& params, int bitwidth,
                                       NonFinite non_finite,
                                       uint64_t index_base = 0) {
  QuantizeResult r;
  if (CodeBytes(bitwidth) == 1) {
    std::vector<uint8_t> codes(x.size(), kSentinelU8);
    r.status = QuantizeChunk(kernels, x.data(), x.size(), params,
                             UnsignedCodeType(bitwidth), non_finite, index_base,
                             codes.data());
    r.codes.assign(codes.begin(), codes.end());
  } else {
    std::vector<uint16_t> codes(x.size(), kSentinelU16);
    r.status = QuantizeChunk(kernels, x.data(), x.size(), params,
                             UnsignedCodeType(bitwidth), non_finite, index_base,
                             codes.data());
    r.codes.assign(codes.begin(), codes.end());
  }
  return r;
}

// wasmquant::DequantizeChunk with a sentinel-filled output. Codes are
// narrowed to uint8 (bitwidth <= 8) or uint16.
inline DequantizeResult DequantizeAll(const KernelTable& kernels,
                                      const std::vector<uint32_t>& codes,
                                      const KernelParams& params, int bitwidth,
                                      uint64_t index_base = 0) {
  DequantizeResult r;
  r.x.assign(codes.size(), kSentinelFloat);
  if (CodeBytes(bitwidth) == 1) {
    std::vector<uint8_t> narrow(codes.begin(), codes.end());
    r.status =
        DequantizeChunk(kernels, narrow.data(), narrow.size(), params,
                        UnsignedCodeType(bitwidth), index_base, r.x.data());
  } else {
    std::vector<uint16_t> narrow(codes.begin(), codes.end());
    r.status =
        DequantizeChunk(kernels, narrow.data(), narrow.size(), params,
                        UnsignedCodeType(bitwidth), index_base, r.x.data());
  }
  return r;
}

inline std::string ToLower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// True if message contains the word, ignoring case.
inline bool ContainsIgnoringCase(const std::string& message,
                                 const std::string& word) {
  return ToLower(message).find(ToLower(word)) != std::string::npos;
}

// True if message contains index as a whole decimal number.
inline bool NamesIndex(const std::string& message, uint64_t index) {
  const std::string digits = std::to_string(index);
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t pos = message.find(digits); pos != std::string::npos;
       pos = message.find(digits, pos + 1)) {
    const size_t end = pos + digits.size();
    if ((pos == 0 || !is_digit(message[pos - 1])) &&
        (end == message.size() || !is_digit(message[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace test_util
}  // namespace wasmquant

#endif  // WASMQUANT_TESTS_CPP_API_HELPERS_H_
