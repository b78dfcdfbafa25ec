// Minimal streaming JSON writer: compact output, correct string escaping, no allocation per value
// beyond the output string.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace isoprobe {

class JsonWriter {
 public:
  void begin_object() { sep(); out_ += '{'; first_.push_back(true); }
  void end_object() { out_ += '}'; first_.pop_back(); }
  void begin_array() { sep(); out_ += '['; first_.push_back(true); }
  void end_array() { out_ += ']'; first_.pop_back(); }
  void key(const char* k);
  void value(const std::string& s);
  void value(const char* s) { value(std::string(s)); }
  void value(uint64_t v);
  void value(int64_t v);
  void value(int v) { value(int64_t(v)); }
  void value(unsigned v) { value(uint64_t(v)); }
  void value(double v);
  void value(bool b) { sep(); out_ += b ? "true" : "false"; }
  void null() { sep(); out_ += "null"; }
  template <typename T>
  void kv(const char* k, const T& v) { key(k); value(v); }
  const std::string& str() const { return out_; }

 private:
  void sep() {
    if (after_key_) { after_key_ = false; return; }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace isoprobe
