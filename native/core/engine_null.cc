// null: completes every I/O at once without touching data, to measure the harness itself.
// Synchronous at queue depth 1; with a deeper queue it completes queued units on reap.
#include <vector>

#include "clock.h"
#include "engine.h"

namespace isoprobe {

class NullEngine : public Engine {
 public:
  const char* name() const override { return "null"; }
  bool is_async() const override { return async_; }
  int init(const EngineSetup& s, Error*) override {
    async_ = s.qd > 1;
    queued_.reserve(s.qd);
    return 0;
  }
  int queue(IoUnit* u, Error*) override {
    u->res = u->len;
    if (!async_) {
      u->t_done = now_ns();
      return kCompleted;
    }
    queued_.push_back(u);
    return kQueued;
  }
  int commit(Error*) override {
    uint64_t t = now_ns();
    for (size_t i = submitted_; i < queued_.size(); i++) queued_[i]->t_submit = t;
    int n = int(queued_.size() - submitted_);
    submitted_ = queued_.size();
    return n;
  }
  int reap(unsigned, IoUnit** out, unsigned max, Error*) override {
    unsigned n = 0;
    while (n < max && n < submitted_) {
      out[n] = queued_[n];
      out[n]->t_done = now_ns();
      n++;
    }
    queued_.erase(queued_.begin(), queued_.begin() + n);
    submitted_ -= n;
    return int(n);
  }
  int flush(bool, Error*) override { return 0; }

 private:
  bool async_ = false;
  std::vector<IoUnit*> queued_;
  size_t submitted_ = 0;
};

std::unique_ptr<Engine> make_null_engine() { return std::make_unique<NullEngine>(); }

static EngineCaps null_caps() {
  EngineCaps c;
  c.async = true;  // completes at once, at any queue depth
  c.moves_data = false;
  return c;
}
extern const EngineInfo kNullEngine = {"null", null_caps(), {}, "", make_null_engine};

}  // namespace isoprobe
