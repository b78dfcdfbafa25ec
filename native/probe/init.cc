// The static probe as /init of a guest: mount /proc /sys /dev, load the virtio modules packed in
// the initramfs (in the order given, with their parameters from the kernel command line, as
// modprobe would), configure eth0, run the plan, print each result on the serial console framed
// with its length and CRC-32, and power off. No shell, no busybox.
//
// Plan (/plan, one directive a line):
//   net IFACE ADDR/PREFIX          address an interface and bring it up (lo comes up always)
//   serve ADDR:PORT SECONDS        echo server in the background for that long
//   run ARGS...                    one probe command line: block ... | net rr ... | net stream ...
//   hold SECONDS                   stay up (e.g. while the host measures against the server)
//   exit                           leave PID 1 at once (the kernel panics): for fault tests
#include "init.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../core/block.h"  // error_json
#include "../core/clock.h"
#include "../core/json.h"
#include "../core/net.h"
#include "guest_devices.h"
#include "plan.h"

namespace isoprobe {


namespace {

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

// Everything the host reads is one line per record on the console: "ISOPROBE <kind> ...".
void emit(const char* kind, const std::string& payload) {
  std::string head = std::string("\nISOPROBE ") + kind + " " + std::to_string(payload.size()) + " " + std::to_string(crc32(payload)) + "\n";
  std::string all = head + payload + "\nISOPROBE END\n";
  fwrite(all.data(), 1, all.size(), stdout);
  fflush(stdout);
  // Wait until the UART has sent it all: kernel messages (such as the one power-off prints) go
  // straight to the console and would land inside a frame still draining from the tty buffer.
  tcdrain(1);
}

// The measured window's edges as MARK frames: the host samples the VMM's threads when it reads one.
void mark_frame(void*, const char* what) {
  emit("MARK", std::string("{\"mark\":\"") + what + "\",\"uptime_ns\":" + std::to_string(mono_ns()) + "}");
}

/**
 * One plan "run" step. Under a deadline it runs in a child of PID 1: a workload that hangs is
 * killed when the deadline passes and reported as that workload's error, and the plan goes on
 * (a child stuck in the kernel may not die; it is not waited for).
 */
std::string run_step(const std::vector<std::string>& args, unsigned deadline_s) {
  int fds[2];
  if (!deadline_s || pipe2(fds, O_CLOEXEC) != 0) return run_probe_command(args, mark_frame);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return run_probe_command(args, mark_frame);
  }
  if (pid == 0) {
    close(fds[0]);
    const std::string json = run_probe_command(args, mark_frame);
    for (size_t off = 0; off < json.size();) {
      ssize_t n = write(fds[1], json.data() + off, json.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += size_t(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  bool eof = false;
  const uint64_t end = mono_ns() + uint64_t(deadline_s) * 1000000000ull;
  for (uint64_t now = mono_ns(); !eof && now < end; now = mono_ns()) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, int((end - now) / 1000000) + 1) <= 0) continue;
    char buf[65536];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) out.append(buf, size_t(n));
    else if (n == 0 || errno != EINTR) eof = true;
  }
  close(fds[0]);
  Error e;
  if (!eof) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, WNOHANG);
    e.err = ETIMEDOUT;
    e.code = "ETIMEDOUT";
    e.message = "the workload did not finish within its deadline of " + std::to_string(deadline_s) +
                " s in the guest and was killed; the plan went on with the next workload";
    return error_json(e, args.empty() ? "plan" : args[0].c_str());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!out.empty()) return out;
  e.err = EIO;
  e.code = "EPROBE";
  e.message = "the workload's process in the guest ended without a result (wait status " + std::to_string(status) + ")";
  return error_json(e, args.empty() ? "plan" : args[0].c_str());
}

std::string stage_json(const char* stage, const std::string& message) {
  JsonWriter w;
  w.begin_object();
  w.kv("stage", stage);
  w.kv("message", message);
  w.end_object();
  return w.str();
}

void log_line(const std::string& s) { emit("LOG", stage_json("init", s)); }

std::string read_all(const char* path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void mounts() {
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mkdir("/dev", 0755);
  mkdir("/tmp", 01777);
  mount("proc", "/proc", "proc", 0, nullptr);
  mount("sysfs", "/sys", "sysfs", 0, nullptr);
  mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
  mount("tmpfs", "/tmp", "tmpfs", 0, nullptr);
}

// isoprobe.queues=N on the kernel command line: the queues the host gave each virtio device.
unsigned wanted_queues() {
  std::string cmdline = read_all("/proc/cmdline");
  size_t at = cmdline.find("isoprobe.queues=");
  return at == std::string::npos ? 1 : unsigned(std::atoi(cmdline.c_str() + at + 16));
}

void load_modules() {
  std::ifstream order("/modules/order");
  std::string cmdline = read_all("/proc/cmdline");
  std::string name;
  while (std::getline(order, name)) {
    if (name.empty()) continue;
    std::string path = "/modules/" + name + ".ko";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) { log_line("module " + name + ": cannot open " + path + ": " + strerror(errno)); continue; }
    std::string params = module_params(cmdline, name);
    long rc = syscall(SYS_finit_module, fd, params.c_str(), 0);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EEXIST) log_line("module " + name + ": finit_module failed: " + strerror(err));
  }
}

bool if_up(int s, const std::string& ifname) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return false;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
}

bool configure(const std::string& ifname, const std::string& cidr, std::string* why) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  size_t slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  int prefix = slash == std::string::npos ? 24 : std::atoi(cidr.c_str() + slash + 1);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  bool ok = inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) == 1 && ioctl(s, SIOCSIFADDR, &ifr) == 0;
  if (ok) {
    sin->sin_addr.s_addr = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
    ok = ioctl(s, SIOCSIFNETMASK, &ifr) == 0 && if_up(s, ifname);
  }
  if (!ok) *why = ifname + " " + cidr + ": " + strerror(errno);
  close(s);
  return ok;
}

// A gate: tells the host (frame GATE) and waits for its "GO <n>" line on the console, at most
// `limit_s` seconds. The guest's own page cache is dropped first, like the host's.
bool gate(unsigned n, int limit_s) {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!write(fd, "3\n", 2);
    close(fd);
  }
  emit("GATE", "{\"gate\":" + std::to_string(n) + "}");
  const std::string want = "GO " + std::to_string(n);
  std::string line;
  for (int waited_ms = 0; waited_ms < limit_s * 1000;) {
    pollfd p{0, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r <= 0) {
      waited_ms += 100;
      continue;
    }
    char c;
    if (read(0, &c, 1) != 1) continue;
    if (c == '\n' || c == '\r') {
      if (line == want) return true;
      line.clear();
    } else if (line.size() < 64) {
      line += c;
    }
  }
  return false;
}

void wait_for_iface(const std::string& ifname, int ms) {
  std::string path = "/sys/class/net/" + ifname;
  for (int i = 0; i < ms / 10 && access(path.c_str(), F_OK) != 0; i++) usleep(10000);
}

// Ends the VM the way its VMM honours, named on the command line (isoprobe.exit=poweroff|reboot):
// Firecracker has no power-off device (a power-off only halts the guest and the VMM stays up), but
// exits on the guest's reboot through the i8042 reset (reboot=k). The host ends the run at the
// DONE frame in any case, so a VMM that honours neither is still stopped.
void power_off() {
  fflush(stdout);
  tcdrain(1);
  sync();
  std::string cmdline = read_all("/proc/cmdline");
  if (cmdline.find("isoprobe.exit=reboot") == std::string::npos) reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT);  // VMMs started with "exit on reboot" (QEMU -no-reboot, Firecracker) end here
  for (;;) pause();
}

}  // namespace

int run_as_init(int, char**) {
  mounts();
  int con = open("/dev/console", O_RDWR | O_CLOEXEC);
  if (con >= 0) {
    dup2(con, 0);
    dup2(con, 1);
    dup2(con, 2);
  }
  // Raw output: no "\n" -> "\r\n" translation, so frames arrive byte for byte as written.
  // Input: the host's "GO <n>" lines at gates, not echoed back into the frames.
  termios t;
  if (tcgetattr(1, &t) == 0) {
    t.c_oflag &= ~tcflag_t(OPOST);
    t.c_lflag &= ~tcflag_t(ECHO | ECHONL);
    tcsetattr(1, TCSANOW, &t);
  }
  setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  emit("READY", "{\"uptime_ns\":" + std::to_string(mono_ns()) + "}");
  load_modules();
  {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if_up(s, "lo");
    close(s);
  }
  std::ifstream plan("/plan");
  std::string line;
  std::vector<std::unique_ptr<EchoServer>> servers;
  int index = 0;
  unsigned deadline_s = 0;
  while (std::getline(plan, line)) {
    PlanStep step = parse_plan_line(line);
    switch (step.kind) {
      case PlanStep::Skip:
        break;
      case PlanStep::Net: {
        wait_for_iface(step.args[0], 5000);
        std::string why;
        if (!configure(step.args[0], step.args[1], &why)) emit("ERROR", stage_json("network", "cannot configure " + why));
        // A multi-queue NIC whose driver enabled fewer channels than it has (one per vCPU).
        if (wanted_queues() > 1 && !set_channels(step.args[0], wanted_queues(), &why)) emit("ERROR", stage_json("network", why));
        break;
      }
      case PlanStep::Serve: {
        NetOptions o;
        o.mode = "serve";
        o.bind = step.args[0];
        Error e;
        auto s = std::make_unique<EchoServer>();
        if (s->start(o, &e) < 0) emit("ERROR", stage_json("serve", e.message));
        else emit("SERVING", "{\"address\":\"" + s->address().str() + "\"}");
        servers.push_back(std::move(s));
        sleep(step.seconds);
        break;
      }
      case PlanStep::Hold:
        sleep(step.seconds);
        break;
      case PlanStep::Deadline:
        deadline_s = step.seconds;
        break;
      case PlanStep::Gate:
        if (!gate(step.seconds, 120)) emit("ERROR", stage_json("gate", "no GO " + std::to_string(step.seconds) + " from the host within 120 s"));
        break;
      case PlanStep::Exit:
        // For tests of the host side: PID 1 exiting makes the kernel panic.
        fflush(stdout);
        _exit(1);
      case PlanStep::Run: {
        if (index == 0) emit("DEVICES", guest_devices_json());
        QueueSnapshot before = queue_snapshot();
        emit("RESULT", run_step(step.args, deadline_s));
        if (std::string q = queue_counts_json(before, queue_snapshot()); !q.empty()) emit("QUEUES", q);
        index++;
        break;
      }
      case PlanStep::Invalid:
        emit("ERROR", stage_json("plan", step.error));
        break;
    }
  }
  for (auto& s : servers) s->stop();
  emit("DONE", "{\"results\":" + std::to_string(index) + "}");
  power_off();
  return 0;
}

}  // namespace isoprobe
