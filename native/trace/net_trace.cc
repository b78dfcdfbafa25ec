// isoprobe-net-trace: loads net.bpf.c, attaches it, and writes every record it hands over to a
// file until told to stop. A process of its own (lib/trace/net-tracer.ts spawns it), so the
// addon is untouched. Commands on stdin, one a line: "pid N" (trace process N and its children
// from now), "parent N" (trace N's children from their fork), "unparent N", "stop".
// stdout: "ready" once attached; at the end one JSON line of the counters.
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "net_event.h"

#ifdef ISOPROBE_TRACE_SKELETON
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "net.skel.h"

namespace {

FILE *out_file = nullptr;

int on_record(void *, void *data, size_t size) {
  if (size >= sizeof(net_record)) fwrite(data, sizeof(net_record), 1, out_file);
  return 0;
}

int silence(enum libbpf_print_level, const char *, va_list) { return 0; }

int fail(const char *what, int err) {
  fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : err));
  return 1;
}

// One command line; false on "stop".
bool command(net_bpf *skel, const std::string &line) {
  unsigned pid = 0;
  __u8 one = 1, named = 2;
  if (sscanf(line.c_str(), "pid %u", &pid) == 1) bpf_map__update_elem(skel->maps.traced, &pid, sizeof(pid), &named, sizeof(named), BPF_ANY);
  else if (sscanf(line.c_str(), "parent %u", &pid) == 1) bpf_map__update_elem(skel->maps.parents, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
  else if (sscanf(line.c_str(), "unparent %u", &pid) == 1) bpf_map__delete_elem(skel->maps.parents, &pid, sizeof(pid), 0);
  else if (line == "stop") return false;
  return true;
}

void print_counters(net_bpf *skel) {
  int ncpu = libbpf_num_possible_cpus();
  printf("{\"counters\":[");
  for (__u32 i = 0; i < NC_COUNT; i++) {
    unsigned long long sum = 0;
    std::string vals(sizeof(__u64) * (ncpu > 0 ? ncpu : 1), '\0');
    if (bpf_map__lookup_elem(skel->maps.counters, &i, sizeof(i), vals.data(), vals.size(), 0) == 0)
      for (int c = 0; c < ncpu; c++) sum += reinterpret_cast<const __u64 *>(vals.data())[c];
    printf("%s%llu", i ? "," : "", sum);
  }
  printf("]}\n");
  fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
  unsigned inum = 0;
  bool loopback = false;
  unsigned long long budget = 1 << 20;
  const char *out = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--netns-inum" && i + 1 < argc) inum = strtoul(argv[++i], nullptr, 10);
    else if (a == "--loopback") loopback = true;
    else if (a == "--budget" && i + 1 < argc) budget = strtoull(argv[++i], nullptr, 10);
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else {
      fprintf(stderr, "isoprobe-net-trace: unknown argument %s (expected --netns-inum N [--loopback] [--budget N] --out FILE)\n", argv[i]);
      return 2;
    }
  }
  if (!inum || !out) {
    fprintf(stderr, "isoprobe-net-trace: --netns-inum and --out are required\n");
    return 2;
  }
  out_file = fopen(out, "wb");
  if (!out_file) return fail("opening --out", errno);
  libbpf_set_print(silence);
  net_bpf *skel = net_bpf__open();
  if (!skel) return fail("opening the BPF object", errno);
  skel->rodata->net_inum = inum;
  skel->rodata->loopback = loopback ? 1 : 0;
  skel->rodata->record_budget = budget;
  if (int e = net_bpf__load(skel)) return fail("loading the BPF programs", e);
  if (int e = net_bpf__attach(skel)) return fail("attaching the BPF programs", e);
  ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, nullptr, nullptr);
  if (!rb) return fail("opening the ring buffer", errno);
  printf("ready\n");
  fflush(stdout);
  std::string line;
  bool running = true;
  while (running) {
    pollfd fds[2] = {{0, POLLIN, 0}, {ring_buffer__epoll_fd(rb), POLLIN, 0}};
    if (poll(fds, 2, 100) < 0 && errno != EINTR) break;
    ring_buffer__consume(rb);
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char buf[256];
      ssize_t n = read(0, buf, sizeof(buf));
      if (n <= 0) break;  // EOF: the session is gone; stop as if told
      for (ssize_t i = 0; i < n && running; i++) {
        if (buf[i] != '\n') { line += buf[i]; continue; }
        running = command(skel, line);
        line.clear();
      }
    }
  }
  net_bpf__detach(skel);
  ring_buffer__consume(rb);
  fclose(out_file);
  print_counters(skel);
  ring_buffer__free(rb);
  net_bpf__destroy(skel);
  return 0;
}

#else

int main() {
  fprintf(stderr, "isoprobe-net-trace: built without the eBPF tracer\n");
  return 1;
}

#endif
