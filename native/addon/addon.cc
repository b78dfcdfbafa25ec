// Node-API glue only: JS options -> BlockOptions, a thread of its own per run, results as JSON text
// (the same serialiser as the probe binary), progress and completion through a thread-safe function.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "../core/block.h"
#include "../core/histogram.h"
#include "../core/json.h"

using namespace isoprobe;

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

// Copies the validated JS object into the plain struct. TypeScript already checked types and
// names; anything off here is reported the same way the probe binary reports it.
bool read_options(Napi::Object js, BlockOptions* o, Error* e) {
  Napi::Array keys = js.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = js.Get(k);
    if (v.IsUndefined()) continue;
    std::string text;
    if (v.IsBoolean()) text = v.As<Napi::Boolean>().Value() ? "true" : "false";
    else if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d < 0 && k == "cpu") text = "-" + std::to_string(uint64_t(-d));
      else text = std::to_string(uint64_t(d));
      if (d != double(int64_t(d))) { option_error(e, k, "option \"" + k + "\": expected a whole number"); return false; }
    } else if (v.IsBigInt()) {
      bool lossless;
      text = std::to_string(v.As<Napi::BigInt>().Uint64Value(&lossless));
    } else if (v.IsString()) text = v.As<Napi::String>().Utf8Value();
    else { option_error(e, k, "option \"" + k + "\": unsupported value type"); return false; }
    // Sizes and durations arrive as plain numbers of bytes / ns; give them the byte / ns unit.
    for (auto& s : block_option_specs())
      if (k == s.name && std::string(s.kind) == "duration" && v.IsNumber()) text += "ns";
    if (set_block_option(o, k, text, e) < 0) return false;
  }
  return true;
}

struct Job {
  BlockOptions opts;
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

// startBlock(options, onProgress|null, onDone(err, json)) -> cancel()
Napi::Value StartBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[2].IsFunction())
    throw Napi::TypeError::New(env, "startBlock(options, onProgress, onDone)");
  auto job = std::make_shared<Job>();
  Error e;
  if (!read_options(info[0].As<Napi::Object>(), &job->opts, &e) || validate_block_options(job->opts, &e) < 0)
    throw Napi::Error(env, error_object(env, e));
  if (info[1].IsFunction()) job->on_progress = Napi::Persistent(info[1].As<Napi::Function>());
  job->on_done = Napi::Persistent(info[2].As<Napi::Function>());
  job->tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "isoprobe-block", 64, 1);
  // A thread of its own: the run may last minutes and must not occupy libuv's small pool.
  std::thread([job]() {
    RunHooks hooks;
    hooks.cancel = &job->cancel;
    hooks.progress = progress_hook;
    hooks.ctx = job.get();
    BlockResult r;
    r.build = "addon";
    auto* m = new Message;
    m->done = true;
    if (run_block(job->opts, hooks, &r, &m->error) == 0) m->json = block_result_json(r);
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

// validateBlock(options): the core's cross-field checks, synchronously, before any I/O.
Napi::Value ValidateBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BlockOptions o;
  Error e;
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "validateBlock(options)");
  if (!read_options(info[0].As<Napi::Object>(), &o, &e) || validate_block_options(o, &e) < 0)
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

// optionSpecs() -> [{name, kind, choices, help}]: the one table both front ends share.
Napi::Value OptionSpecs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (auto& s : block_option_specs()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", s.name);
    o.Set("kind", s.kind);
    o.Set("choices", s.choices);
    o.Set("help", s.help);
    out.Set(i++, o);
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("startBlock", Napi::Function::New(env, StartBlock, "startBlock"));
  exports.Set("validateBlock", Napi::Function::New(env, ValidateBlock, "validateBlock"));
  exports.Set("histogramJson", Napi::Function::New(env, HistogramJson, "histogramJson"));
  exports.Set("optionSpecs", Napi::Function::New(env, OptionSpecs, "optionSpecs"));
  exports.Set("version", Napi::String::New(env, kProbeVersion));
  exports.Set("schema", Napi::Number::New(env, kSchemaVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(isoprobe, Init)
