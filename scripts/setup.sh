#!/usr/bin/env bash
# Brings a Debian machine to where isoprobe builds and its tests run: installs the missing Debian
# packages of the named groups, installs npm dependencies when the lock file changed, builds the
# native targets and the TypeScript. Idempotent and quick when nothing is missing.
#   scripts/setup.sh [base] [bench] [containers] [vm] [report] ... [target:NAME,NAME]   (base is always included)
#   target:NAME,...: the Debian packages of those targets (lib/targets/packages.json owns them), so a
#   run installs only what the targets it measures use (the quickstart: host,runc,runsc,qemu-microvm).
#   guest-kernel: also builds the 6.1 guest kernel from Debian's linux-source (minutes, once; then
#   a cache hit), with its progress on the terminal.
#   guest-kernel:background: the same build started at nice 19 beside what comes next, its progress
#   in a log: `npm test` does this, and the one test that boots that kernel waits for the build's
#   lock. The build is CPU work of about 9 CPU-minutes, and the tests' main phase leaves about a
#   third of two CPUs idle (they wait on VMs, containers and timers): the build fills that.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A GROUP=(
  [base]="liburing-dev util-linux e2fsprogs python3 make g++ cmake ninja-build"
  [bench]="fio sockperf iperf3 prometheus"
  # every container target, and the x86-64 microVM: named by target, their packages come from
  # lib/targets/packages.json
  [containers]="target:runc,runsc,crun,docker,podman,containerd"
  [vm]="target:qemu-microvm"
  [report]="chromium libxml2-utils"
  # the native checks: libFuzzer comes with clang's runtime; valgrind for memcheck
  [fuzz]="clang libclang-rt-14-dev"
  [valgrind]="valgrind"
  # trace: the eBPF tracer (native/trace): clang -target bpf builds its programs, bpftool makes
  # the skeleton, libbpf-dev links the loader; without them the addon is built with no tracer
  [trace]="clang libbpf-dev bpftool"
  # arm64: the cross-built static probe, user-mode emulation for its tests, QEMU's virt machine
  [arm64]="g++-aarch64-linux-gnu qemu-user-static qemu-system-arm liburing-dev:arm64"
  # fleet: Ansible drives the nodes; the fleet tests' nodes each run their own sshd in a namespace
  [fleet]="ansible openssh-client openssh-server iproute2"
)

# Seconds since the step began, for the summary line of each step (and ISOPROBE_SETUP_TIMES).
took() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
record() { [ -z "${ISOPROBE_SETUP_TIMES:-}" ] || echo "$1 $2" >> "$ISOPROBE_SETUP_TIMES"; }

# The packages of targets named by target:NAME,...: read from the file the registry also reads.
target_packages() {
  node -e '
    const table = require(process.argv[1]);
    const out = [];
    // NAME or NAME[variant,...]: commas inside brackets belong to the variant.
    for (const n of process.argv[2].split(/,(?![^\[]*\])/).map((s) => s.trim().replace(/\[.*$/, "")).filter(Boolean)) {
      if (!Array.isArray(table[n])) {
        process.stderr.write(`setup.sh: unknown target "${n}" in target:${process.argv[2]}: expected one of ${Object.keys(table).filter((k) => k !== "//").join(", ")}\n`);
        process.exit(2);
      }
      out.push(...table[n]);
    }
    process.stdout.write(out.join(" "));' "$PWD/lib/targets/packages.json" "$1"
}

want=()
kernel=no
for g in base "$@"; do
  if [ "$g" = guest-kernel ]; then kernel=yes
  elif [ "$g" = guest-kernel:background ]; then kernel=background
  else want+=("$g"); fi
done
pkgs=()
for g in "${want[@]}"; do
  if [[ "$g" != target:* ]]; then
    [ -n "${GROUP[$g]+x}" ] || { echo "setup.sh: unknown group \"$g\": expected one of ${!GROUP[*]} guest-kernel guest-kernel:background target:NAME,..." >&2; exit 2; }
    g=${GROUP[$g]}
  fi
  for p in $g; do
    if [[ "$p" == target:* ]]; then tp=$(target_packages "${p#target:}") || exit 2; pkgs+=($tp); else pkgs+=("$p"); fi
  done
done

# A background kernel build installs nothing of its own: its packages (lib/image/kernel-build.ts's
# list) come with everything else's, in the one apt call, before it starts.
[ "$kernel" != background ] || pkgs+=(linux-source-6.1 $(node -e 'process.stdout.write(require(process.argv[1]).build.join(" "))' "$PWD/lib/image/kernel-packages.json"))

# liburing-dev:arm64 comes from Debian's arm64 archive: the architecture is added once.
if [[ " ${want[*]} " == *" arm64 "* ]] && [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || { echo "isoprobe setup: adding Debian's arm64 architecture needs root (dpkg --add-architecture arm64)" >&2; exit 1; }
  dpkg --add-architecture arm64
fi
# Build steps log quietly (quiet, preset_build).
. scripts/quiet.sh

# npm dependencies: reinstalled only when package-lock.json changed since the last install.
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
npm_stale() { [ ! -f node_modules/.isoprobe-lock ] || [ "$(cat node_modules/.isoprobe-lock)" != "$lock_sha" ]; }
ci_done=node_modules/.isoprobe-ci-done
npm_deps() {
  local t0=$EPOCHREALTIME
  npm ci --no-audit --no-fund --ignore-scripts >&2
  # The native build needs only the packages (cmake-js, node-api-headers): it may start now.
  touch "$ci_done"
  # better-sqlite3's native code: built here from source by its own node-gyp build (no prebuilt
  # download is reachable from this machine).
  quiet "building better-sqlite3" node_modules/.better-sqlite3-build.log npm --prefix node_modules/better-sqlite3 run -s build-release
  echo "$lock_sha" > node_modules/.isoprobe-lock
  record npm "$(took "$t0")"
}
# On a fresh machine the npm dependencies (a compile of SQLite, one CPU for a minute and a half)
# are made while apt installs (mostly waiting on downloads and dpkg) and while isoprobe's own
# native code and TypeScript build, when what they build with is already here.
npm_bg=
# In the background; its marker removed first, so a waiter never takes an old install's for this one's.
npm_start() { rm -f "$ci_done"; npm_deps & npm_bg=$!; }
policy=no
cleanup() {
  [ -z "$npm_bg" ] || { pkill -TERM -P "$npm_bg" 2>/dev/null; kill "$npm_bg" 2>/dev/null; } || true
  [ "$policy" = no ] || rm -f /usr/sbin/policy-rc.d
}
trap cleanup EXIT
if npm_stale && command -v python3 >/dev/null && command -v make >/dev/null && command -v g++ >/dev/null; then
  npm_start
fi
missing=()
declare -A seen=()
for p in "${pkgs[@]}"; do
  [ -z "${seen[$p]+x}" ] || continue
  seen[$p]=1
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "isoprobe setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "isoprobe setup: installing ${missing[*]}" >&2
  t_install=$EPOCHREALTIME
  # openssh-server is wanted for its sshd binary only (the fleet tests start their own, inside
  # namespaces): the machine's own ssh service is neither started by the install nor enabled.
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=yes
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  if [ "$policy" = yes ]; then rm -f /usr/sbin/policy-rc.d; policy=no; fi
  record install "$(took "$t_install")"
  echo "isoprobe setup: installed ${#missing[@]} packages in $(took "$t_install") s" >&2
fi
npm_wait() {
  wait "$npm_bg" || { npm_bg=; echo "isoprobe setup: installing the npm dependencies failed (above)" >&2; exit 1; }
  npm_bg=
}
# The packages first; their SQLite compile goes on beside the build below.
[ -n "$npm_bg" ] || ! npm_stale || npm_start
if [ -n "$npm_bg" ]; then
  while [ ! -f "$ci_done" ] && kill -0 "$npm_bg" 2>/dev/null; do sleep 0.2; done
  [ -f "$ci_done" ] || npm_wait
fi
t_build=$EPOCHREALTIME


# Native targets: the release preset's tree (build/), configured the first time through cmake-js
# as `npm install` does, then built incrementally (a no-op build takes a fraction of a second).
# What the configure found for the eBPF tracer is cached; when clang, bpftool or libbpf came or went
# since (the quickstart builds without them, npm test installs them), the tree is configured afresh.
have() { "$@" >/dev/null 2>&1 && echo yes || echo no; }
trace_tools="clang $(have command -v clang clang-16 clang-15 clang-14), bpftool $(have command -v bpftool /usr/sbin/bpftool), libbpf $(have test -f /usr/include/bpf/libbpf.h)"
if [ ! -f build/CMakeCache.txt ]; then
  quiet "configuring build/ (cmake-js)" build/.configure.log npx --no-install cmake-js configure --log-level warn
elif [ "$(cat build/.isoprobe-trace-tools 2>/dev/null)" != "$trace_tools" ]; then
  quiet "configuring build/ afresh (the tracer's tools changed)" build/.configure.log npx --no-install cmake-js configure --log-level warn -- --fresh
fi
echo "$trace_tools" > build/.isoprobe-trace-tools
quiet "the release build" build/.release-build.log cmake --build --preset release
# TypeScript, when a source or the configuration is newer than the last compile that passed.
stamp=dist/.isoprobe-tsc-ok
if [ ! -f "$stamp" ] || [ -n "$(find lib test bench tsconfig.json package-lock.json -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit)" ]; then
  npx --no-install tsc -p .
  touch "$stamp"
fi

record build "$(took "$t_build")"
[ -z "$npm_bg" ] || npm_wait
node -e "require('better-sqlite3')" || { echo "isoprobe setup: better-sqlite3 did not build" >&2; exit 1; }

# The aarch64 probe (group arm64): cross-built from the same description (the aarch64 preset) on
# another architecture; on an arm64 machine the release probe is it.
if [[ " ${want[*]} " == *" arm64 "* ]] && [ "$(uname -m)" != aarch64 ]; then
  preset_build aarch64
fi

# The guest kernel the tests boot (built once; its packages are installed by the build itself).
if [ "$kernel" = yes ]; then
  echo "isoprobe setup: guest kernel 6.1 from Debian's linux-source (about 5 minutes the first time, then cached)" >&2
  t_kernel=$EPOCHREALTIME
  node bin/isoprobe.js image build --kernel-source 6.1 >/dev/null
  record kernel "$(took "$t_kernel")"
elif [ "$kernel" = background ]; then
  # Not in a session of its own: a Ctrl-C at the terminal reaches it too, and it cleans up its
  # build tree (an interrupted build leaves no half-made entry). Its stdio is the log, so the
  # caller (npm) does not wait on its pipes.
  klog=$(node -e "process.stdout.write(require('./dist/lib/image/kernel').cacheDir())")/guest-kernel-6.1.log
  mkdir -p "$(dirname "$klog")"
  nice -n 19 node bin/isoprobe.js image build --kernel-source 6.1 </dev/null >"$klog" 2>&1 &
  echo "isoprobe setup: guest kernel 6.1 building in the background at nice 19 (pid $!, log $klog); the test that boots it waits for it" >&2
fi
