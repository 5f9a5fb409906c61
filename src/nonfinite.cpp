#include "nonfinite.h"

#include <cmath>
#include <cstdint>
#include <string>

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

}  // namespace wasmquant
