// Just enough JSON to read the shared test vectors (tests/vectors/*.json):
// objects, arrays, numbers, strings without escapes but \" and \\, true,
// false, null. A malformed file fails the test that reads it.
#ifndef WASMQUANT_TESTS_JSON_H_
#define WASMQUANT_TESTS_JSON_H_

#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace wasmquant {
namespace test_json {

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  bool is_null() const { return kind == Kind::kNull; }
  const Value& operator[](const std::string& key) const {
    const auto it = object.find(key);
    if (kind != Kind::kObject || it == object.end()) {
      throw std::runtime_error("JSON: no field \"" + key + "\"");
    }
    return it->second;
  }
  const Value& operator[](size_t i) const { return array.at(i); }
  size_t size() const { return array.size(); }
};

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Value ParseDocument() {
    Value v = ParseValue();
    SkipSpace();
    if (pos_ != text_.size()) Fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("JSON at " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Take(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Take(c)) Fail(std::string("expected '") + c + "'");
  }
  bool TakeWord(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  std::string ParseString() {
    Expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) Fail("unfinished escape");
        c = text_[pos_++];
        if (c != '"' && c != '\\') Fail("unsupported escape");
      }
      out += c;
    }
    Expect('"');
    return out;
  }

  Value ParseValue() {
    SkipSpace();
    Value v;
    if (pos_ >= text_.size()) Fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') {
      v.kind = Value::Kind::kObject;
      ++pos_;
      if (Take('}')) return v;
      do {
        SkipSpace();
        const std::string key = ParseString();
        Expect(':');
        v.object[key] = ParseValue();
      } while (Take(','));
      Expect('}');
    } else if (c == '[') {
      v.kind = Value::Kind::kArray;
      ++pos_;
      if (Take(']')) return v;
      do {
        v.array.push_back(ParseValue());
      } while (Take(','));
      Expect(']');
    } else if (c == '"') {
      v.kind = Value::Kind::kString;
      v.string = ParseString();
    } else if (TakeWord("true")) {
      v.kind = Value::Kind::kBool;
      v.boolean = true;
    } else if (TakeWord("false")) {
      v.kind = Value::Kind::kBool;
    } else if (TakeWord("null")) {
      v.kind = Value::Kind::kNull;
    } else {
      char* end = nullptr;
      v.kind = Value::Kind::kNumber;
      v.number = std::strtod(text_.c_str() + pos_, &end);
      if (end == text_.c_str() + pos_) Fail("expected a value");
      pos_ = static_cast<size_t>(end - text_.c_str());
    }
    return v;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

inline Value Parse(const std::string& text) {
  return Parser(text).ParseDocument();
}

}  // namespace test_json
}  // namespace wasmquant

#endif  // WASMQUANT_TESTS_JSON_H_
