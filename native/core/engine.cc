// The engine registry: each engine's entry (declared in its own file), looked up by --engine.
#include "engine.h"

#include <unistd.h>

#include <cerrno>

namespace isoprobe {

int sync_flush(int fd, bool datasync, Error* e) {
  if ((datasync ? fdatasync(fd) : fsync(fd)) != 0)
    return sys_error(e, errno, datasync ? "fdatasync" : "fsync", "flushing the data file failed");
  return 0;
}

// Each engine's file declares its entry.
extern const EngineInfo kPsyncEngine, kPvsync2Engine, kIoUringEngine, kNullEngine;

const std::vector<const EngineInfo*>& engine_registry() {
  static const std::vector<const EngineInfo*> all = {&kPsyncEngine, &kPvsync2Engine, &kIoUringEngine, &kNullEngine};
  return all;
}

const EngineInfo* engine_info(const std::string& name) {
  for (auto* e : engine_registry())
    if (name == e->name) return e;
  return nullptr;
}

std::unique_ptr<Engine> make_engine(const std::string& name) {
  const EngineInfo* e = engine_info(name);
  return e ? e->make() : nullptr;
}

}  // namespace isoprobe
