// The JS face of the core. Thin: pointers into the module's own memory come
// in as numbers, Status goes out as {kind, message}, and web/ turns a non-zero
// kind into a RangeError/TypeError/Error.
#include <emscripten/bind.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/report.h"

namespace wasmquant {
namespace {

struct JsStatus {
  int kind = 0;
  std::string message;
};

JsStatus ToJs(const Status& status) {
  return {static_cast<int>(status.kind()), status.message()};
}

struct JsEncodingResult {
  int kind = 0;
  std::string message;
  Encoding encoding;
};

JsEncodingResult ToJs(const Status& status, const Encoding& encoding) {
  return {static_cast<int>(status.kind()), status.message(), encoding};
}

template <typename T>
T* Ptr(uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

const KernelTable& Kernels() { return DefaultKernels(); }

std::string Backend() { return Kernels().name; }

JsEncodingResult ComputeEncoding(double lo, double hi, int bitwidth,
                                 double min_range) {
  Encoding encoding;
  const Status status =
      ComputeTfEncoding(lo, hi, {bitwidth, min_range}, &encoding);
  return ToJs(status, encoding);
}

JsEncodingResult NormalizeEncoding(const Encoding& given) {
  Encoding encoding;
  const Status status = NormalizeGivenEncoding(given, &encoding);
  return ToJs(status, encoding);
}

class JsRangeTracker {
 public:
  explicit JsRangeTracker(int non_finite)
      : tracker_(Kernels(), static_cast<NonFinite>(non_finite)) {}
  JsStatus Add(uintptr_t x, size_t n) {
    return ToJs(tracker_.Add(Ptr<const float>(x), n));
  }
  JsEncodingResult Finish(int bitwidth, double min_range) const {
    Encoding encoding;
    const Status status = tracker_.Finish({bitwidth, min_range}, &encoding);
    return ToJs(status, encoding);
  }
  double nonfinite() const { return static_cast<double>(tracker_.nonfinite()); }

 private:
  RangeTracker tracker_;
};

JsStatus QuantizeChunkJs(uintptr_t x, size_t n, const Encoding& encoding,
                         int rounding, int non_finite, double index_base,
                         uintptr_t codes, bool known_finite) {
  return ToJs(QuantizeChunk(
      Kernels(), Ptr<const float>(x), n,
      MakeKernelParams(encoding, static_cast<Rounding>(rounding)),
      encoding.bitwidth, static_cast<NonFinite>(non_finite),
      static_cast<size_t>(index_base), Ptr<void>(codes), known_finite));
}

JsStatus DequantizeChunkJs(uintptr_t codes, size_t n, const Encoding& encoding,
                           double index_base, uintptr_t x) {
  return ToJs(DequantizeChunk(Kernels(), Ptr<const void>(codes), n,
                              MakeKernelParams(encoding, Rounding::kHalfUp),
                              encoding.bitwidth,
                              static_cast<size_t>(index_base), Ptr<float>(x)));
}

class JsErrorAccumulator {
 public:
  JsErrorAccumulator(const Encoding& encoding, int rounding, int non_finite)
      : accumulator_(
            Kernels(),
            MakeKernelParams(encoding, static_cast<Rounding>(rounding)),
            static_cast<NonFinite>(non_finite)) {}
  JsStatus Add(uintptr_t x, size_t n) {
    return ToJs(accumulator_.Add(Ptr<const float>(x), n));
  }
  Report Finish() const { return accumulator_.Finish(); }

 private:
  ErrorAccumulator accumulator_;
};

// uint64 counts cross as doubles: exact up to 2^53 elements.
double ReportCount(const Report& r) { return static_cast<double>(r.count); }
double ReportClipped(const Report& r) { return static_cast<double>(r.clipped); }
double ReportNonFinite(const Report& r) {
  return static_cast<double>(r.nonfinite);
}
void SetIgnored(Report&, double) {}

// The top of the heap: grows when allocations leak, stays put otherwise.
double HeapTop() {
  return static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
}

}  // namespace

EMSCRIPTEN_BINDINGS(wasmquant) {
  using emscripten::value_object;
  value_object<JsStatus>("Status")
      .field("kind", &JsStatus::kind)
      .field("message", &JsStatus::message);
  value_object<Encoding>("Encoding")
      .field("bitwidth", &Encoding::bitwidth)
      .field("min", &Encoding::min)
      .field("max", &Encoding::max)
      .field("scale", &Encoding::scale)
      .field("offset", &Encoding::offset)
      .field("isSymmetric", &Encoding::is_symmetric);
  value_object<JsEncodingResult>("EncodingResult")
      .field("kind", &JsEncodingResult::kind)
      .field("message", &JsEncodingResult::message)
      .field("encoding", &JsEncodingResult::encoding);
  value_object<Report>("Report")
      .field("mse", &Report::mse)
      .field("rmse", &Report::rmse)
      .field("maxAbsError", &Report::max_abs_error)
      .field("meanAbsError", &Report::mean_abs_error)
      .field("sqnrDb", &Report::sqnr_db)
      .field("clipped", &ReportClipped, &SetIgnored)
      .field("count", &ReportCount, &SetIgnored)
      .field("nonFinite", &ReportNonFinite, &SetIgnored);

  emscripten::function("backend", &Backend);
  emscripten::function("heapTop", &HeapTop);
  emscripten::function("computeEncoding", &ComputeEncoding);
  emscripten::function("normalizeEncoding", &NormalizeEncoding);
  emscripten::function("quantizeChunk", &QuantizeChunkJs);
  emscripten::function("dequantizeChunk", &DequantizeChunkJs);
  emscripten::class_<JsRangeTracker>("RangeTracker")
      .constructor<int>()
      .function("add", &JsRangeTracker::Add)
      .function("finish", &JsRangeTracker::Finish)
      .function("nonfinite", &JsRangeTracker::nonfinite);
  emscripten::class_<JsErrorAccumulator>("ErrorAccumulator")
      .constructor<const Encoding&, int, int>()
      .function("add", &JsErrorAccumulator::Add)
      .function("finish", &JsErrorAccumulator::Finish);
}

}  // namespace wasmquant
