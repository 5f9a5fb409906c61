// The JS face of the core. Thin: pointers into the module's own memory come
// in as numbers, Status goes out as {kind, message}, and web/ turns a non-zero
// kind into a RangeError/TypeError/Error.
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wasmquant/analysis.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/report.h"

namespace wasmquant {
namespace {

using emscripten::val;

struct JsStatus {
  int kind = 0;
  std::string message;
};

JsStatus ToJs(const Status& status) {
  return {static_cast<int>(status.kind()), status.message()};
}

// The per-chunk methods return just the Status kind (0: ok): building a
// {kind, message} object on every call costs more than a chunk of work at
// small sizes. The message of the last failure is fetched on demand.
class KeepsError {
 public:
  std::string error() const { return error_; }

 protected:
  int Keep(const Status& status) {
    if (!status.ok()) error_ = status.message();
    return static_cast<int>(status.kind());
  }

 private:
  std::string error_;
};

struct JsEncodingResult {
  int kind = 0;
  std::string message;
  Encoding encoding;
};

template <typename T>
T* Ptr(uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

const KernelTable& Kernels() { return DefaultKernels(); }

std::string Backend() { return Kernels().name; }

// The top of the heap: grows when allocations leak, stays put otherwise.
double HeapTop() {
  return static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
}

JsEncodingResult ComputeEncodingJs(double lo, double hi,
                                   const EncodingOptions& options) {
  Encoding encoding;
  const Status status = ComputeEncoding(lo, hi, options, &encoding);
  return {static_cast<int>(status.kind()), status.message(), encoding};
}

// Encodings cross as rows of kEncodingFields doubles in wasm memory
// (web/rows.js), not as Embind objects: a tensor in blocks has a million of
// them, and an object costs microseconds to convert.
constexpr size_t kEncodingFields = 6;

std::vector<Encoding> FromRows(uintptr_t address, size_t n) {
  const double* rows = Ptr<const double>(address);
  std::vector<Encoding> encodings(n);
  for (size_t i = 0; i < n; ++i, rows += kEncodingFields) {
    Encoding& e = encodings[i];
    e.bitwidth = static_cast<int>(rows[0]);
    e.min = rows[1];
    e.max = rows[2];
    e.scale = rows[3];
    e.offset = static_cast<int32_t>(rows[4]);
    e.is_symmetric = rows[5] != 0;
  }
  return encodings;
}

void WriteRows(const std::vector<Encoding>& encodings, double* r) {
  for (const Encoding& e : encodings) {
    *r++ = e.bitwidth;
    *r++ = e.min;
    *r++ = e.max;
    *r++ = e.scale;
    *r++ = e.offset;
    *r++ = e.is_symmetric ? 1 : 0;
  }
}

// Fills *rows (resized) and returns its address, for JS to read at once.
uintptr_t ToRows(const std::vector<Encoding>& encodings,
                 std::vector<double>* rows) {
  rows->resize(encodings.size() * kEncodingFields);
  WriteRows(encodings, rows->data());
  return reinterpret_cast<uintptr_t>(rows->data());
}

struct JsRowsStatus {
  int kind = 0;
  std::string message;
  double index = 0;  // the row that failed
};

// Checks the caller's encodings and derives min/max from scale and offset,
// in place; stops at the first bad one.
JsRowsStatus NormalizeEncodingsJs(uintptr_t address, size_t n) {
  std::vector<Encoding> encodings = FromRows(address, n);
  for (size_t i = 0; i < n; ++i) {
    const Status status = NormalizeGivenEncoding(encodings[i], &encodings[i]);
    if (!status.ok()) {
      return {static_cast<int>(status.kind()), status.message(),
              static_cast<double>(i)};
    }
  }
  WriteRows(encodings, Ptr<double>(address));
  return {};
}

JsStatus ValidateCalibrationJs(const CalibrationOptions& options) {
  return ToJs(ValidateCalibration(options));
}

// Calibrate and quantize a small tensor in one call (one chunk, per tensor):
// for small inputs the calls and objects of the chunked path cost more than
// the work.
JsEncodingResult QuantizeTensor(uintptr_t x, size_t n,
                                const CalibrationOptions& options,
                                Rounding rounding, uintptr_t codes) {
  Encoding encoding;
  const Status status = Quantize(Kernels(), Ptr<const float>(x), n, options,
                                 rounding, &encoding, Ptr<void>(codes));
  return {static_cast<int>(status.kind()), status.message(), encoding};
}

class JsCalibrator : public KeepsError {
 public:
  explicit JsCalibrator(const CalibrationOptions& options)
      : calibrator_(Kernels(), options) {}

  int passes() const { return calibrator_.passes(); }
  int Add(uintptr_t x, size_t n, double index_base) {
    return Keep(calibrator_.Add(Ptr<const float>(x), n,
                                static_cast<uint64_t>(index_base)));
  }
  JsStatus EndPass() { return ToJs(calibrator_.EndPass()); }
  JsStatus Finish() {
    std::vector<Encoding> encodings;
    const Status status = calibrator_.Finish(&encodings);
    ToRows(encodings, &rows_);
    return ToJs(status);
  }
  // After Finish: one row per channel.
  uintptr_t encodingRows() const {
    return reinterpret_cast<uintptr_t>(rows_.data());
  }
  double nonfinite() const {
    return static_cast<double>(calibrator_.nonfinite());
  }

 private:
  Calibrator calibrator_;
  std::vector<double> rows_;
};

class JsChannelQuantizer : public KeepsError {
 public:
  JsChannelQuantizer(uintptr_t rows, size_t n, const ChannelLayout& layout,
                     Rounding rounding)
      : quantizer_(Kernels(), layout, FromRows(rows, n), rounding) {}

  JsStatus Check() const { return ToJs(quantizer_.Check()); }
  int Quantize(uintptr_t x, size_t n, NonFinite non_finite, double index_base,
               uintptr_t codes, bool known_finite) {
    return Keep(quantizer_.Quantize(Ptr<const float>(x), n, non_finite,
                                    static_cast<uint64_t>(index_base),
                                    Ptr<void>(codes), known_finite));
  }
  int Dequantize(uintptr_t codes, size_t n, double index_base, uintptr_t x) {
    return Keep(quantizer_.Dequantize(Ptr<const void>(codes), n,
                                      static_cast<uint64_t>(index_base),
                                      Ptr<float>(x)));
  }

 private:
  ChannelQuantizer quantizer_;
};

// analyzeMany: a list of {options, rounding, rows, count} (given encodings;
// count 0: calibrated), analysed in shared passes.
class JsAnalysisSet : public KeepsError {
 public:
  explicit JsAnalysisSet(const val& list) : set_(Kernels(), Analyses(list)) {}

  int passes() const { return set_.passes(); }
  int Add(uintptr_t x, size_t n, double index_base) {
    return Keep(
        set_.Add(Ptr<const float>(x), n, static_cast<uint64_t>(index_base)));
  }
  JsStatus EndPass() { return ToJs(set_.EndPass()); }
  // After the last pass: analysis i's rows, one per channel.
  uintptr_t EncodingRows(size_t i) { return ToRows(set_.encodings(i), &rows_); }
  Report Total(size_t i) const { return set_.Total(i); }
  // After the last pass: analysis i's per-channel reports as rows of
  // kReportFields doubles (web/rows.js), one per channel.
  uintptr_t ChannelRows(size_t i) {
    const size_t channels = set_.encodings(i).size();
    report_rows_.resize(channels * kReportFields);
    double* r = report_rows_.data();
    for (size_t c = 0; c < channels; ++c) {
      const Report report = set_.Channel(i, c);
      *r++ = report.mse;
      *r++ = report.rmse;
      *r++ = report.max_abs_error;
      *r++ = report.mean_abs_error;
      *r++ = report.sqnr_db;
      *r++ = static_cast<double>(report.clipped);
      *r++ = static_cast<double>(report.count);
      *r++ = static_cast<double>(report.nonfinite);
    }
    return reinterpret_cast<uintptr_t>(report_rows_.data());
  }

 private:
  static std::vector<AnalysisOptions> Analyses(const val& list) {
    std::vector<AnalysisOptions> analyses;
    const size_t n = list["length"].as<size_t>();
    for (size_t i = 0; i < n; ++i) {
      const val item = list[i];
      AnalysisOptions a;
      a.calibration = item["options"].as<CalibrationOptions>();
      a.rounding = item["rounding"].as<Rounding>();
      a.encodings =
          FromRows(item["rows"].as<uintptr_t>(), item["count"].as<size_t>());
      analyses.push_back(a);
    }
    return analyses;
  }

  static constexpr size_t kReportFields = 8;

  AnalysisSet set_;
  std::vector<double> rows_;
  std::vector<double> report_rows_;
};

// Registered per class: a base-class member pointer is not one of the class.
template <typename T>
std::string ErrorOf(const T& holder) {
  return holder.error();
}

// uint64 counts cross as doubles: exact up to 2^53 elements.
double ReportCount(const Report& r) { return static_cast<double>(r.count); }
double ReportClipped(const Report& r) { return static_cast<double>(r.clipped); }
double ReportNonFinite(const Report& r) {
  return static_cast<double>(r.nonfinite);
}
void SetIgnored(Report&, double) {}

// Sizes and counts cross as doubles (exact up to 2^53).
double LayoutChannels(const ChannelLayout& l) {
  return static_cast<double>(l.channels);
}
void SetLayoutChannels(ChannelLayout& l, double v) {
  l.channels = static_cast<uint64_t>(v);
}
double LayoutInner(const ChannelLayout& l) {
  return static_cast<double>(l.inner);
}
void SetLayoutInner(ChannelLayout& l, double v) {
  l.inner = static_cast<uint64_t>(v);
}
double SizeHint(const CalibrationOptions& o) {
  return static_cast<double>(o.size_hint);
}
void SetSizeHint(CalibrationOptions& o, double v) {
  o.size_hint = static_cast<uint64_t>(v);
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
  value_object<JsRowsStatus>("RowsStatus")
      .field("kind", &JsRowsStatus::kind)
      .field("message", &JsRowsStatus::message)
      .field("index", &JsRowsStatus::index);
  value_object<JsEncodingResult>("EncodingResult")
      .field("kind", &JsEncodingResult::kind)
      .field("message", &JsEncodingResult::message)
      .field("encoding", &JsEncodingResult::encoding);
  // The option names of the JS API (web/options.js) are the values' names.
  emscripten::enum_<Scheme>("Scheme")
      .value("tf", Scheme::kTf)
      .value("tf_enhanced", Scheme::kTfEnhanced)
      .value("percentile", Scheme::kPercentile);
  emscripten::enum_<Rounding>("Rounding")
      .value("half-up", Rounding::kHalfUp)
      .value("half-even", Rounding::kHalfEven);
  emscripten::enum_<NonFinite>("NonFinite")
      .value("error", NonFinite::kError)
      .value("saturate", NonFinite::kSaturate);
  value_object<EncodingOptions>("EncodingOptions")
      .field("bitwidth", &EncodingOptions::bitwidth)
      .field("minRange", &EncodingOptions::min_range)
      .field("symmetric", &EncodingOptions::symmetric)
      .field("strict", &EncodingOptions::strict)
      .field("unsignedSymmetric", &EncodingOptions::unsigned_symmetric);
  value_object<ChannelLayout>("ChannelLayout")
      .field("channels", &LayoutChannels, &SetLayoutChannels)
      .field("inner", &LayoutInner, &SetLayoutInner);
  value_object<CalibrationOptions>("CalibrationOptions")
      .field("scheme", &CalibrationOptions::scheme)
      .field("encoding", &CalibrationOptions::encoding)
      .field("nonFinite", &CalibrationOptions::non_finite)
      .field("percentile", &CalibrationOptions::percentile)
      .field("layout", &CalibrationOptions::layout)
      .field("sizeHint", &SizeHint, &SetSizeHint);
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
  emscripten::function("computeEncoding", &ComputeEncodingJs);
  emscripten::function("normalizeEncodings", &NormalizeEncodingsJs);
  emscripten::function("validateCalibration", &ValidateCalibrationJs);
  emscripten::function("quantizeTensor", &QuantizeTensor);
  emscripten::class_<JsCalibrator>("Calibrator")
      .constructor<const CalibrationOptions&>()
      .function("passes", &JsCalibrator::passes)
      .function("add", &JsCalibrator::Add)
      .function("endPass", &JsCalibrator::EndPass)
      .function("finish", &JsCalibrator::Finish)
      .function("encodingRows", &JsCalibrator::encodingRows)
      .function("nonfinite", &JsCalibrator::nonfinite)
      .function("error", &ErrorOf<JsCalibrator>);
  emscripten::class_<JsChannelQuantizer>("ChannelQuantizer")
      .constructor<uintptr_t, size_t, const ChannelLayout&, Rounding>()
      .function("check", &JsChannelQuantizer::Check)
      .function("quantize", &JsChannelQuantizer::Quantize)
      .function("dequantize", &JsChannelQuantizer::Dequantize)
      .function("error", &ErrorOf<JsChannelQuantizer>);
  emscripten::class_<JsAnalysisSet>("AnalysisSet")
      .constructor<const val&>()
      .function("passes", &JsAnalysisSet::passes)
      .function("add", &JsAnalysisSet::Add)
      .function("endPass", &JsAnalysisSet::EndPass)
      .function("encodingRows", &JsAnalysisSet::EncodingRows)
      .function("total", &JsAnalysisSet::Total)
      .function("channelRows", &JsAnalysisSet::ChannelRows)
      .function("error", &ErrorOf<JsAnalysisSet>);
}

}  // namespace wasmquant
