// Options of a block workload: one flat struct, filled by the addon from JS or by the probe's flags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "error.h"

namespace isoprobe {

enum class Pattern { Read, Write, RandRead, RandWrite, RandRW };

struct BlockOptions {
  std::string file;
  uint64_t size = 256ull << 20;   // region size in bytes
  uint64_t offset = 0;            // region start in bytes
  std::string engine = "psync";   // psync | pvsync2 | io_uring | null
  std::string pattern = "randread";
  uint32_t rwmix_read = 50;       // % reads for randrw
  uint64_t bs = 4096;
  uint32_t qd = 1;
  uint32_t batch = 1;              // async engines: submit after every N prepared I/Os
  bool direct = false;            // O_DIRECT
  bool dsync = false;             // O_DSYNC (RWF_DSYNC per write with pvsync2)
  uint32_t fsync = 0;             // fsync after every N writes (0: never)
  uint32_t fdatasync = 0;         // fdatasync after every N writes (0: never)
  uint64_t ops = 0;               // measured ops; 0: run for duration
  uint64_t duration = 5000000000ull;  // ns
  uint64_t warmup = 1000000000ull;    // ns, excluded from results
  uint64_t seed = 1;
  bool verify = false;
  bool hipri = false;             // pvsync2: RWF_HIPRI
  bool sqpoll = false;            // io_uring: IORING_SETUP_SQPOLL
  bool iopoll = false;            // io_uring: IORING_SETUP_IOPOLL
  bool register_files = false;    // io_uring: registered file
  bool fixed_bufs = false;        // io_uring: registered buffers
  bool invalidate = true;         // drop the region from the page cache before the run
  std::string fadvise = "auto";   // readahead hint per descriptor: auto | random | sequential | none
  bool destructive = false;       // allow writing to a file/device isoprobe did not create
  bool force = false;             // allow even a mounted device or one with a signature
  std::string clock = "monotonic";  // monotonic | tsc | auto
  std::string lock = "exclusive";   // exclusive: flock the data file for the run | none
  int32_t cpu = -1;               // pin the measuring thread (-1: no pinning)
  uint32_t jobs = 1;              // parallel jobs, a thread each (fio's numjobs)
  bool split = false;             // each job its own slice of the region (fio's offset_increment)
  std::string cpus;               // pin job i to the i-th CPU of this list, round robin ("" none)
  uint32_t op_log = 0;            // each job's first N measured ops, one by one, in the result (0: none)
};

constexpr int64_t kNoBound = INT64_MIN;

// One option as the front ends see it; built from the option table (option_table.h).
struct OptionSpec {
  const char* name;       // key in JSON/JS and the flag without "--"
  const char* kind;       // "size" | "duration" | "uint" | "bool" | "string" | "enum" | "int"
  const char* choices;    // "a|b|c" for enums
  const char* help;
  int64_t min = kNoBound;  // bounds the TypeScript side checks with its own messages
  int64_t max = kNoBound;
  std::string def;        // the default as its flag takes it ("256M", "5s", "on"), for --help
  // Part of what the workload is: two results that differ in such an option are never one cell
  // of a comparison. False for how and where a run happens (file, duration, seed, clock, lock).
  bool identity = true;
};
const std::vector<OptionSpec>& block_option_specs();
// The table as JSON for the addon's export: [{name, kind, choices, help, default, min, max}].
std::string block_option_table_json();

// Cross-field checks that need no I/O. Returns 0 or -EINVAL with *e naming the option.
int validate_block_options(const BlockOptions& o, Error* e);
// --jobs as run: 0 is one job per CPU this process may use (a suite's "jobs: vcpus").
uint32_t effective_jobs(const BlockOptions& o);
bool parse_pattern(const std::string& s, Pattern* p);
inline bool pattern_writes(Pattern p) { return p == Pattern::Write || p == Pattern::RandWrite || p == Pattern::RandRW; }
inline bool pattern_reads(Pattern p) { return p == Pattern::Read || p == Pattern::RandRead || p == Pattern::RandRW; }
inline bool pattern_random(Pattern p) { return p == Pattern::RandRead || p == Pattern::RandWrite || p == Pattern::RandRW; }
// --fadvise as run: "auto" resolves by the pattern (fio's fadvise_hint=1).
std::string effective_fadvise(const BlockOptions& o, Pattern p);

class JsonWriter;
// Every option's effective value, as a result's "options" object.
void write_block_options_json(JsonWriter& w, const BlockOptions& o);

// Sets one option from its textual form (the probe's flags). Returns 0 or -EINVAL.
int set_block_option(BlockOptions* o, const std::string& name, const std::string& value, Error* e);

// A parsed option value: the number (sizes, times, integers), the boolean, or the text.
struct OptionValue {
  uint64_t u = 0;
  bool negative = false;  // "int" kind: the value was below zero
  bool b = false;
};
// Looks `name` up in `specs` and parses `value` by its kind, with the standard messages. `wide`
// names the uint options allowed above 2^32. Returns 0, or -EINVAL with *e set; *spec is found.
int parse_option_value(const std::vector<OptionSpec>& specs, const std::string& name, const std::string& value,
                       const std::vector<std::string>& wide, const OptionSpec** spec, OptionValue* out, Error* e);
// An enum option's value against its choices ("a|b|c"): 0, or -EINVAL with the standard message.
int check_choice(const char* name, const char* choices, const std::string& value, Error* e);

}  // namespace isoprobe
