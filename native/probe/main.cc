// The static probe: the same core as the addon, driven by flags, JSON result on stdout.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../core/block.h"
#include "../core/json.h"

using namespace isoprobe;

namespace {

std::atomic<bool> g_cancel{false};

void on_signal(int) { g_cancel.store(true); }

void usage_block(FILE* f) {
  std::fprintf(f, "usage: isoprobe-probe block --file PATH [options]\n\n");
  for (auto& s : block_option_specs()) {
    std::string flag = std::string("--") + s.name;
    for (auto& c : flag) if (c == '_') c = '-';
    std::string arg = std::string(s.kind) == "bool" ? "" : std::string(s.kind) == "enum" ? " " + std::string(s.choices) : std::string(" ") + s.kind;
    for (auto& c : arg) if (c >= 'a' && c <= 'z' && std::string(s.kind) != "enum") c = char(c - 32);
    std::fprintf(f, "  %-34s %s\n", (flag + arg).c_str(), s.help);
  }
  std::fprintf(f, "  %-34s %s\n", "--progress", "one JSON progress line per second on stderr");
  std::fprintf(f, "\nSizes take k/M/G/T (powers of 1024); times take ns/us/ms/s/m. Booleans: --flag, --flag=false, --no-flag.\n");
}

void usage(FILE* f) {
  std::fprintf(f,
               "isoprobe-probe %s: exact block and network I/O timing, one static binary\n\n"
               "usage: isoprobe-probe block [options]      (isoprobe-probe block --help)\n"
               "       isoprobe-probe --version\n",
               kProbeVersion);
}

void progress_line(void*, const Progress& p) {
  std::fprintf(stderr, "{\"progress\":{\"phase\":\"%s\",\"elapsed_ns\":%llu,\"ops\":%llu,\"iops\":%.1f,\"bw_bytes_per_s\":%.1f}}\n",
               p.phase, (unsigned long long)p.elapsed_ns, (unsigned long long)p.ops, p.iops, p.bw_bytes_per_s);
}

int fail(const Error& e, const char* kind, int code) {
  std::printf("%s\n", error_json(e, kind).c_str());
  std::fprintf(stderr, "isoprobe-probe: %s\n", e.message.c_str());
  return code;
}

// Parses "--name value", "--name=value", "--flag", "--no-flag" against the option table.
int parse_block_args(int argc, char** argv, BlockOptions* o, bool* progress, Error* e) {
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) return option_error(e, a, "unexpected argument \"" + a + "\": options start with --");
    std::string name = a.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) { value = name.substr(eq + 1); name = name.substr(0, eq); has_value = true; }
    for (auto& c : name) if (c == '-') c = '_';
    if (name == "progress") { *progress = true; continue; }
    const OptionSpec* spec = nullptr;
    for (auto& s : block_option_specs()) if (name == s.name) spec = &s;
    bool negated = false;
    if (!spec && name.rfind("no_", 0) == 0) {
      for (auto& s : block_option_specs()) if (name.substr(3) == s.name && std::string(s.kind) == "bool") spec = &s;
      negated = spec != nullptr;
      if (negated) name = name.substr(3);
    }
    if (!spec) {
      std::string flag = a.substr(0, a.find('='));
      return option_error(e, name, flag + ": unknown option (see isoprobe-probe block --help)");
    }
    if (std::string(spec->kind) == "bool") {
      if (negated) { if (has_value) return option_error(e, name, "--no-" + name + " takes no value"); value = "false"; }
      else if (!has_value) value = "true";
    } else if (!has_value) {
      if (i + 1 >= argc) return option_error(e, name, a + ": expected a value after it");
      value = argv[++i];
    }
    int rc = set_block_option(o, name, value, e);
    if (rc < 0) return rc;
  }
  return 0;
}

int cmd_block(int argc, char** argv) {
  for (int i = 0; i < argc; i++)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) { usage_block(stdout); return 0; }
  BlockOptions o;
  Error e;
  bool progress = false;
  if (parse_block_args(argc, argv, &o, &progress, &e) < 0) return fail(e, "block", 2);
  RunHooks hooks;
  hooks.cancel = &g_cancel;
  if (progress) hooks.progress = progress_line;
  BlockResult r;
  r.build = "static";
  if (run_block(o, hooks, &r, &e) < 0) return fail(e, "block", e.code == "EINVALOPT" || e.code == "EREFUSED" ? 2 : e.code == "ECANCELED" ? 130 : 1);
  std::printf("%s\n", block_result_json(r).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (argc < 2) { usage(stderr); return 2; }
  std::string cmd = argv[1];
  if (cmd == "--version") { std::printf("%s\n", kProbeVersion); return 0; }
  if (cmd == "--help" || cmd == "-h") { usage(stdout); return 0; }
  if (cmd == "block") return cmd_block(argc - 2, argv + 2);
  std::fprintf(stderr, "isoprobe-probe: unknown command \"%s\"\n", cmd.c_str());
  usage(stderr);
  return 2;
}
