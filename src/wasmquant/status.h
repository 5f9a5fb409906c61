// Errors of the core are values, not exceptions: the wasm builds run without
// C++ exception support, and the bindings turn a Status into a JS error.
#ifndef WASMQUANT_STATUS_H_
#define WASMQUANT_STATUS_H_

#include <string>
#include <utility>

namespace wasmquant {

enum class ErrorKind {
  kNone = 0,
  kRange = 1,  // a value outside what is allowed (JS RangeError)
  kType = 2,   // a value of the wrong kind (JS TypeError)
  kOther = 3,  // anything else (JS Error)
};

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status RangeError(std::string message) {
    return Status(ErrorKind::kRange, std::move(message));
  }
  static Status TypeError(std::string message) {
    return Status(ErrorKind::kType, std::move(message));
  }
  static Status Error(std::string message) {
    return Status(ErrorKind::kOther, std::move(message));
  }

  bool ok() const { return kind_ == ErrorKind::kNone; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

 private:
  Status(ErrorKind kind, std::string message)
      : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind_ = ErrorKind::kNone;
  std::string message_;
};

}  // namespace wasmquant

#endif  // WASMQUANT_STATUS_H_
