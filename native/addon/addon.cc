// Node-API glue only: JS options -> BlockOptions, a thread of its own per run, results as JSON text
// (the same serialiser as the probe binary), progress and completion through a thread-safe function.
#include <dlfcn.h>
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <functional>
#include <thread>

#include "../core/block.h"
#include "../core/canary.h"
#include "../core/histogram.h"
#include "../core/json.h"
#include "../core/kvm.h"
#include "../core/lock.h"
#include "../core/net.h"
#include "../core/net_udp_stream.h"
#include "../core/page_cache.h"
#include "../core/sha256.h"

using namespace isoprobe;

namespace isoprobe {
void export_trace(Napi::Env env, Napi::Object exports);  // trace_glue.cc
}

namespace {

Napi::Object error_object(Napi::Env env, const Error& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  Napi::Object o = err.Value();
  o.Set("code", e.code);
  o.Set("errno", e.err);
  if (!e.syscall.empty()) o.Set("syscall", e.syscall);
  if (!e.option.empty()) o.Set("option", e.option);
  return o;
}

// Copies the validated JS object into a plain struct through the core's own option setter.
// TypeScript already checked types and names; anything off here is reported the way the probe
// binary reports it.
template <typename Set>
bool read_options(Napi::Object js, const std::vector<OptionSpec>& specs, Set set, Error* e) {
  Napi::Array keys = js.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = js.Get(k);
    if (v.IsUndefined()) continue;
    std::string text;
    if (v.IsBoolean()) text = v.As<Napi::Boolean>().Value() ? "true" : "false";
    else if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d != double(int64_t(d))) { option_error(e, k, "option \"" + k + "\": expected a whole number"); return false; }
      text = d < 0 ? "-" + std::to_string(uint64_t(-d)) : std::to_string(uint64_t(d));
    } else if (v.IsString()) text = v.As<Napi::String>().Utf8Value();
    else { option_error(e, k, "option \"" + k + "\": unsupported value type"); return false; }
    // Durations arrive as plain numbers of ns: give them their unit.
    for (auto& s : specs)
      if (k == s.name && std::string(s.kind) == "duration" && v.IsNumber()) text += "ns";
    if (set(k, text, e) < 0) return false;
  }
  return true;
}

bool read_block_options(Napi::Object js, BlockOptions* o, Error* e) {
  return read_options(js, block_option_specs(), [o](const std::string& k, const std::string& v, Error* er) { return set_block_option(o, k, v, er); }, e);
}

bool read_net_options(Napi::Object js, NetOptions* o, Error* e) {
  if (js.Has("mode")) o->mode = js.Get("mode").ToString().Utf8Value();
  Napi::Object rest = Napi::Object::New(js.Env());
  Napi::Array keys = js.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    if (k != "mode") rest.Set(k, js.Get(k));
  }
  return read_options(rest, net_option_specs(), [o](const std::string& k, const std::string& v, Error* er) { return set_net_option(o, k, v, er); }, e);
}

struct Job {
  // The measurement, run on the job's own thread: fills json or error.
  std::function<void(const RunHooks&, std::string*, Error*)> work;
  std::atomic<bool> cancel{false};
  Napi::ThreadSafeFunction tsfn;
  Napi::FunctionReference on_progress;
  Napi::FunctionReference on_done;
};

struct Message {
  bool done = false;
  Progress progress{};
  std::string phase;
  std::string json;
  Error error;
};

void deliver(Napi::Env env, Napi::Function, Job* job, Message* m) {
  std::unique_ptr<Message> msg(m);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  if (!msg->done) {
    if (job->on_progress.IsEmpty()) return;
    Napi::Object p = Napi::Object::New(env);
    p.Set("phase", msg->phase);
    p.Set("elapsed_ns", double(msg->progress.elapsed_ns));
    p.Set("ops", double(msg->progress.ops));
    p.Set("iops", msg->progress.iops);
    p.Set("bw_bytes_per_s", msg->progress.bw_bytes_per_s);
    job->on_progress.Call({p});
    return;
  }
  Napi::Function done = job->on_done.Value();
  if (msg->error.failed()) done.Call({error_object(env, msg->error), env.Null()});
  else done.Call({env.Null(), Napi::String::New(env, msg->json)});
  job->on_done.Reset();
  job->on_progress.Reset();
}

void progress_hook(void* ctx, const Progress& p) {
  auto* job = static_cast<Job*>(ctx);
  auto* m = new Message;
  m->progress = p;
  m->phase = p.phase;
  // Non-blocking: a slow event loop must not stall the measurement; a dropped tick is fine.
  if (job->tsfn.NonBlockingCall(m, [job](Napi::Env env, Napi::Function f, Message* msg) { deliver(env, f, job, msg); }) != napi_ok)
    delete m;
}

// Starts job->work on a thread of its own (a run may last minutes and must not occupy libuv's
// small pool); progress and the result come back through a thread-safe function.
Napi::Value start_job(const Napi::CallbackInfo& info, std::shared_ptr<Job> job) {
  Napi::Env env = info.Env();
  if (info[1].IsFunction()) job->on_progress = Napi::Persistent(info[1].As<Napi::Function>());
  job->on_done = Napi::Persistent(info[2].As<Napi::Function>());
  job->tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "isoprobe-run", 64, 1);
  std::thread([job]() {
    RunHooks hooks;
    hooks.cancel = &job->cancel;
    hooks.progress = progress_hook;
    hooks.ctx = job.get();
    auto* m = new Message;
    m->done = true;
    job->work(hooks, &m->json, &m->error);
    Job* raw = job.get();
    auto keep = job;  // the Job must outlive the final callback on the JS thread
    if (job->tsfn.BlockingCall(m, [raw, keep](Napi::Env env, Napi::Function f, Message* msg) { deliver(env, f, raw, msg); }) != napi_ok)
      delete m;
    job->tsfn.Release();
  }).detach();
  std::weak_ptr<Job> weak = job;
  return Napi::Function::New(env, [weak](const Napi::CallbackInfo& ci) {
    if (auto j = weak.lock()) j->cancel.store(true);
    return ci.Env().Undefined();
  }, "cancel");
}

void check_start_args(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() < 3 || !info[0].IsObject() || !info[2].IsFunction())
    throw Napi::TypeError::New(info.Env(), std::string(name) + "(options, onProgress, onDone)");
}

// startBlock(options, onProgress|null, onDone(err, json)) -> cancel()
Napi::Value StartBlock(const Napi::CallbackInfo& info) {
  check_start_args(info, "startBlock");
  BlockOptions o;
  Error e;
  if (!read_block_options(info[0].As<Napi::Object>(), &o, &e) || validate_block_options(o, &e) < 0)
    throw Napi::Error(info.Env(), error_object(info.Env(), e));
  auto job = std::make_shared<Job>();
  job->work = [o](const RunHooks& hooks, std::string* json, Error* err) {
    BlockResult r;
    r.build = "addon";
    if (run_block(o, hooks, &r, err) == 0) *json = block_result_json(r);
  };
  return start_job(info, job);
}

// startNet(options with mode rr|stream, onProgress|null, onDone(err, json)) -> cancel()
Napi::Value StartNet(const Napi::CallbackInfo& info) {
  check_start_args(info, "startNet");
  NetOptions o;
  Error e;
  if (!read_net_options(info[0].As<Napi::Object>(), &o, &e) || validate_net_options(o, &e) < 0)
    throw Napi::Error(info.Env(), error_object(info.Env(), e));
  auto job = std::make_shared<Job>();
  job->work = [o](const RunHooks& hooks, std::string* json, Error* err) {
    NetResult r;
    r.build = "addon";
    if (run_net(o, hooks, &r, err) == 0) *json = net_result_json(r);
  };
  return start_job(info, job);
}

// startServer(options with mode serve) -> {address, stop(), stats()}: an echo server on threads
// of its own, serving until stop() (or until the process exits).
Napi::Value StartServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "startServer(options)");
  NetOptions o;
  o.mode = "serve";
  Error e;
  Napi::Object js = info[0].As<Napi::Object>();
  js.Set("mode", "serve");
  if (!read_net_options(js, &o, &e) || validate_net_options(o, &e) < 0) throw Napi::Error(env, error_object(env, e));
  auto server = std::make_shared<EchoServer>();
  if (server->start(o, &e) < 0) throw Napi::Error(env, error_object(env, e));
  Napi::Object h = Napi::Object::New(env);
  h.Set("address", server->address().str());
  Napi::Array cpus = Napi::Array::New(env, server->cpus().size());
  for (size_t i = 0; i < server->cpus().size(); i++) cpus.Set(uint32_t(i), server->cpus()[i]);
  h.Set("cpus", cpus);
  h.Set("stop", Napi::Function::New(env, [server](const Napi::CallbackInfo& ci) {
    server->stop();
    return ci.Env().Undefined();
  }, "stop"));
  h.Set("stats", Napi::Function::New(env, [server](const Napi::CallbackInfo& ci) {
    Napi::Object s = Napi::Object::New(ci.Env());
    s.Set("connections", double(server->connections()));
    s.Set("echoed", double(server->echoed()));
    return s;
  }, "stats"));
  return h;
}

// validateBlock(options): the core's cross-field checks, synchronously, before any I/O.
Napi::Value ValidateBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BlockOptions o;
  Error e;
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "validateBlock(options)");
  if (!read_block_options(info[0].As<Napi::Object>(), &o, &e) || validate_block_options(o, &e) < 0)
    throw Napi::Error(env, error_object(env, e));
  return env.Undefined();
}

// validateNet(options, ownServer): the core's checks of net options, synchronously; ownServer:
// the probe will serve on loopback itself (--loopback), so no --connect.
Napi::Value ValidateNet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NetOptions o;
  Error e;
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "validateNet(options)");
  const bool own_server = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  if (!read_net_options(info[0].As<Napi::Object>(), &o, &e) || validate_net_options(o, &e, own_server) < 0)
    throw Napi::Error(env, error_object(env, e));
  return env.Undefined();
}

// histogramJson(Float64Array of ns values) -> the core's histogram JSON (for cross-checking TS).
Napi::Value HistogramJson(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "histogramJson(Float64Array)");
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  auto h = std::make_unique<Histogram>();
  for (size_t i = 0; i < a.ElementLength(); i++) h->record(uint64_t(a[i]));
  JsonWriter w;
  h->write_json(w);
  return Napi::String::New(env, w.str());
}

// rfc3550Jitter(send Float64Array, arrival Float64Array) -> ns: the UDP stream receiver's jitter
// over a known sequence (in arrival order), the code the server runs, for tests.
Napi::Value Rfc3550JitterOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "rfc3550Jitter(Float64Array, Float64Array)");
  Napi::Float64Array s = info[0].As<Napi::Float64Array>(), a = info[1].As<Napi::Float64Array>();
  if (s.ElementLength() != a.ElementLength()) throw Napi::RangeError::New(env, "rfc3550Jitter: as many send times as arrival times");
  std::vector<uint64_t> sv(s.ElementLength()), av(a.ElementLength());
  for (size_t i = 0; i < sv.size(); i++) { sv[i] = uint64_t(s[i]); av[i] = uint64_t(a[i]); }
  return Napi::Number::New(env, rfc3550_jitter(sv.data(), av.data(), sv.size()));
}

// optionTable("block"|"net") -> JSON [{name, kind, choices, help, default, min, max}]: the one
// table of options, which the TypeScript side reads instead of keeping a copy.
Napi::Value OptionTable(const Napi::CallbackInfo& info) {
  bool net = info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "net";
  return Napi::String::New(info.Env(), net ? net_option_table_json() : block_option_table_json());
}

// netKinds() -> JSON [{name, mode, proto}]: the network kinds the core registers (net_kinds.cc),
// which the TypeScript side's kinds must be.
Napi::Value NetKinds(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), net_kinds_json()); }

// pageCache(path, "evict" | "count") -> {resident_bytes, size_bytes}: host-side cache honesty.
Napi::Value PageCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "pageCache(path, 'evict'|'count')");
  std::string path = info[0].As<Napi::String>().Utf8Value(), op = info[1].As<Napi::String>().Utf8Value();
  Error e;
  if (op == "evict" && evict_file(path, &e) < 0) throw Napi::Error(env, error_object(env, e));
  uint64_t size = 0;
  int64_t n = file_resident_bytes(path, &size, &e);
  if (n < 0) throw Napi::Error(env, error_object(env, e));
  Napi::Object o = Napi::Object::New(env);
  o.Set("resident_bytes", double(n));
  o.Set("size_bytes", double(size));
  return o;
}

// lockFile(path, exclusive) -> fd holding a flock on the lock file, or {holders: [pid...]} when
// another holds it; throws on any other failure. Never waits: callers poll, so they stay cancellable.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) throw Napi::TypeError::New(env, "lockFile(path, exclusive)");
  std::vector<int> holders;
  Error e;
  int fd = lock_file(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value(), &holders, &e);
  if (fd >= 0) return Napi::Number::New(env, fd);
  if (fd != -EWOULDBLOCK) throw Napi::Error(env, error_object(env, e));
  Napi::Object o = Napi::Object::New(env);
  Napi::Array a = Napi::Array::New(env, holders.size());
  for (size_t i = 0; i < holders.size(); i++) a.Set(uint32_t(i), holders[i]);
  o.Set("holders", a);
  return o;
}

// unlockFile(fd, unlinkPath?) releases a lockFile lock, removing the file first when given.
Napi::Value UnlockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "unlockFile(fd, unlinkPath?)");
  unlock_file(info[0].As<Napi::Number>().Int32Value(), info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "");
  return env.Undefined();
}

// kvmOpen(path) -> {stage, errno, message, api, expected}: how far a VMM's first steps get on that
// device (lib/targets/kvm.ts makes the verdict from it and the facts of /sys and /proc).
Napi::Value KvmOpenInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "kvmOpen(path)");
  KvmOpen k = kvm_open(info[0].As<Napi::String>().Utf8Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("stage", k.stage);
  o.Set("errno", k.err);
  o.Set("message", k.err ? std::string(strerror(k.err)) : std::string());
  o.Set("api", k.api);
  o.Set("expected", k.expected);
  return o;
}

// canary(cpu, iterations) -> ns: a fixed amount of work timed on that CPU (-1: unpinned).
Napi::Value Canary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "canary(cpu, iterations)");
  Error e;
  int64_t ns = cpu_canary_ns(info[0].As<Napi::Number>().Int32Value(), uint64_t(info[1].As<Napi::Number>().Int64Value()), &e);
  if (ns < 0) throw Napi::Error(env, error_object(env, e));
  return Napi::Number::New(env, double(ns));
}

// tscHz() -> calibrated TSC frequency of this machine, or 0 (QEMU TCG guests read this TSC).
Napi::Value TscHz(const Napi::CallbackInfo& info) {
  std::string why;
  return Napi::Number::New(info.Env(), tsc_calibrated_hz(&why));
}

// Sha256File(path) -> hex: the core's SHA-256, for tests against an independent reference.
Napi::Value Sha256File(const Napi::CallbackInfo& info) {
  std::string why;
  std::string hex = sha256_file(info[0].As<Napi::String>().Utf8Value(), &why);
  if (hex.empty()) throw Napi::Error::New(info.Env(), why);
  return Napi::String::New(info.Env(), hex);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The addon's results carry the hash of this shared object (not of node): found by the
  // address of a function inside it.
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&Sha256File), &self) && self.dli_fname) set_probe_self_path(self.dli_fname);
  exports.Set("sha256File", Napi::Function::New(env, Sha256File, "sha256File"));
  exports.Set("tscHz", Napi::Function::New(env, TscHz, "tscHz"));
  exports.Set("canary", Napi::Function::New(env, Canary, "canary"));
  exports.Set("kvmOpen", Napi::Function::New(env, KvmOpenInfo, "kvmOpen"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFile, "unlockFile"));
  exports.Set("pageCache", Napi::Function::New(env, PageCache, "pageCache"));
  exports.Set("startBlock", Napi::Function::New(env, StartBlock, "startBlock"));
  exports.Set("validateBlock", Napi::Function::New(env, ValidateBlock, "validateBlock"));
  exports.Set("startNet", Napi::Function::New(env, StartNet, "startNet"));
  exports.Set("startServer", Napi::Function::New(env, StartServer, "startServer"));
  exports.Set("validateNet", Napi::Function::New(env, ValidateNet, "validateNet"));
  exports.Set("histogramJson", Napi::Function::New(env, HistogramJson, "histogramJson"));
  exports.Set("rfc3550Jitter", Napi::Function::New(env, Rfc3550JitterOf, "rfc3550Jitter"));
  exports.Set("optionTable", Napi::Function::New(env, OptionTable, "optionTable"));
  exports.Set("netKinds", Napi::Function::New(env, NetKinds, "netKinds"));
  export_trace(env, exports);
  exports.Set("version", Napi::String::New(env, kProbeVersion));
  exports.Set("schema", Napi::Number::New(env, kSchemaVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(isoprobe, Init)
