#include "enhanced.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wasmquant {
namespace {

// Clipping noise counts three times: AIMET's weighting, which reflects that
// clipped values also lose their sign of magnitude to the network.
constexpr double kClipWeight = 3;

double Cost(const std::vector<uint64_t>& histogram, double lo, double hi,
            const Encoding& e) {
  const double width = (hi - lo) / static_cast<double>(histogram.size());
  const double top = MaxUnsignedCode(e);
  double cost = 0;
  for (size_t j = 0; j < histogram.size(); ++j) {
    if (histogram[j] == 0) continue;
    const double c = lo + (static_cast<double>(j) + 0.5) * width;
    const double p = static_cast<double>(histogram[j]);
    if (c < e.min || c > e.max) {
      const double d = c - std::clamp(c, e.min, e.max);
      cost += kClipWeight * p * d * d;
    } else {
      const double q =
          std::clamp(std::floor((c - e.min) / e.scale + 0.5), 0.0, top);
      const double d = c - (q + e.offset) * e.scale;
      cost += p * d * d;
    }
  }
  return cost;
}

// Keeps the first cheapest of the candidates offered.
class Best {
 public:
  Best(const std::vector<uint64_t>& histogram, double lo, double hi,
       double min_range)
      : histogram_(histogram), lo_(lo), hi_(hi), min_range_(min_range) {}

  void Offer(const Encoding& e) {
    // Candidates narrower than the minimum range are not allowed.
    if (e.max - e.min < min_range_ * (1 - 1e-12)) return;
    const double cost = Cost(histogram_, lo_, hi_, e);
    if (cost < cost_) {
      cost_ = cost;
      best_ = e;
    }
  }
  bool found() const { return cost_ < std::numeric_limits<double>::infinity(); }
  const Encoding& best() const { return best_; }

 private:
  const std::vector<uint64_t>& histogram_;
  double lo_, hi_, min_range_;
  double cost_ = std::numeric_limits<double>::infinity();
  Encoding best_;
};

}  // namespace

Status SearchEnhancedEncoding(const std::vector<uint64_t>& histogram, double lo,
                              double hi, const EncodingOptions& options,
                              Encoding* encoding) {
  Best best(histogram, lo, hi, options.min_range);
  Encoding e;
  if (options.symmetric && !(options.unsigned_symmetric && lo >= 0)) {
    const double absmax = std::max(std::fabs(lo), std::fabs(hi));
    Status status = SymmetricFromAbsmax(absmax, options, &e);
    if (!status.ok()) return status;
    best.Offer(e);
    for (int i = 1; i <= 101; ++i) {
      if (SymmetricFromAbsmax(absmax * i / 100, options, &e).ok())
        best.Offer(e);
    }
  } else {
    if (options.symmetric) lo = 0;  // unsigned symmetric on data >= 0
    Status status = NudgeRange(lo, hi, options.bitwidth, &e);
    if (!status.ok()) return status;
    best.Offer(e);
    const int32_t steps = Steps(options.bitwidth);
    const double max_step = (hi - lo) / steps;
    for (int k = 1; k <= 17; ++k) {
      const double scale = max_step * k / 16;
      for (int i = 0; i <= 20; ++i) {
        const double offset = std::trunc(-steps + steps * i / 20.0);
        // A candidate reaching past the data is clamped to it, re-nudged.
        const double cmin = std::max(offset * scale, lo);
        const double cmax = std::min((offset + steps) * scale, hi);
        if (cmax > cmin && NudgeRange(cmin, cmax, options.bitwidth, &e).ok()) {
          best.Offer(e);
        }
      }
    }
  }
  if (!best.found()) {
    return Status::Error("tf_enhanced found no candidate encoding");
  }
  *encoding = best.best();
  return Status::Ok();
}

}  // namespace wasmquant
