// The block I/O engine interface (fio's ioengine_ops idea): queue / commit / reap / flush / cleanup.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"

namespace isoprobe {

// One I/O in flight. The runner owns these (one per queue slot) and the engine fills in the
// timestamps it alone can know.
struct IoUnit {
  uint64_t offset = 0;
  uint32_t len = 0;
  bool write = false;
  char* buf = nullptr;
  uint32_t slot = 0;          // index of this unit and of its buffer
  uint64_t t_start = 0;       // set by the runner just before queue()
  uint64_t t_submit = 0;      // async engines: when the submitting syscall returned
  uint64_t t_done = 0;        // when the engine saw the completion
  int64_t res = 0;            // bytes, or -errno
  uint8_t expect = 0;         // verification: which generations a read may see
  uint64_t seq = 0;           // verification: issue order
};

struct EngineSetup {
  int fd = -1;
  uint32_t qd = 1;
  uint64_t bs = 4096;
  std::vector<char*> bufs;    // one per slot
  bool direct = false;
  bool dsync_per_io = false;  // RWF_DSYNC (pvsync2)
  bool hipri = false, sqpoll = false, iopoll = false, register_files = false, fixed_bufs = false;
};

enum QueueResult { kCompleted = 0, kQueued = 1 };

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  virtual bool is_async() const = 0;
  // What the result's "engine_detail" says about how this engine ran (ring flags and so on).
  virtual std::string detail() const { return ""; }
  virtual int init(const EngineSetup& s, Error* e) = 0;
  // Sync engines do the I/O here (t_done, res set) and return kCompleted; async engines
  // prepare it and return kQueued. Negative: -errno.
  virtual int queue(IoUnit* u, Error* e) = 0;
  // Submits what was queued, stamping t_submit. Returns the count submitted or -errno.
  virtual int commit(Error* e) { (void)e; return 0; }
  // Waits for at least `min` completions; stores up to `max` in out with t_done stamped per unit.
  virtual int reap(unsigned min, IoUnit** out, unsigned max, Error* e) { (void)min; (void)out; (void)max; (void)e; return 0; }
  // Flushes the file to stable storage (all I/O drained first by the runner). -errno on failure.
  virtual int flush(bool datasync, Error* e) = 0;
  virtual void cleanup() {}
};

// fsync/fdatasync on the file: the flush of the engines that do their I/O with plain syscalls.
int sync_flush(int fd, bool datasync, Error* e);

// What an engine can do, declared in its own file (fio's ioengine_ops flags): the validators and
// the job ask these, never an engine's name.
struct EngineCaps {
  bool async = false;         // several I/Os in flight: --qd above 1
  bool dsync_per_io = false;  // --dsync as a flag of each write call (RWF_DSYNC), not of the open
  bool polling = false;       // polled completions (RWF_HIPRI; a ring's IOPOLL and SQPOLL)
  bool registered = false;    // registered files and buffers
  bool moves_data = true;     // reads and writes real bytes (--verify can check them)
};

// An engine as the registry knows it: its name (--engine), its capabilities, the block options
// only it takes (refused with any other engine), and what to add when a runtime answers its I/O
// with EINVAL under gVisor (empty: nothing known).
struct EngineInfo {
  const char* name;
  EngineCaps caps;
  std::vector<const char*> own_options;
  const char* gvisor_einval_hint;
  std::unique_ptr<Engine> (*make)();
};

// Every engine, in --engine's order; nullptr for a name none has.
const std::vector<const EngineInfo*>& engine_registry();
const EngineInfo* engine_info(const std::string& name);
std::unique_ptr<Engine> make_engine(const std::string& name);

}  // namespace isoprobe
