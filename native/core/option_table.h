// One table per option struct (fio's idea): a row per option with its name, kind, choices,
// bounds, help and the struct field it lands in. The setter, the JSON echo of every result, the
// probe's --help (defaults read from a default-constructed struct) and the addon's export to
// TypeScript are all derived from it, so an option is declared once.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "block_options.h"  // OptionSpec, OptionValue, parse_option_value
#include "error.h"
#include "json.h"

namespace isoprobe {

template <class O>
struct OptionField {
  OptionSpec spec;
  // Exactly one of these points into O; which one is the field's C++ type.
  uint64_t O::*u64 = nullptr;
  uint32_t O::*u32 = nullptr;
  int32_t O::*i32 = nullptr;
  bool O::*b = nullptr;
  std::string O::*s = nullptr;
  // Defaults that depend on what the run measures, by result kind, in the flag's own form
  // ("tcp_stream=128k|udp_stream=1472"): applied where the option was not given.
  const char* by_kind = "";
};

template <class O>
using OptionTable = std::vector<OptionField<O>>;

template <class O>
OptionField<O> field(const char* name, const char* kind, uint64_t O::*m, const char* help, int64_t min = kNoBound, int64_t max = kNoBound) {
  OptionField<O> f{{name, kind, "", help, min, max, {}}};
  f.u64 = m;
  return f;
}
template <class O>
OptionField<O> field(const char* name, const char* kind, uint32_t O::*m, const char* help, int64_t min = kNoBound, int64_t max = kNoBound) {
  OptionField<O> f{{name, kind, "", help, min, max, {}}};
  f.u32 = m;
  return f;
}
template <class O>
OptionField<O> field(const char* name, int32_t O::*m, const char* help, int64_t min, int64_t max) {
  OptionField<O> f{{name, "int", "", help, min, max, {}}};
  f.i32 = m;
  return f;
}
template <class O>
OptionField<O> field(const char* name, bool O::*m, const char* help) {
  OptionField<O> f{{name, "bool", "", help, kNoBound, kNoBound, {}}};
  f.b = m;
  return f;
}
// A string, or an enum when `choices` ("a|b|c") is given.
template <class O>
OptionField<O> field(const char* name, std::string O::*m, const char* help, const char* choices = "") {
  OptionField<O> f{{name, *choices ? "enum" : "string", choices, help, kNoBound, kNoBound, {}}};
  f.s = m;
  return f;
}

// A row that says how or where a run happens, not what workload it is (see OptionSpec::identity).
template <class O>
OptionField<O> run_setting(OptionField<O> f) {
  f.spec.identity = false;
  return f;
}

// A row whose default depends on the result kind (see OptionField::by_kind).
template <class O>
OptionField<O> by_kind(OptionField<O> f, const char* defaults) {
  f.by_kind = defaults;
  return f;
}

// The "kind=value" pairs of a by_kind string.
inline std::vector<std::pair<std::string, std::string>> kind_defaults(const char* by_kind) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string s = by_kind;
  for (size_t at = 0; at < s.size();) {
    size_t bar = s.find('|', at), eq = s.find('=', at);
    if (bar == std::string::npos) bar = s.size();
    if (eq < bar) out.emplace_back(s.substr(at, eq - at), s.substr(eq + 1, bar - eq - 1));
    at = bar + 1;
  }
  return out;
}

// Whether the option `name` of `o` has its default value (an option left alone).
template <class O>
bool is_default(const OptionTable<O>& t, const O& o, const char* name) {
  static const O d{};
  for (auto& f : t) {
    if (std::string(name) != f.spec.name) continue;
    if (f.u64) return o.*f.u64 == d.*f.u64;
    if (f.u32) return o.*f.u32 == d.*f.u32;
    if (f.i32) return o.*f.i32 == d.*f.i32;
    if (f.b) return o.*f.b == d.*f.b;
    if (f.s) return o.*f.s == d.*f.s;
  }
  return true;
}

// A numeric option's value against its row's min and max (fio's minval/maxval): 0, or -EINVAL
// with "--qd 0: expected at least 1", the bound written as its flag takes it (64M, 1ms).
int check_bound(const OptionSpec& spec, int64_t v, bool wide, uint64_t u, Error* e);

// Every row of the table holds for `o`: enums are one of their choices, numbers within their
// bounds. The setter checks what it sets; a validator calls it for a struct filled in C++.
template <class O>
int check_table(const OptionTable<O>& t, const O& o, Error* e) {
  for (auto& f : t) {
    if (f.s && *f.spec.choices && check_choice(f.spec.name, f.spec.choices, o.*f.s, e) < 0) return -EINVAL;
    if (f.u64 && check_bound(f.spec, 0, true, o.*f.u64, e) < 0) return -EINVAL;
    if (f.u32 && check_bound(f.spec, int64_t(o.*f.u32), false, 0, e) < 0) return -EINVAL;
    if (f.i32 && check_bound(f.spec, int64_t(o.*f.i32), false, 0, e) < 0) return -EINVAL;
  }
  return 0;
}

// The default of a field as its flag would take it: "256M", "5s", "on", "psync".
std::string default_text(const char* kind, uint64_t u, int64_t i, bool b, const std::string& s, bool is_int, bool is_bool, bool is_str);

template <class O>
std::string default_text(const OptionField<O>& f) {
  static const O d{};
  uint64_t u = f.u64 ? d.*f.u64 : f.u32 ? d.*f.u32 : 0;
  return default_text(f.spec.kind, u, f.i32 ? d.*f.i32 : 0, f.b ? d.*f.b : false, f.s ? d.*f.s : std::string(), f.i32 != nullptr, f.b != nullptr, f.s != nullptr);
}

template <class O>
std::vector<OptionSpec> specs_of(const OptionTable<O>& t) {
  std::vector<OptionSpec> out;
  for (auto& f : t) {
    out.push_back(f.spec);
    out.back().def = default_text(f);
    for (auto& [kind, v] : kind_defaults(f.by_kind)) out.back().def += "; " + kind + " " + v;
  }
  return out;
}

// Sets one option from its textual form, within its row's bounds. Only 64-bit fields take values
// above 2^32. `t` is the
// one table of O (a function-local static), so what is derived from it is derived once.
template <class O>
int set_option(const OptionTable<O>& t, O* o, const std::string& name, const std::string& value, Error* e) {
  static const std::vector<OptionSpec> specs = specs_of(t);
  static const std::vector<std::string> wide = [&t] {
    std::vector<std::string> w;
    for (auto& f : t)
      if (f.u64) w.push_back(f.spec.name);
    return w;
  }();
  const OptionSpec* spec;
  OptionValue v;
  int rc = parse_option_value(specs, name, value, wide, &spec, &v, e);
  if (rc < 0) return rc;
  const int64_t signed_value = v.negative ? -int64_t(v.u) : int64_t(v.u);
  for (auto& f : t) {
    if (name != f.spec.name) continue;
    // The value as parsed, before it is narrowed to its field.
    if ((f.u64 || f.u32) && check_bound(f.spec, 0, true, v.u, e) < 0) return -EINVAL;
    if (f.i32 && check_bound(f.spec, signed_value, false, 0, e) < 0) return -EINVAL;
    if (f.u64) o->*f.u64 = v.u;
    else if (f.u32) o->*f.u32 = uint32_t(v.u);
    else if (f.i32) o->*f.i32 = int32_t(signed_value);
    else if (f.b) o->*f.b = v.b;
    else if (f.s) o->*f.s = value;
  }
  return 0;
}

// Sets each by_kind default of `kind` whose option is not among `given` (the names the command set).
template <class O>
int apply_kind_defaults(const OptionTable<O>& t, O* o, const std::string& kind, const std::vector<std::string>& given, Error* e) {
  for (auto& f : t) {
    bool set = false;
    for (auto& g : given) set = set || g == f.spec.name;
    if (set) continue;
    for (auto& [k, v] : kind_defaults(f.by_kind))
      if (k == kind && set_option(t, o, f.spec.name, v, e) < 0) return -EINVAL;
  }
  return 0;
}

// Every option's effective value, as members of the object being written (the result's "options").
template <class O>
void write_option_fields(JsonWriter& w, const OptionTable<O>& t, const O& o) {
  for (auto& f : t) {
    if (f.u64) w.kv(f.spec.name, o.*f.u64);
    else if (f.u32) w.kv(f.spec.name, uint64_t(o.*f.u32));
    else if (f.i32) w.kv(f.spec.name, int64_t(o.*f.i32));
    else if (f.b) w.kv(f.spec.name, o.*f.b);
    else if (f.s) w.kv(f.spec.name, o.*f.s);
  }
}

// The default of a field as JSON (the value in a default-constructed O).
template <class O>
void write_default_json(JsonWriter& w, const OptionField<O>& f) {
  static const O d{};
  if (f.u64) w.value(d.*f.u64);
  else if (f.u32) w.value(uint64_t(d.*f.u32));
  else if (f.i32) w.value(int64_t(d.*f.i32));
  else if (f.b) w.value(d.*f.b);
  else if (f.s) w.value(d.*f.s);
}

// The table as JSON, for the TypeScript side: [{name, kind, choices, help, default, min, max, identity, by_kind}].
template <class O>
std::string option_table_json(const OptionTable<O>& t) {
  JsonWriter w;
  w.begin_array();
  for (auto& f : t) {
    w.begin_object();
    w.kv("name", f.spec.name);
    w.kv("kind", f.spec.kind);
    w.kv("choices", f.spec.choices);
    w.kv("help", f.spec.help);
    w.key("default");
    write_default_json(w, f);
    if (f.spec.min != kNoBound) w.kv("min", f.spec.min);
    if (f.spec.max != kNoBound) w.kv("max", f.spec.max);
    w.kv("identity", f.spec.identity);
    if (*f.by_kind) w.kv("by_kind", f.by_kind);
    w.end_object();
  }
  w.end_array();
  return w.str();
}

}  // namespace isoprobe
