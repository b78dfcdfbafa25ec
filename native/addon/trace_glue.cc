// Node-API glue for the host-side tracer (native/trace): start a trace for some processes and a
// data file, follow more processes, open or close its window by hand, stop it and hand back its
// records as typed columns and its counts. Tracers are held here by a numeric handle.
#include <napi.h>

#include <map>
#include <memory>

#include "../trace/trace.h"

using namespace isoprobe;

namespace {

std::map<uint32_t, std::unique_ptr<Tracer>> g_tracers;
uint32_t g_next = 1;

Napi::Error trace_error(Napi::Env env, const std::string& why, int rc) {
  Napi::Error err = Napi::Error::New(env, why);
  Napi::Object o = err.Value();
  o.Set("code", "ETRACE");
  o.Set("errno", -rc);
  return err;
}

double num(Napi::Object o, const char* k, double d = 0) {
  return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d;
}

std::vector<uint32_t> pid_list(Napi::Value v) {
  std::vector<uint32_t> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  return out;
}

Tracer* tracer_of(const Napi::CallbackInfo& info) {
  auto it = g_tracers.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == g_tracers.end()) throw trace_error(info.Env(), "no such trace (stopped already?)", -EINVAL);
  return it->second.get();
}

// traceStart({pids, parents, cgroupId, fileIno, fileMajor, fileMinor, diskMajor, diskMinor, extents:
// [{sector, sectors, file_off}], windowByMarks, recordBudget, kvmEvents, kvmExitReasonOffset}) -> handle
Napi::Value TraceStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "traceStart(config)");
  Napi::Object o = info[0].As<Napi::Object>();
  TraceConfig c;
  c.pids = pid_list(o.Get("pids"));
  c.parents = pid_list(o.Get("parents"));
  c.cgroup_id = uint64_t(num(o, "cgroupId"));
  c.file_ino = uint64_t(num(o, "fileIno"));
  c.file_major = uint32_t(num(o, "fileMajor"));
  c.file_minor = uint32_t(num(o, "fileMinor"));
  c.rdev_major = uint32_t(num(o, "rdevMajor"));
  c.rdev_minor = uint32_t(num(o, "rdevMinor"));
  c.disk_major = uint32_t(num(o, "diskMajor"));
  c.disk_minor = uint32_t(num(o, "diskMinor"));
  c.window_by_marks = !o.Has("windowByMarks") || o.Get("windowByMarks").ToBoolean().Value();
  c.record_budget = uint64_t(num(o, "recordBudget", double(c.record_budget)));
  if (o.Has("kvmEvents") && o.Get("kvmEvents").IsArray()) {
    Napi::Array a = o.Get("kvmEvents").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) c.kvm_events.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  c.kvm_exit_reason_off = uint32_t(num(o, "kvmExitReasonOffset"));
  if (o.Has("extents") && o.Get("extents").IsArray()) {
    Napi::Array a = o.Get("extents").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object e = a.Get(i).As<Napi::Object>();
      c.extents.push_back(trace_extent{uint64_t(num(e, "sector")), uint64_t(num(e, "sectors")), uint64_t(num(e, "file_off"))});
    }
  }
  auto t = std::make_unique<Tracer>();
  std::string why;
  int rc = t->start(c, &why);
  if (rc < 0) throw trace_error(env, why, rc);
  uint32_t id = g_next++;
  g_tracers[id] = std::move(t);
  return Napi::Number::New(env, id);
}

Napi::Value TraceAddPids(const Napi::CallbackInfo& info) {
  std::string why;
  int rc = tracer_of(info)->add_pids(pid_list(info[1]), &why);
  if (rc < 0) throw trace_error(info.Env(), why, rc);
  return info.Env().Undefined();
}

Napi::Value TraceDropParents(const Napi::CallbackInfo& info) {
  std::string why;
  int rc = tracer_of(info)->drop_parents(pid_list(info[1]), &why);
  if (rc < 0) throw trace_error(info.Env(), why, rc);
  return info.Env().Undefined();
}

// traceWindow(handle, open?) -> the window's state now (0 waiting, 1 open, 2 closed)
Napi::Value TraceWindow(const Napi::CallbackInfo& info) {
  Tracer* t = tracer_of(info);
  if (info.Length() > 1 && info[1].IsBoolean()) t->set_window(info[1].As<Napi::Boolean>().Value());
  return Napi::Number::New(info.Env(), t->window());
}

template <class Array, class T, class Get>
Array column(Napi::Env env, const std::vector<trace_record>& rs, Get get) {
  Array a = Array::New(env, rs.size());
  for (size_t i = 0; i < rs.size(); i++) a[i] = T(get(rs[i]));
  return a;
}

Napi::Object records_object(Napi::Env env, const std::vector<trace_record>& rs) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", column<Napi::Uint8Array, uint8_t>(env, rs, [](const trace_record& r) { return r.kind; }));
  o.Set("tid", column<Napi::Uint32Array, uint32_t>(env, rs, [](const trace_record& r) { return r.tid; }));
  o.Set("nr", column<Napi::Int32Array, int32_t>(env, rs, [](const trace_record& r) { return r.nr; }));
  o.Set("fd", column<Napi::Int32Array, int32_t>(env, rs, [](const trace_record& r) { return r.fd; }));
  o.Set("off", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.off); }));
  o.Set("len", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.len); }));
  o.Set("t0", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.t0); }));
  o.Set("t1", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.t1); }));
  o.Set("ret", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.ret); }));
  o.Set("aux", column<Napi::Float64Array, double>(env, rs, [](const trace_record& r) { return double(r.aux); }));
  return o;
}

// traceStop(handle) -> {records: columns, counters: [cpu][counter], syscalls: [by number],
// window: {state, open_ns, close_ns}, not_traced: [reason]}
Napi::Value TraceStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  Tracer* t = tracer_of(info);
  TraceData d;
  std::string why;
  int rc = t->stop(&d, &why);
  g_tracers.erase(id);
  if (rc < 0) throw trace_error(env, why, rc);
  Napi::Object o = Napi::Object::New(env);
  o.Set("records", records_object(env, d.records));
  Napi::Array cpus = Napi::Array::New(env, d.counters.size());
  for (size_t c = 0; c < d.counters.size(); c++) {
    Napi::Array row = Napi::Array::New(env, d.counters[c].size());
    for (size_t k = 0; k < d.counters[c].size(); k++) row.Set(uint32_t(k), double(d.counters[c][k]));
    cpus.Set(uint32_t(c), row);
  }
  o.Set("counters", cpus);
  Napi::Array sys = Napi::Array::New(env, d.syscalls.size());
  for (size_t k = 0; k < d.syscalls.size(); k++) sys.Set(uint32_t(k), double(d.syscalls[k]));
  o.Set("syscalls", sys);
  Napi::Object w = Napi::Object::New(env);
  w.Set("state", d.window);
  w.Set("open_ns", double(d.window_open_ns));
  w.Set("close_ns", double(d.window_close_ns));
  w.Set("marks_pid", d.marks_tgid);
  o.Set("window", w);
  Napi::Array nt = Napi::Array::New(env, d.not_traced.size());
  for (size_t i = 0; i < d.not_traced.size(); i++) nt.Set(uint32_t(i), d.not_traced[i]);
  o.Set("not_traced", nt);
  Napi::Object progs = Napi::Object::New(env);
  for (auto& p : d.programs) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("run_cnt", double(p.run_cnt));
    x.Set("run_time_ns", double(p.run_time_ns));
    x.Set("recursion_misses", double(p.recursion_misses));
    progs.Set(p.name, x);
  }
  o.Set("programs", progs);
  // Per thread: {tid, tgid, cgroup, comm, n: [TS_*]}; per thread and call: [tid, nr, count].
  Napi::Array threads = Napi::Array::New(env, d.threads.size());
  for (size_t i = 0; i < d.threads.size(); i++) {
    const auto& th = d.threads[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("tid", th.tid);
    x.Set("tgid", th.tgid);
    x.Set("cgroup", double(th.cgroup));
    x.Set("comm", th.comm);
    Napi::Array n = Napi::Array::New(env, th.n.size());
    for (size_t k = 0; k < th.n.size(); k++) n.Set(uint32_t(k), double(th.n[k]));
    x.Set("n", n);
    threads.Set(uint32_t(i), x);
  }
  o.Set("threads", threads);
  Napi::Array ts = Napi::Array::New(env, d.thread_syscalls.size());
  for (size_t i = 0; i < d.thread_syscalls.size(); i++) {
    Napi::Array x = Napi::Array::New(env, 3);
    x.Set(0u, d.thread_syscalls[i].tid);
    x.Set(1u, d.thread_syscalls[i].nr);
    x.Set(2u, double(d.thread_syscalls[i].count));
    ts.Set(uint32_t(i), x);
  }
  o.Set("thread_syscalls", ts);
  Napi::Object reasons = Napi::Object::New(env);
  for (auto& [r, v] : d.kvm_exit_reasons) reasons.Set(std::to_string(r), double(v));
  o.Set("kvm_exit_reasons", reasons);
  Napi::Array kvm = Napi::Array::New(env, d.kvm_attached.size());
  for (size_t i = 0; i < d.kvm_attached.size(); i++) kvm.Set(uint32_t(i), d.kvm_attached[i]);
  o.Set("kvm_attached", kvm);
  return o;
}

// traceMapFile(path) -> {ino, major, minor, disk_major, disk_minor, disk, size, extents, device_why}
Napi::Value TraceMapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "traceMapFile(path)");
  FileMap m;
  std::string why;
  int rc = map_file(info[0].As<Napi::String>().Utf8Value(), &m, &why);
  if (rc < 0) throw trace_error(env, why, rc);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ino", double(m.ino));
  o.Set("major", m.major);
  o.Set("minor", m.minor);
  o.Set("rdev_major", m.rdev_major);
  o.Set("rdev_minor", m.rdev_minor);
  o.Set("disk_major", m.disk_major);
  o.Set("disk_minor", m.disk_minor);
  o.Set("disk", m.disk);
  o.Set("size", double(m.size));
  Napi::Array ex = Napi::Array::New(env, m.extents.size());
  for (size_t i = 0; i < m.extents.size(); i++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("sector", double(m.extents[i].sector));
    e.Set("sectors", double(m.extents[i].sectors));
    e.Set("file_off", double(m.extents[i].file_off));
    ex.Set(uint32_t(i), e);
  }
  o.Set("extents", ex);
  o.Set("device_why", m.device_why);
  return o;
}

}  // namespace

namespace isoprobe {

// The tracer's exports, added to the addon's by its Init.
void export_trace(Napi::Env env, Napi::Object exports) {
  exports.Set("traceBuilt", Napi::String::New(env, trace_unavailable()));
  exports.Set("traceStart", Napi::Function::New(env, TraceStart, "traceStart"));
  exports.Set("traceAddPids", Napi::Function::New(env, TraceAddPids, "traceAddPids"));
  exports.Set("traceDropParents", Napi::Function::New(env, TraceDropParents, "traceDropParents"));
  exports.Set("traceWindow", Napi::Function::New(env, TraceWindow, "traceWindow"));
  exports.Set("traceStop", Napi::Function::New(env, TraceStop, "traceStop"));
  exports.Set("traceMapFile", Napi::Function::New(env, TraceMapFile, "traceMapFile"));
}

}  // namespace isoprobe
