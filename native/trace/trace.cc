// The tracer's loader (trace.h): the skeleton's object opened, configured, loaded and attached
// program by program; records drained from the ring buffer by a thread of its own every few ms
// (the programs never wake it per record); counts read per CPU at the end. Built without the
// skeleton (no clang, bpftool or libbpf when configured), every call says so.
#include "trace.h"

#include <cerrno>
#include <cstring>

#ifdef ISOPROBE_TRACE_SKELETON
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "trace.skel.h"
#endif

namespace isoprobe {

#ifndef ISOPROBE_TRACE_SKELETON

std::string trace_unavailable() { return std::string("this build of isoprobe has no eBPF tracer: ") + ISOPROBE_TRACE_ABSENT; }
struct Tracer::Impl {};
Tracer::Tracer() = default;
Tracer::~Tracer() = default;
int Tracer::start(const TraceConfig&, std::string* why) {
  *why = trace_unavailable();
  return -ENOTSUP;
}
int Tracer::add_pids(const std::vector<uint32_t>&, std::string* why) {
  *why = trace_unavailable();
  return -ENOTSUP;
}
int Tracer::drop_parents(const std::vector<uint32_t>&, std::string* why) {
  *why = trace_unavailable();
  return -ENOTSUP;
}
void Tracer::set_window(bool) {}
uint32_t Tracer::window() const { return WINDOW_WAITING; }
int Tracer::stop(TraceData*, std::string* why) {
  *why = trace_unavailable();
  return -ENOTSUP;
}

#else

std::string trace_unavailable() { return ""; }

namespace {

// libbpf's messages, kept so a failure can quote the kernel's own words (the verifier's, say).
std::mutex g_log_mu;
std::string g_log;

int capture_log(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  std::lock_guard<std::mutex> l(g_log_mu);
  g_log += line;
  if (g_log.size() > 16384) g_log.erase(0, g_log.size() - 16384);
  return 0;
}

std::string take_log() {
  std::lock_guard<std::mutex> l(g_log_mu);
  std::string s;
  s.swap(g_log);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  // The last few lines say what failed; the rest is context.
  size_t cut = s.size(), lines = 0;
  while (cut > 0 && lines < 4) {
    cut = s.rfind('\n', cut - 1);
    if (cut == std::string::npos) { cut = 0; break; }
    lines++;
  }
  return s.substr(cut ? cut + 1 : 0);
}

uint64_t mono_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint32_t kdev(uint32_t major, uint32_t minor) { return (major << 20) | minor; }

std::string errno_text(int err) { return std::string(strerrorname_np(err) ? strerrorname_np(err) : "errno " + std::to_string(err)) + " (" + strerror(err) + ")"; }

// What the kernel's refusal means, where a plain errno would not say.
std::string refusal(int err, const std::string& what) {
  std::string s = what + ": " + errno_text(err);
  if (err == EPERM || err == EACCES) s += "; tracing needs root, or CAP_BPF with CAP_PERFMON, and no kernel lockdown";
  std::string log = take_log();
  if (!log.empty()) s += "; libbpf said: " + log;
  return s;
}

// A program, its tracepoint, and what is lost where the kernel lacks it (empty: nothing works).
struct ProgSpec {
  const char* tracepoint;
  const char* lost;
};

// Every entry of a BPF hash map with key K and value V, in the map's order (an entry deleted
// between its key and its lookup is skipped).
template <typename K, typename V, typename F>
void for_each_entry(const bpf_map* map, F f) {
  K key{}, next;
  const K* prev = nullptr;
  while (bpf_map__get_next_key(map, prev, &next, sizeof next) == 0) {
    V v;
    if (bpf_map__lookup_elem(map, &next, sizeof next, &v, sizeof v, 0) == 0) f(next, v);
    key = next;
    prev = &key;
  }
}

}  // namespace

struct Tracer::Impl {
  trace_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<bpf_link*> links;
  std::thread drain;
  std::atomic<bool> stopping{false};
  TraceData data;

  static int on_record(void* ctx, void* rec, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size >= sizeof(trace_record)) {
      trace_record r;
      std::memcpy(&r, rec, sizeof r);
      self->data.records.push_back(r);
    }
    return 0;
  }

  ~Impl() { close(); }

  void close() {
    for (auto* l : links) bpf_link__destroy(l);
    links.clear();
    stopping = true;
    if (drain.joinable()) drain.join();
    if (rb) ring_buffer__free(rb);
    rb = nullptr;
    if (skel) trace_bpf__destroy(skel);
    skel = nullptr;
  }

  int configure(const TraceConfig& c, std::string* why);
  void configure_kvm(const TraceConfig& c);
  int attach(std::string* why);
  void read_threads();

  // Requests still followed at the end: issued in the window, their completion never seen.
  void uncompleted_requests() {
    for_each_entry<uint64_t, trace_rq_start>(skel->maps.rqs, [&](uint64_t, const trace_rq_start& s) {
      trace_record r{};
      r.kind = TRACE_RQ;
      r.tid = s.tid;
      r.nr = int32_t(s.op);
      r.fd = -1;
      r.off = s.off;
      r.len = s.len;
      r.t0 = s.t0;
      r.aux = s.sector;
      data.records.push_back(r);
    });
  }
};

// Which program needs which tracepoint; a missing optional one is named in not_traced.
int Tracer::Impl::configure(const TraceConfig& c, std::string* why) {
  auto* ro = skel->rodata;
  ro->file_ino = c.file_ino;
  ro->file_dev = kdev(c.file_major, c.file_minor);
  ro->file_rdev = c.rdev_major || c.rdev_minor ? kdev(c.rdev_major, c.rdev_minor) : 0;
  ro->disk_dev = c.disk_major || c.disk_minor ? kdev(c.disk_major, c.disk_minor) : 0;
  ro->n_extents = uint32_t(c.extents.size());
  ro->cgroup_id = c.cgroup_id;
  ro->window_by_marks = c.window_by_marks ? 1 : 0;
  ro->record_budget = c.record_budget;
  if (c.extents.size() > TRACE_MAX_EXTENTS) {
    *why = "the data file has " + std::to_string(c.extents.size()) + " extents; the tracer maps at most " + std::to_string(TRACE_MAX_EXTENTS);
    return -E2BIG;
  }
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) {
    *why = "no kernel BTF: " + errno_text(errno) + " reading /sys/kernel/btf/vmlinux (a kernel built without CONFIG_DEBUG_INFO_BTF)";
    return -ENOENT;
  }
  const std::pair<bpf_program*, ProgSpec> progs[] = {
      {skel->progs.sys_enter, {"sys_enter", ""}},
      {skel->progs.sys_exit, {"sys_exit", ""}},
      {skel->progs.io_uring_submit_req, {"io_uring_submit_req", "io_uring requests"}},
      {skel->progs.io_uring_complete, {"io_uring_complete", "io_uring requests"}},
      {skel->progs.block_rq_issue, {"block_rq_issue", "the device layer (block requests)"}},
      {skel->progs.block_rq_complete, {"block_rq_complete", "the device layer (block requests)"}},
      {skel->progs.block_rq_requeue, {"block_rq_requeue", "requeued block requests (their first issue is counted)"}},
      {skel->progs.sched_switch, {"sched_switch", "context switches"}},
      {skel->progs.sched_wakeup, {"sched_wakeup", "wake-ups"}},
      {skel->progs.sched_process_fork, {"sched_process_fork", "children of the traced processes"}},
      {skel->progs.irq_handler_entry, {"irq_handler_entry", "hardware interrupts"}},
      {skel->progs.softirq_entry, {"softirq_entry", "softirqs"}},
  };
  const bool uring_types = btf__find_by_name_kind(vmlinux, "io_kiocb", BTF_KIND_STRUCT) > 0 && btf__find_by_name_kind(vmlinux, "io_rw", BTF_KIND_STRUCT) > 0;
  for (auto& [prog, spec] : progs) {
    std::string tp = std::string("btf_trace_") + spec.tracepoint;
    bool present = btf__find_by_name_kind(vmlinux, tp.c_str(), BTF_KIND_TYPEDEF) > 0;
    std::string reason = present ? "" : std::string("the kernel has no ") + spec.tracepoint + " tracepoint";
    if (present && std::strncmp(spec.tracepoint, "io_uring", 8) == 0 && !uring_types) reason = "the kernel's BTF has no struct io_kiocb or io_rw";
    if (reason.empty()) continue;
    if (!*spec.lost) {
      btf__free(vmlinux);
      *why = reason + " (needed for the host I/O calls)";
      return -ENOENT;
    }
    bpf_program__set_autoload(prog, false);
    std::string note = std::string(spec.lost) + " not traced: " + reason;
    bool seen = false;
    for (auto& n : data.not_traced) seen = seen || n == note;
    if (!seen) data.not_traced.push_back(note);
  }
  btf__free(vmlinux);
  configure_kvm(c);
  return 0;
}

// The KVM tracepoints the caller found in tracefs (lib/trace/kvm.ts): the others not loaded.
void Tracer::Impl::configure_kvm(const TraceConfig& c) {
  const std::pair<bpf_program*, const char*> kvm[] = {
      {skel->progs.kvm_exit, "kvm_exit"}, {skel->progs.kvm_set_irq, "kvm_set_irq"},
      {skel->progs.kvm_msi_set_irq, "kvm_msi_set_irq"}, {skel->progs.kvm_inj_virq, "kvm_inj_virq"}};
  for (auto& [prog, name] : kvm) {
    bool wanted = false;
    for (auto& e : c.kvm_events) wanted = wanted || e == name;
    if (wanted) data.kvm_attached.push_back(name);
    else bpf_program__set_autoload(prog, false);
  }
  skel->rodata->kvm_exit_reason_off = c.kvm_exit_reason_off;
}

// The per-thread counts, their system calls, and the VM exits by reason, read at the end.
void Tracer::Impl::read_threads() {
  for_each_entry<uint32_t, thread_stat>(skel->maps.threads, [&](uint32_t tid, const thread_stat& st) {
    TraceData::Thread t;
    t.tid = tid;
    t.tgid = st.tgid;
    t.cgroup = st.cgroup;
    t.comm = std::string(st.comm, strnlen(st.comm, sizeof st.comm));
    t.n.assign(st.n, st.n + TS_COUNT);
    data.threads.push_back(std::move(t));
  });
  for_each_entry<uint64_t, uint64_t>(skel->maps.thread_syscalls, [&](uint64_t k, uint64_t v) {
    data.thread_syscalls.push_back({uint32_t(k >> 32), uint32_t(k), v});
  });
  for_each_entry<uint32_t, uint64_t>(skel->maps.kvm_exit_reasons, [&](uint32_t reason, uint64_t v) { data.kvm_exit_reasons.push_back({reason, v}); });
}

// Program by program, so a failure names its tracepoint.
int Tracer::Impl::attach(std::string* why) {
  bpf_program* p;
  bpf_object__for_each_program(p, skel->obj) {
    if (!bpf_program__autoload(p)) continue;
    bpf_link* l = bpf_program__attach(p);
    if (!l) {
      int err = errno;
      std::string name = bpf_program__name(p);
      // A KVM count is an addition: its tracepoint refusing leaves the rest of the trace whole.
      if (name.rfind("kvm_", 0) == 0) {
        data.not_traced.push_back(refusal(err, "KVM count " + name + " not attached: attaching to its tracepoint"));
        for (auto it = data.kvm_attached.begin(); it != data.kvm_attached.end(); ++it)
          if (*it == name) { data.kvm_attached.erase(it); break; }
        continue;
      }
      *why = refusal(err, std::string("attaching to the tracepoint of ") + name);
      return -err;
    }
    links.push_back(l);
  }
  return 0;
}

Tracer::Tracer() : impl_(std::make_unique<Impl>()) {}
Tracer::~Tracer() = default;

int Tracer::start(const TraceConfig& c, std::string* why) {
  if (impl_->skel) {
    *why = "this tracer was started already";
    return -EBUSY;
  }
  libbpf_set_print(capture_log);
  take_log();
  Impl& m = *impl_;
  m.skel = trace_bpf__open();
  if (!m.skel) {
    *why = refusal(errno, "opening the tracer's eBPF object");
    return -EINVAL;
  }
  int rc = m.configure(c, why);
  if (rc < 0) {
    m.close();
    return rc;
  }
  if ((rc = trace_bpf__load(m.skel)) != 0) {
    *why = refusal(-rc, "loading the tracer's eBPF programs");
    m.close();
    return rc;
  }
  for (uint32_t i = 0; i < c.extents.size(); i++) {
    if (bpf_map__update_elem(m.skel->maps.extents, &i, sizeof i, &c.extents[i], sizeof c.extents[i], BPF_ANY) != 0) {
      *why = refusal(errno, "filling the extents map");
      m.close();
      return -EINVAL;
    }
  }
  for (uint32_t pid : c.parents) {
    uint8_t one = 1;
    if (bpf_map__update_elem(m.skel->maps.parents, &pid, sizeof pid, &one, sizeof one, BPF_ANY) != 0) {
      *why = refusal(errno, "following the children of pid " + std::to_string(pid));
      m.close();
      return -EINVAL;
    }
  }
  if ((rc = add_pids(c.pids, why)) < 0 || (rc = m.attach(why)) < 0) {
    m.close();
    return rc;
  }
  m.rb = ring_buffer__new(bpf_map__fd(m.skel->maps.events), &Impl::on_record, &m, nullptr);
  if (!m.rb) {
    *why = refusal(errno, "opening the ring buffer");
    m.close();
    return -EINVAL;
  }
  m.stopping = false;
  m.drain = std::thread([&m] {
    while (!m.stopping.load()) {
      ring_buffer__consume(m.rb);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  return 0;
}

int Tracer::add_pids(const std::vector<uint32_t>& pids, std::string* why) {
  if (!impl_->skel) {
    *why = "the tracer is not running";
    return -EINVAL;
  }
  for (uint32_t pid : pids) {
    uint8_t one = 1;
    if (bpf_map__update_elem(impl_->skel->maps.traced, &pid, sizeof pid, &one, sizeof one, BPF_ANY) != 0) {
      *why = refusal(errno, "following pid " + std::to_string(pid));
      return -EINVAL;
    }
  }
  return 0;
}

int Tracer::drop_parents(const std::vector<uint32_t>& pids, std::string* why) {
  if (!impl_->skel) {
    *why = "the tracer is not running";
    return -EINVAL;
  }
  for (uint32_t pid : pids) bpf_map__delete_elem(impl_->skel->maps.parents, &pid, sizeof pid, 0);
  return 0;
}

void Tracer::set_window(bool open) {
  auto* bss = impl_->skel ? impl_->skel->bss : nullptr;
  if (!bss) return;
  if (open && __atomic_load_n(&bss->window, __ATOMIC_ACQUIRE) == WINDOW_WAITING) {
    bss->window_open_ns = mono_now();
    __atomic_store_n(&bss->window, uint32_t(WINDOW_OPEN), __ATOMIC_RELEASE);
  } else if (!open && __atomic_load_n(&bss->window, __ATOMIC_ACQUIRE) == WINDOW_OPEN) {
    bss->window_close_ns = mono_now();
    __atomic_store_n(&bss->window, uint32_t(WINDOW_CLOSED), __ATOMIC_RELEASE);
  }
}

uint32_t Tracer::window() const {
  return impl_->skel && impl_->skel->bss ? __atomic_load_n(&impl_->skel->bss->window, __ATOMIC_ACQUIRE) : uint32_t(WINDOW_WAITING);
}

int Tracer::stop(TraceData* out, std::string* why) {
  Impl& m = *impl_;
  if (!m.skel) {
    *why = "the tracer is not running";
    return -EINVAL;
  }
  for (auto* l : m.links) bpf_link__destroy(l);
  m.links.clear();
  bpf_program* p;
  bpf_object__for_each_program(p, m.skel->obj) {
    if (!bpf_program__autoload(p)) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0)
      m.data.programs.push_back({bpf_program__name(p), info.run_cnt, info.run_time_ns, info.recursion_misses});
  }
  m.stopping = true;
  if (m.drain.joinable()) m.drain.join();
  ring_buffer__consume(m.rb);
  m.uncompleted_requests();
  m.read_threads();
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) {
    *why = refusal(-ncpu, "counting the possible CPUs");
    m.close();
    return ncpu;
  }
  std::vector<uint64_t> v(static_cast<size_t>(ncpu));
  m.data.counters.assign(size_t(ncpu), std::vector<uint64_t>(CNT_COUNT, 0));
  for (uint32_t k = 0; k < CNT_COUNT; k++) {
    if (bpf_map__lookup_elem(m.skel->maps.counters, &k, sizeof k, v.data(), v.size() * 8, 0) != 0) continue;
    for (int c = 0; c < ncpu; c++) m.data.counters[size_t(c)][k] = v[size_t(c)];
  }
  m.data.syscalls.assign(TRACE_MAX_SYSCALLS, 0);
  for (uint32_t k = 0; k < TRACE_MAX_SYSCALLS; k++) {
    if (bpf_map__lookup_elem(m.skel->maps.syscalls, &k, sizeof k, v.data(), v.size() * 8, 0) != 0) continue;
    for (int c = 0; c < ncpu; c++) m.data.syscalls[k] += v[size_t(c)];
  }
  m.data.window = __atomic_load_n(&m.skel->bss->window, __ATOMIC_ACQUIRE);
  m.data.window_open_ns = m.skel->bss->window_open_ns;
  m.data.window_close_ns = m.skel->bss->window_close_ns;
  m.data.marks_tgid = m.skel->bss->marks_tgid;
  *out = std::move(m.data);
  m.data = TraceData{};
  m.close();
  return 0;
}

#endif

}  // namespace isoprobe
