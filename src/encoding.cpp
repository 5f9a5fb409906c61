#include "wasmquant/encoding.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace wasmquant {

namespace {

// std::to_string prints fixed-point, which turns 1e-30 into "0.000000".
std::string Num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace

Status ValidateBitwidth(int bitwidth, const std::string& name) {
  if (bitwidth < kMinBitwidth || bitwidth > kMaxBitwidth) {
    return Status::RangeError(name + " must be an integer from " +
                              std::to_string(kMinBitwidth) + " to " +
                              std::to_string(kMaxBitwidth) + ", got " +
                              std::to_string(bitwidth));
  }
  return Status::Ok();
}

Status ValidateMinRange(double min_range) {
  if (!(min_range > 0) || !std::isfinite(min_range)) {
    return Status::RangeError(
        "minRange must be a finite number greater than 0, got " +
        Num(min_range));
  }
  return Status::Ok();
}

Status ValidateEncodingOptions(const EncodingOptions& options) {
  Status status = ValidateBitwidth(options.bitwidth);
  if (status.ok()) status = ValidateMinRange(options.min_range);
  if (status.ok() && options.strict && !options.symmetric) {
    status = Status::RangeError(
        "strict applies to symmetric encodings: add symmetric: true or "
        "scheme: 'symmetric'");
  }
  return status;
}

namespace {

// The kernels work with float32 copies of scale and 1/scale, so both must be
// finite and non-zero in float32.
bool ScaleFitsFloat32(double scale) {
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  return scale > 1 / kFloatMax && scale <= kFloatMax;
}

Status ScaleError(const std::string& what, double scale) {
  return Status::RangeError(what +
                            " must be from 2.9e-39 to 3.4e38 (it and its "
                            "inverse finite in float32), got " +
                            Num(scale));
}

// Half away from zero; zf is never negative here, so this is floor(zf + 0.5).
double RoundHalfAwayFromZero(double v) { return std::round(v); }

Status CheckRange(double lo, double hi, const EncodingOptions& options) {
  Status status = ValidateEncodingOptions(options);
  if (!status.ok()) return status;
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    return Status::RangeError(
        "the range must be finite with min <= max, got [" + Num(lo) + ", " +
        Num(hi) + "]");
  }
  return Status::Ok();
}

// Fills in an encoding from its scale and offset, where the ends stay
// within float32 (else the end codes would dequantize to Infinity).
// describe() names the encoding in an error; it runs only on one, since
// per-channel and block-wise calls come here once per channel.
template <typename Describe>
Status FromScaleOffset(int bitwidth, double scale, int32_t offset,
                       bool is_symmetric, const Describe& describe,
                       Encoding* encoding) {
  if (!ScaleFitsFloat32(scale)) {
    return ScaleError("the scale of " + describe(), scale);
  }
  Encoding e;
  e.bitwidth = bitwidth;
  e.scale = scale;
  e.offset = offset;
  e.is_symmetric = is_symmetric;
  e.min = offset * scale;
  e.max = e.min + MaxUnsignedCode(e) * scale;
  if (e.min < -std::numeric_limits<float>::max() ||
      e.max > std::numeric_limits<float>::max()) {
    return Status::RangeError(
        describe() +
        " is too wide for float32: shifted onto the grid, an end would pass "
        "+-3.4e38 and dequantize to Infinity");
  }
  *encoding = e;
  return Status::Ok();
}

}  // namespace

int32_t MaxUnsignedCode(const Encoding& encoding) {
  return Steps(encoding.bitwidth) - (IsStrictSymmetric(encoding) ? 1 : 0);
}

bool IsStrictSymmetric(const Encoding& encoding) {
  return encoding.is_symmetric &&
         encoding.offset == -((int32_t{1} << (encoding.bitwidth - 1)) - 1);
}

CodeType CodeTypeOf(const Encoding& encoding) {
  if (encoding.is_symmetric) {
    return encoding.bitwidth <= 8 ? CodeType::kI8 : CodeType::kI16;
  }
  return encoding.bitwidth <= 8 ? CodeType::kU8 : CodeType::kU16;
}

Status NudgeRange(double lo, double hi, int bitwidth, Encoding* encoding) {
  const int32_t steps = Steps(bitwidth);
  const double scale = (hi - lo) / steps;
  if (!(scale > 0)) {
    return Status::RangeError("the range [" + Num(lo) + ", " + Num(hi) +
                              "] is empty");
  }
  double zero_point = RoundHalfAwayFromZero(-lo / scale);
  zero_point = std::min<double>(std::max(zero_point, 0.0), steps);
  return FromScaleOffset(
      bitwidth, scale, -static_cast<int32_t>(zero_point), false,
      [&] { return "the range [" + Num(lo) + ", " + Num(hi) + "]"; }, encoding);
}

Status ComputeTfEncoding(double lo, double hi, const EncodingOptions& options,
                         Encoding* encoding) {
  Status status = CheckRange(lo, hi, options);
  if (!status.ok()) return status;
  hi = std::max(hi, lo + options.min_range);
  // Zero must be on the grid, so the range always contains it.
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  return NudgeRange(lo, hi, options.bitwidth, encoding);
}

Status SymmetricFromAbsmax(double absmax, const EncodingOptions& options,
                           Encoding* encoding) {
  const int32_t half = int32_t{1} << (options.bitwidth - 1);
  return FromScaleOffset(
      options.bitwidth, absmax / (half - 1),
      options.strict ? -(half - 1) : -half, true,
      [&] { return "the symmetric range +-" + Num(absmax); }, encoding);
}

Status ComputeSymmetricEncoding(double lo, double hi,
                                const EncodingOptions& options,
                                Encoding* encoding) {
  Status status = CheckRange(lo, hi, options);
  if (!status.ok()) return status;
  if (options.unsigned_symmetric && lo >= 0) {
    return ComputeTfEncoding(0, hi, options, encoding);
  }
  const double absmax =
      std::max({std::fabs(lo), std::fabs(hi), options.min_range / 2});
  return SymmetricFromAbsmax(absmax, options, encoding);
}

Status ComputeEncoding(double lo, double hi, const EncodingOptions& options,
                       Encoding* encoding) {
  return options.symmetric ? ComputeSymmetricEncoding(lo, hi, options, encoding)
                           : ComputeTfEncoding(lo, hi, options, encoding);
}

Status NormalizeGivenEncoding(const Encoding& given, Encoding* encoding) {
  Status status = ValidateBitwidth(given.bitwidth, "encoding.bitwidth");
  if (!status.ok()) return status;
  const int32_t steps = Steps(given.bitwidth);
  const int32_t half = int32_t{1} << (given.bitwidth - 1);
  if (given.is_symmetric) {
    if (given.offset != -half && given.offset != -(half - 1)) {
      return Status::RangeError(
          "encoding.offset of a symmetric encoding must be -" +
          std::to_string(half) + " (or -" + std::to_string(half - 1) +
          " for strict) for bitwidth " + std::to_string(given.bitwidth) +
          ", got " + std::to_string(given.offset));
    }
  } else if (given.offset > 0 || given.offset < -steps) {
    return Status::RangeError("encoding.offset must be an integer from -" +
                              std::to_string(steps) + " to 0 for bitwidth " +
                              std::to_string(given.bitwidth) + ", got " +
                              std::to_string(given.offset));
  }
  if (!ScaleFitsFloat32(given.scale)) {
    return ScaleError("encoding.scale", given.scale);
  }
  return FromScaleOffset(
      given.bitwidth, given.scale, given.offset, given.is_symmetric,
      [&] {
        return "the encoding with scale " + Num(given.scale) + " and offset " +
               std::to_string(given.offset);
      },
      encoding);
}

}  // namespace wasmquant
