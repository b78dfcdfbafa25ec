// The table of block options, their textual parsing (probe flags) and cross-field validation.
#include "block_options.h"

#include <algorithm>
#include <cstring>

#include "engine.h"
#include "json.h"
#include "option_table.h"
#include "thread_util.h"
#include "units.h"

namespace isoprobe {

namespace {

using B = BlockOptions;
constexpr int64_t kU32 = 4294967295;

const OptionTable<B>& table() {
  static const OptionTable<B> t = {
      run_setting(field<B>("file", &B::file, "data file or block device, created when missing (required)")),
      field<B>("size", "size", &B::size, "region size", 1),
      field<B>("offset", "size", &B::offset, "region start in the file"),
      field<B>("engine", &B::engine, "I/O engine", "psync|pvsync2|io_uring|null"),
      field<B>("pattern", &B::pattern, "access pattern", "read|write|randread|randwrite|randrw"),
      field<B>("rwmix_read", "uint", &B::rwmix_read, "percentage of reads for randrw", kNoBound, 100),
      field<B>("bs", "size", &B::bs, "block size", 1, 64ll << 20),
      field<B>("qd", "uint", &B::qd, "queue depth; above 1 needs io_uring or null", 1, 4096),
      field<B>("batch", "uint", &B::batch, "async engines: submit after every N prepared I/Os, like fio's iodepth_batch_submit", 1, 4096),
      field<B>("direct", &B::direct, "O_DIRECT: bypass the page cache"),
      field<B>("dsync", &B::dsync, "O_DSYNC writes (RWF_DSYNC per write with pvsync2)"),
      field<B>("fsync", "uint", &B::fsync, "fsync after every N writes, timed as its own series (0: never)", kNoBound, kU32),
      field<B>("fdatasync", "uint", &B::fdatasync, "fdatasync after every N writes (0: never)", kNoBound, kU32),
      run_setting(field<B>("ops", "uint", &B::ops, "measured operations; 0 runs for --duration")),
      run_setting(field<B>("duration", "duration", &B::duration, "measured time")),
      run_setting(field<B>("warmup", "duration", &B::warmup, "warm-up time, excluded from results")),
      run_setting(field<B>("seed", "uint", &B::seed, "seed of the random offsets and the data pattern")),
      field<B>("verify", &B::verify, "write a pattern, check every read, read it all back at the end"),
      field<B>("hipri", &B::hipri, "pvsync2: RWF_HIPRI polled completion"),
      field<B>("sqpoll", &B::sqpoll, "io_uring: kernel submission-queue polling thread"),
      field<B>("iopoll", &B::iopoll, "io_uring: polled completions (needs --direct and a polling device)"),
      field<B>("register_files", &B::register_files, "io_uring: registered file descriptor"),
      field<B>("fixed_bufs", &B::fixed_bufs, "io_uring: registered (fixed) buffers"),
      field<B>("invalidate", &B::invalidate, "drop the region from the page cache before the run"),
      field<B>("fadvise", &B::fadvise, "readahead hint for each job's descriptor (posix_fadvise, fio's fadvise_hint): auto is random for random patterns and sequential for sequential ones; without a random hint, buffered random reads pull in readahead the run never asked for", "auto|random|sequential|none"),
      run_setting(field<B>("destructive", &B::destructive, "allow writes to a file or device isoprobe did not create")),
      run_setting(field<B>("force", &B::force, "with --destructive: allow a mounted device or one holding a signature")),
      run_setting(field<B>("clock", &B::clock, "timestamp source: the monotonic clock, the CPU's counter (tsc on x86-64, cntvct on arm64), or auto", "monotonic|tsc|cntvct|auto")),
      run_setting(field<B>("lock", &B::lock, "exclusive: hold a flock on the data file for the whole run, so two runs never share it unseen; none: share it", "exclusive|none")),
      field<B>("cpu", &B::cpu, "pin the measuring thread to this CPU (-1: no pinning); --cpus N says the same", -1, 4095),
      field<B>("jobs", "uint", &B::jobs, "parallel jobs, each a thread with its own descriptor, buffers, queue depth and random stream (fio's numjobs); --ops counts per job; 0: one per CPU the probe may use (a suite's jobs: vcpus)", 0, 256),
      field<B>("split", &B::split, "each job its own equal slice of the region (fio's offset_increment); without it, all jobs share the whole region"),
      field<B>("cpus", &B::cpus, "pin job i to the i-th CPU of this list, round robin (fio's cpus_allowed_policy=split), e.g. 0,2-3"),
      field<B>("op_log", "uint", &B::op_log, "record each job's first N measured operations one by one (offset, length, start, latency) in the result's op_log, for matching them to host-side traces; 0: none", kNoBound, 16777216),
  };
  return t;
}

}  // namespace

const std::vector<OptionSpec>& block_option_specs() {
  static const std::vector<OptionSpec> specs = specs_of(table());
  return specs;
}

std::string block_option_table_json() { return option_table_json(table()); }

void write_block_options_json(JsonWriter& w, const BlockOptions& o) {
  w.begin_object();
  write_option_fields(w, table(), o);
  w.end_object();
}

std::string effective_fadvise(const BlockOptions& o, Pattern p) {
  if (o.fadvise != "auto") return o.fadvise;
  return pattern_random(p) ? "random" : "sequential";
}

bool parse_pattern(const std::string& s, Pattern* p) {
  if (s == "read") *p = Pattern::Read;
  else if (s == "write") *p = Pattern::Write;
  else if (s == "randread") *p = Pattern::RandRead;
  else if (s == "randwrite") *p = Pattern::RandWrite;
  else if (s == "randrw") *p = Pattern::RandRW;
  else return false;
  return true;
}

static std::string flag(const std::string& name) {
  std::string f = "--" + name;
  for (auto& c : f) if (c == '_') c = '-';
  return f;
}

// --jobs, --split and --cpus against the region and --verify.
uint32_t effective_jobs(const BlockOptions& o) {
  if (o.jobs) return o.jobs;
  size_t n = allowed_cpus().size();
  return uint32_t(n ? std::min<size_t>(n, 256) : 1);
}

static int validate_jobs(const BlockOptions& o, Pattern p, Error* e) {
  const uint32_t n = effective_jobs(o);
  const std::string jobs = "--jobs " + std::to_string(o.jobs) + (o.jobs ? "" : " (" + std::to_string(n) + ", one per CPU)");
  const uint64_t blocks = o.size / o.bs;
  if (o.split && blocks / n == 0)
    return option_error(e, "split", "--split with " + jobs + ": the region has " + std::to_string(blocks) + " blocks of --bs " +
                                        std::to_string(o.bs) + "; each job needs at least one");
  if (o.split && o.verify && o.qd > blocks / n && pattern_writes(p))
    return option_error(e, "qd", "--qd " + std::to_string(o.qd) + ": more than a job's slice of " + std::to_string(blocks / n) + " blocks");
  if (o.verify && n > 1 && !o.split)
    return option_error(e, "verify", "--verify with " + jobs + " needs --split: jobs sharing a region write each other's blocks, and a read could not know which write it should see");
  std::vector<int> cpus;
  return placement_cpus(o.cpus, o.cpu, &cpus, e);
}

// The engines whose capabilities satisfy `f`, as a message names them: "io_uring" or "a or b".
static std::string engines_where(bool (*f)(const EngineCaps&)) {
  std::string names;
  for (auto* en : engine_registry())
    if (f(en->caps)) names += (names.empty() ? "" : " or ") + std::string(en->name);
  return names;
}

// An option one engine declares its own is refused with any other, naming its engine.
static int check_engine_options(const BlockOptions& o, const EngineInfo& chosen, Error* e) {
  for (auto* en : engine_registry()) {
    if (en == &chosen) continue;
    for (const char* name : en->own_options) {
      bool own = false;
      for (const char* c : chosen.own_options) own = own || std::strcmp(c, name) == 0;
      if (!own && !is_default(table(), o, name))
        return option_error(e, name, flag(name) + ": applies to --engine " + en->name + ", not " + o.engine);
    }
  }
  return 0;
}

int validate_block_options(const BlockOptions& o, Error* e) {
  Pattern p;
  if (o.file.empty()) return option_error(e, "file", "--file: expected a path to a data file or block device");
  // A struct filled in C++ has not been through the setter: the table checks its enums and bounds.
  if (check_table(table(), o, e) < 0) return -EINVAL;
  parse_pattern(o.pattern, &p);  // one of the table's choices: checked above
  if (o.size < o.bs)
    return option_error(e, "size", "--size " + std::to_string(o.size) + ": expected at least one block (--bs " + std::to_string(o.bs) + ")");
  if (o.size % o.bs)
    return option_error(e, "size", "--size " + std::to_string(o.size) + ": expected a multiple of --bs " + std::to_string(o.bs));
  if (o.offset > UINT64_MAX - o.size)
    return option_error(e, "offset", "--offset " + std::to_string(o.offset) + ": region end overflows");
  const EngineInfo* engine = engine_info(o.engine);  // one of the table's choices: checked above
  if (o.qd > 1 && !engine->caps.async)
    return option_error(e, "qd", "--qd " + std::to_string(o.qd) + ": " + o.engine +
                                     " is synchronous and has one I/O in flight; use --engine " + engines_where([](const EngineCaps& c) { return c.async && c.moves_data; }) + " for a deeper queue");
  if (o.qd > o.size / o.bs && pattern_writes(p) && o.verify)
    return option_error(e, "qd", "--qd " + std::to_string(o.qd) + ": more than the region's " + std::to_string(o.size / o.bs) + " blocks");
  if (o.batch > o.qd)
    return option_error(e, "batch", "--batch " + std::to_string(o.batch) + ": expected from 1 to --qd (" + std::to_string(o.qd) + ")");
  if (o.duration == 0 && o.ops == 0)
    return option_error(e, "duration", "--duration 0: expected a positive time, or give --ops");
  if ((o.fsync || o.fdatasync) && !pattern_writes(p))
    return option_error(e, o.fsync ? "fsync" : "fdatasync",
                        flag(o.fsync ? "fsync" : "fdatasync") + ": flushes follow writes; --pattern " + o.pattern + " writes nothing");
  if (o.fsync && o.fdatasync)
    return option_error(e, "fdatasync", "--fdatasync: give either --fsync or --fdatasync, not both");
  if (check_engine_options(o, *engine, e) < 0) return -EINVAL;
  if (o.iopoll && !o.direct)
    return option_error(e, "iopoll", "--iopoll: polled completions need --direct");
  if (o.verify && o.bs < 64)
    return option_error(e, "bs", "--bs " + std::to_string(o.bs) + ": --verify needs blocks of at least 64 bytes");
  if (o.verify && !engine->caps.moves_data)
    return option_error(e, "verify", "--verify: the " + o.engine + " engine moves no data");
  if (o.force && !o.destructive)
    return option_error(e, "force", "--force: only meaningful together with --destructive");
  return validate_jobs(o, p, e);
}

int parse_option_value(const std::vector<OptionSpec>& specs, const std::string& name, const std::string& value,
                       const std::vector<std::string>& wide, const OptionSpec** found, OptionValue* out, Error* e) {
  const OptionSpec* spec = nullptr;
  for (auto& s : specs)
    if (name == s.name) spec = &s;
  std::string f = flag(name);
  if (!spec) return option_error(e, name, f + ": unknown option");
  *found = spec;
  std::string kind = spec->kind;
  uint64_t& u = out->u;
  if (kind == "size") {
    if (!parse_size(value, &u))
      return option_error(e, name, f + " \"" + value + "\": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)");
  } else if (kind == "duration") {
    if (!parse_duration(value, &u))
      return option_error(e, name, f + " \"" + value + "\": expected a time with a unit: ns, us, ms, s, m or h");
  } else if (kind == "uint") {
    if (!parse_uint(value, &u))
      return option_error(e, name, f + " \"" + value + "\": expected a whole number >= 0");
    bool is_wide = false;
    for (auto& w : wide) is_wide = is_wide || w == name;
    // A 32-bit field without a max of its own: the width is its bound (a max says it better).
    if (!is_wide && u > UINT32_MAX && spec->max == kNoBound)
      return option_error(e, name, f + " \"" + value + "\": expected a whole number below 2^32");
  } else if (kind == "int") {
    out->negative = !value.empty() && value[0] == '-';
    if (!parse_uint(out->negative ? value.substr(1) : value, &u) || u > uint64_t(INT32_MAX))
      return option_error(e, name, f + " \"" + value + "\": expected a whole number");
  } else if (kind == "bool") {
    if (value == "true" || value == "1" || value == "") out->b = true;
    else if (value == "false" || value == "0") out->b = false;
    else return option_error(e, name, f + " \"" + value + "\": expected true or false");
  } else if (kind == "enum") {
    return check_choice(spec->name, spec->choices, value, e);
  }
  return 0;
}

int check_choice(const char* name, const char* choices, const std::string& value, Error* e) {
  std::string all = std::string("|") + choices + "|";
  if (all.find("|" + value + "|") != std::string::npos) return 0;
  std::string list;
  for (const char* c = choices; *c; c++) list += *c == '|' ? std::string(", ") : std::string(1, *c);
  return option_error(e, name, flag(name) + " \"" + value + "\": expected one of " + list);
}

int check_bound(const OptionSpec& spec, int64_t v, bool wide, uint64_t u, Error* e) {
  const bool has_min = spec.min != kNoBound, has_max = spec.max != kNoBound;
  // A 64-bit field is compared unsigned (its bounds are never negative); the others signed.
  const bool low = has_min && (wide ? u < uint64_t(std::max<int64_t>(spec.min, 0)) : v < spec.min);
  const bool high = has_max && (wide ? u > uint64_t(spec.max) : v > spec.max);
  if (!low && !high) return 0;
  const bool is_int = std::strcmp(spec.kind, "int") == 0;
  auto text = [&](int64_t x, uint64_t ux) { return default_text(spec.kind, ux, x, false, "", is_int, false, false); };
  std::string expected = has_min && has_max ? "from " + text(spec.min, uint64_t(spec.min)) + " to " + text(spec.max, uint64_t(spec.max))
                         : has_min          ? "at least " + text(spec.min, uint64_t(spec.min))
                                            : "at most " + text(spec.max, uint64_t(spec.max));
  return option_error(e, spec.name, flag(spec.name) + " " + (wide ? text(int64_t(u), u) : text(v, uint64_t(v))) + ": expected " + expected);
}

int set_block_option(BlockOptions* o, const std::string& name, const std::string& value, Error* e) {
  return set_option(table(), o, name, value, e);
}

std::string default_text(const char* kind, uint64_t u, int64_t i, bool b, const std::string& s, bool is_int, bool is_bool, bool is_str) {
  std::string k = kind;
  if (is_bool) return b ? "on" : "off";
  if (is_str) return s;
  if (is_int) return std::to_string(i);
  if (k == "size") {
    const char* units[] = {"T", "G", "M", "k"};
    for (int p = 4; p >= 1; p--) {
      uint64_t m = 1ull << (10 * p);
      if (u >= m && u % m == 0) return std::to_string(u / m) + units[4 - p];
    }
  } else if (k == "duration" && u) {
    const char* units[] = {"s", "ms", "us"};
    const uint64_t per[] = {1000000000ull, 1000000ull, 1000ull};
    for (int p = 0; p < 3; p++)
      if (u % per[p] == 0) return std::to_string(u / per[p]) + units[p];
    return std::to_string(u) + "ns";
  }
  return std::to_string(u);
}

}  // namespace isoprobe
