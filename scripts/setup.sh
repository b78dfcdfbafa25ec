#!/usr/bin/env bash
# Brings a Debian machine to where isoprobe builds and its tests run: installs the missing Debian
# packages of the named groups, installs npm dependencies when the lock file changed, builds the
# native targets and the TypeScript. Idempotent and quick when nothing is missing.
#   scripts/setup.sh [base] [bench] [containers] [vm] [report] ...   (base is always included)
#   guest-kernel: also builds the 6.1 guest kernel from Debian's linux-source (minutes, once; then
#   a cache hit): `npm test` does it here, with its progress on the terminal, before any test runs.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A GROUP=(
  [base]="liburing-dev util-linux e2fsprogs python3 make g++ cmake ninja-build"
  [bench]="fio sockperf iperf3"
  [containers]="runc runsc crun containerd docker.io podman golang-github-containers-common iproute2"
  [vm]="qemu-system-x86 lz4 xz-utils iproute2"
  [report]="chromium libxml2-utils"
  # the native checks: libFuzzer comes with clang's runtime; valgrind for memcheck
  [fuzz]="clang libclang-rt-14-dev"
  [valgrind]="valgrind"
  # arm64: the cross-built static probe, user-mode emulation for its tests, QEMU's virt machine
  [arm64]="g++-aarch64-linux-gnu qemu-user-static qemu-system-arm liburing-dev:arm64"
  # fleet: Ansible drives the nodes; the fleet tests' nodes each run their own sshd in a namespace
  [fleet]="ansible openssh-client openssh-server iproute2"
)

want=()
kernel=no
for g in base "$@"; do
  if [ "$g" = guest-kernel ]; then kernel=yes; else want+=("$g"); fi
done
pkgs=()
for g in "${want[@]}"; do
  [ -n "${GROUP[$g]+x}" ] || { echo "setup.sh: unknown group \"$g\": expected one of ${!GROUP[*]} guest-kernel" >&2; exit 2; }
  pkgs+=(${GROUP[$g]})
done

# liburing-dev:arm64 comes from Debian's arm64 archive: the architecture is added once.
if [[ " ${want[*]} " == *" arm64 "* ]] && [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || { echo "isoprobe setup: adding Debian's arm64 architecture needs root (dpkg --add-architecture arm64)" >&2; exit 1; }
  dpkg --add-architecture arm64
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "isoprobe setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "isoprobe setup: installing ${missing[*]}" >&2
  # openssh-server is wanted for its sshd binary only (the fleet tests start their own, inside
  # namespaces): the machine's own ssh service is neither started by the install nor enabled.
  no_start=no
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && no_start=yes
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  if [ "$no_start" = yes ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

# Build steps log quietly (quiet, preset_build).
. scripts/quiet.sh

# npm dependencies: reinstall only when package-lock.json changed since the last install.
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.isoprobe-lock ] || [ "$(cat node_modules/.isoprobe-lock)" != "$lock_sha" ]; then
  npm ci --no-audit --no-fund --ignore-scripts >&2
  # better-sqlite3's native code: built here from source by its own node-gyp build (no prebuilt
  # download is reachable from this machine).
  quiet "building better-sqlite3" node_modules/.better-sqlite3-build.log npm --prefix node_modules/better-sqlite3 run -s build-release
  echo "$lock_sha" > node_modules/.isoprobe-lock
fi
node -e "require('better-sqlite3')" || { echo "isoprobe setup: better-sqlite3 did not build" >&2; exit 1; }

# Native targets: the release preset's tree (build/), configured the first time through cmake-js
# as `npm install` does, then built incrementally (a no-op build takes a fraction of a second).
[ -f build/CMakeCache.txt ] || quiet "configuring build/ (cmake-js)" build/.configure.log npx --no-install cmake-js configure --log-level warn
quiet "the release build" build/.release-build.log cmake --build --preset release
# TypeScript, when a source or the configuration is newer than the last compile that passed.
stamp=dist/.isoprobe-tsc-ok
if [ ! -f "$stamp" ] || [ -n "$(find lib test bench tsconfig.json package-lock.json -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit)" ]; then
  npx --no-install tsc -p .
  touch "$stamp"
fi

# The aarch64 probe (group arm64): cross-built from the same description (the aarch64 preset) on
# another architecture; on an arm64 machine the release probe is it.
if [[ " ${want[*]} " == *" arm64 "* ]] && [ "$(uname -m)" != aarch64 ]; then
  preset_build aarch64
fi

# The guest kernel the tests boot (built once; its packages are installed by the build itself).
if [ "$kernel" = yes ]; then
  echo "isoprobe setup: guest kernel 6.1 from Debian's linux-source (about 5 minutes the first time, then cached)" >&2
  node bin/isoprobe.js image build --kernel-source 6.1 >/dev/null
fi
