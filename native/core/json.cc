// JsonWriter: escaping and number formatting.
#include "json.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace isoprobe {

static void escape_into(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);  // UTF-8 passes through; invalid bytes are the caller's input as given
        }
    }
  }
  out += '"';
}

void JsonWriter::key(const char* k) {
  sep();
  escape_into(out_, k);
  out_ += ':';
  after_key_ = true;
}

void JsonWriter::value(const std::string& s) {
  sep();
  escape_into(out_, s);
}

void JsonWriter::value(uint64_t v) {
  sep();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIu64, v);
  out_ += buf;
}

void JsonWriter::value(int64_t v) {
  sep();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64, v);
  out_ += buf;
}

void JsonWriter::value(double v) {
  sep();
  if (!std::isfinite(v)) { out_ += "null"; return; }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out_ += buf;
}

}  // namespace isoprobe
