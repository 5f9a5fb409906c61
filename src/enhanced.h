// SPEC §3.3: choosing a range by the quantization noise it costs.
#ifndef WASMQUANT_ENHANCED_H_
#define WASMQUANT_ENHANCED_H_

#include <cstdint>
#include <vector>

#include "wasmquant/encoding.h"
#include "wasmquant/status.h"

namespace wasmquant {

// The cheapest candidate encoding for the data whose histogram, in equal
// buckets over [lo, hi] (SPEC §2 steps 1-3 applied), is given.
Status SearchEnhancedEncoding(const std::vector<uint64_t>& histogram, double lo,
                              double hi, const EncodingOptions& options,
                              Encoding* encoding);

}  // namespace wasmquant

#endif  // WASMQUANT_ENHANCED_H_
