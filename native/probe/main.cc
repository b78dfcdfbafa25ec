// The static probe: the same core as the addon, driven by flags, JSON result on stdout.
//   isoprobe-probe block [flags]          block I/O
//   isoprobe-probe net serve|rr|stream     network echo server and clients
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../core/block.h"
#include "../core/json.h"
#include "../core/net.h"
#include "init.h"

using namespace isoprobe;

namespace {

std::atomic<bool> g_cancel{false};
void (*g_marks)(void*, const char*) = nullptr;  // --marks, or PID 1's MARK frames

void on_signal(int) { g_cancel.store(true); }

std::string flag_of(const char* name) {
  std::string f = std::string("--") + name;
  for (auto& c : f) if (c == '_') c = '-';
  return f;
}

void print_specs(FILE* f, const std::vector<OptionSpec>& specs) {
  for (auto& s : specs) {
    std::string kind = s.kind;
    std::string arg = kind == "bool" ? "" : kind == "enum" ? " " + std::string(s.choices) : " " + kind;
    if (kind != "enum") for (auto& c : arg) if (c >= 'a' && c <= 'z') c = char(c - 32);
    // An empty string default is "none" (no pinning, no address); --file is required instead.
    bool none = s.def.empty() && kind == "string" && std::string(s.name) != "file";
    std::string def = none ? " (default none)" : s.def.empty() ? "" : " (default " + s.def + ")";
    std::fprintf(f, "  %-34s %s%s\n", (flag_of(s.name) + arg).c_str(), s.help, def.c_str());
  }
  std::fprintf(f, "  %-34s %s\n", "--progress", "one JSON progress line per second on stderr");
  std::fprintf(f, "  %-34s %s\n", "--marks", "a JSON line on stderr at the start and the end of the measured window");
  std::fprintf(f, "\nSizes take k/M/G/T (powers of 1024); times take ns/us/ms/s/m. Booleans: --flag, --flag=false, --no-flag.\n");
}

void usage(FILE* f) {
  std::fprintf(f,
               "isoprobe-probe %s: exact block and network I/O timing, one static binary\n\n"
               "usage: isoprobe-probe block [options]             (isoprobe-probe block --help)\n"
               "       isoprobe-probe net serve|rr|stream [options] (isoprobe-probe net --help)\n"
               "       isoprobe-probe --version\n",
               kProbeVersion);
}

void progress_line(void*, const Progress& p) {
  std::fprintf(stderr, "{\"progress\":{\"phase\":\"%s\",\"elapsed_ns\":%llu,\"ops\":%llu,\"iops\":%.1f,\"bw_bytes_per_s\":%.1f}}\n",
               p.phase, (unsigned long long)p.elapsed_ns, (unsigned long long)p.ops, p.iops, p.bw_bytes_per_s);
}

// --marks: the measured window's edges as lines on stderr, flushed at once, for the host's
// sampling of what the boundary spends over that window.
void mark_line(void*, const char* what) {
  std::fprintf(stderr, "{\"mark\":\"%s\",\"t_ns\":%llu}\n", what, (unsigned long long)mono_ns());
  std::fflush(stderr);
}

int exit_code(const Error& e) { return e.code == "EINVALOPT" || e.code == "EREFUSED" ? 2 : e.code == "ECANCELED" ? 130 : 1; }

int fail(const Error& e, const char* kind) {
  std::printf("%s\n", error_json(e, kind).c_str());
  std::fprintf(stderr, "isoprobe-probe: %s\n", e.message.c_str());
  return exit_code(e);
}

// Parses "--name value", "--name=value", "--flag", "--no-flag" against an option table.
int parse_args(int argc, char** argv, const std::vector<OptionSpec>& specs, const char* cmd,
               const std::function<int(const std::string&, const std::string&, Error*)>& set, bool* progress, Error* e) {
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) return option_error(e, a, "unexpected argument \"" + a + "\": options start with --");
    std::string name = a.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) { value = name.substr(eq + 1); name = name.substr(0, eq); has_value = true; }
    for (auto& c : name) if (c == '-') c = '_';
    if (name == "progress") { *progress = true; continue; }
    if (name == "marks") { if (!g_marks) g_marks = mark_line; continue; }  // PID 1 frames them
    const OptionSpec* spec = nullptr;
    for (auto& s : specs) if (name == s.name) spec = &s;
    bool negated = false;
    if (!spec && name.rfind("no_", 0) == 0) {
      for (auto& s : specs) if (name.substr(3) == s.name && std::string(s.kind) == "bool") spec = &s;
      negated = spec != nullptr;
      if (negated) name = name.substr(3);
    }
    if (!spec) return option_error(e, name, a.substr(0, a.find('=')) + ": unknown option (see isoprobe-probe " + cmd + " --help)");
    if (std::string(spec->kind) == "bool") {
      if (negated) { if (has_value) return option_error(e, name, "--no-" + name + " takes no value"); value = "false"; }
      else if (!has_value) value = "true";
    } else if (!has_value) {
      if (i + 1 >= argc) return option_error(e, name, a + ": expected a value after it");
      value = argv[++i];
    }
    int rc = set(name, value, e);
    if (rc < 0) return rc;
  }
  return 0;
}

bool wants_help(int argc, char** argv) {
  for (int i = 0; i < argc; i++)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  return false;
}

// The commands proper: they fill *json with the result or the error and return the exit code;
// the CLI prints, PID 1 mode frames it for the serial console.
RunHooks command_hooks(bool progress) {
  RunHooks hooks;
  hooks.cancel = &g_cancel;
  if (progress) hooks.progress = progress_line;
  hooks.mark = g_marks;
  return hooks;
}

int block_command(int argc, char** argv, bool* progress, std::string* json, Error* e) {
  BlockOptions o;
  if (parse_args(argc, argv, block_option_specs(), "block",
                 [&](const std::string& n, const std::string& v, Error* er) { return set_block_option(&o, n, v, er); }, progress, e) < 0)
    return *json = error_json(*e, "block"), exit_code(*e);
  RunHooks hooks = command_hooks(*progress);
  BlockResult r;
  r.build = "static";
  if (run_block(o, hooks, &r, e) < 0) return *json = error_json(*e, "block"), exit_code(*e);
  *json = block_result_json(r);
  return 0;
}

int net_client_command(const std::string& mode, int argc, char** argv, bool* progress, std::string* json, Error* e) {
  NetOptions o;
  o.mode = mode;
  // --loopback: an echo server on 127.0.0.1 in this process, and the client against it.
  std::vector<char*> args;
  bool loopback = false;
  for (int i = 0; i < argc; i++) {
    if (!std::strcmp(argv[i], "--loopback")) loopback = true;
    else args.push_back(argv[i]);
  }
  std::vector<std::string> given;
  if (parse_args(int(args.size()), args.data(), net_option_specs(), "net",
                 [&](const std::string& n, const std::string& v, Error* er) { return given.push_back(n), set_net_option(&o, n, v, er); }, progress, e) < 0)
    return *json = error_json(*e, "net"), exit_code(*e);
  // The defaults of what it measures (a stream's size), declared in the option table.
  if (apply_net_kind_defaults(&o, given, e) < 0) return *json = error_json(*e, "net"), exit_code(*e);
  EchoServer local;
  if (loopback) {
    if (validate_net_options(o, e, true) < 0) return *json = error_json(*e, "net"), exit_code(*e);
    NetOptions so = o;
    so.mode = "serve";
    so.bind = "127.0.0.1:0";
    so.cpus = o.server_cpus;
    so.cpu = -1;
    so.server_cpus.clear();
    if (local.start(so, e) < 0) {
      if (e->option == "cpus") {
        e->option = "server_cpus";  // the server's --cpus is the client's --server-cpus
        e->message.replace(0, 6, "--server-cpus");
      }
      return *json = error_json(*e, "net"), exit_code(*e);
    }
    o.connect = local.address().str();
  }
  if (validate_net_options(o, e) < 0) return *json = error_json(*e, "net"), exit_code(*e);
  RunHooks hooks = command_hooks(*progress);
  NetResult r;
  r.build = "static";
  r.server_pinned = local.cpus();
  if (run_net(o, hooks, &r, e) < 0) return *json = error_json(*e, "net"), exit_code(*e);
  *json = net_result_json(r);
  return 0;
}

int print_result(int code, const std::string& json, const Error& e) {
  std::printf("%s\n", json.c_str());
  if (code) std::fprintf(stderr, "isoprobe-probe: %s\n", e.message.c_str());
  return code;
}

int cmd_block(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::printf("usage: isoprobe-probe block --file PATH [options]\n\n");
    print_specs(stdout, block_option_specs());
    return 0;
  }
  bool progress = false;
  std::string json;
  Error e;
  int code = block_command(argc, argv, &progress, &json, &e);
  return print_result(code, json, e);
}

int cmd_net(int argc, char** argv) {
  if (argc < 1 || wants_help(1, argv)) {
    std::printf("usage: isoprobe-probe net serve|rr|stream [options]\n\n");
    print_specs(stdout, net_option_specs());
    std::printf("  %-34s %s\n", "--loopback", "rr, stream: serve on 127.0.0.1 in this process and measure against it");
    return argc < 1 ? 2 : 0;
  }
  std::string mode = argv[0];
  Error e;
  bool progress = false;
  if (mode != "serve") {
    std::string json;
    int code = net_client_command(mode, argc - 1, argv + 1, &progress, &json, &e);
    return print_result(code, json, e);
  }
  NetOptions o;
  o.mode = "serve";
  for (int i = 1; i < argc; i++)
    if (!std::strcmp(argv[i], "--loopback")) { option_error(&e, "loopback", "--loopback: applies to rr and stream, not serve"); return fail(e, "net"); }
  if (parse_args(argc - 1, argv + 1, net_option_specs(), "net",
                 [&](const std::string& n, const std::string& v, Error* er) { return set_net_option(&o, n, v, er); }, &progress, &e) < 0 ||
      validate_net_options(o, &e) < 0)
    return fail(e, "net");
  // Without an explicit --duration the server runs until SIGINT/SIGTERM.
  bool timed = false;
  for (int i = 1; i < argc; i++) if (!std::strncmp(argv[i], "--duration", 10)) timed = true;
  EchoServer server;
  if (server.start(o, &e) < 0) return fail(e, "net");
  JsonWriter listening;
  listening.begin_object();
  listening.kv("listening", server.address().str());
  listening.kv("proto", o.proto);
  listening.key("cpus");  // where its threads were pinned (--cpus, resolved), [] when not
  listening.begin_array();
  for (int c : server.cpus()) listening.value(int64_t(c));
  listening.end_array();
  listening.end_object();
  std::printf("%s\n", listening.str().c_str());
  std::fflush(stdout);
  uint64_t end = timed && o.duration ? mono_ns() + o.duration : UINT64_MAX;
  while (!g_cancel.load() && mono_ns() < end) {
    timespec ts{0, 20000000};
    nanosleep(&ts, nullptr);
  }
  uint64_t conns = server.connections(), echoed = server.echoed();
  server.stop();
  JsonWriter served;
  served.begin_object();
  served.key("served");
  served.begin_object();
  served.kv("connections", conns);
  served.kv("echoed", echoed);
  served.end_object();
  served.end_object();
  std::printf("%s\n", served.str().c_str());
  return 0;
}

}  // namespace

namespace isoprobe {
std::string run_probe_command(const std::vector<std::string>& args, void (*mark)(void*, const char*)) {
  g_marks = mark;
  std::vector<std::string> copy(args);
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(&a[0]);
  bool progress = false;
  std::string json;
  Error e;
  if (!argv.empty() && copy[0] == "block") block_command(int(argv.size()) - 1, argv.data() + 1, &progress, &json, &e);
  else if (argv.size() >= 2 && copy[0] == "net" && (copy[1] == "rr" || copy[1] == "stream"))
    net_client_command(copy[1], int(argv.size()) - 2, argv.data() + 2, &progress, &json, &e);
  else {
    option_error(&e, "plan", "unknown probe command in the plan: " + (copy.empty() ? std::string() : copy[0]));
    json = error_json(e, "plan");
  }
  return json;
}
}  // namespace isoprobe

int main(int argc, char** argv) {
  // As /init of a guest the probe runs the plan packed beside it. Only the name decides: in a
  // container with its own PID namespace the probe is PID 1 too, and must stay a plain probe.
  if (getpid() == 1 && !std::strcmp(argv[0], "/init")) return run_as_init(argc, argv);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) { usage(stderr); return 2; }
  std::string cmd = argv[1];
  if (cmd == "--version") { std::printf("%s\n", kProbeVersion); return 0; }
  if (cmd == "--help" || cmd == "-h") { usage(stdout); return 0; }
  if (cmd == "block") return cmd_block(argc - 2, argv + 2);
  if (cmd == "net") return cmd_net(argc - 2, argv + 2);
  std::fprintf(stderr, "isoprobe-probe: unknown command \"%s\"\n", cmd.c_str());
  usage(stderr);
  return 2;
}
