#!/usr/bin/env bash
# Brings a Debian machine to where isoprobe builds and its tests run: installs the missing Debian
# packages of the named groups, installs npm dependencies when the lock file changed, builds the
# native targets and the TypeScript. Idempotent and quick when nothing is missing.
#   scripts/setup.sh [base] [bench] [containers] [vm] [report] ...   (base is always included)
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A GROUP=(
  [base]="liburing-dev util-linux e2fsprogs python3 make g++"
  [bench]="fio sockperf iperf3"
  [containers]="runc runsc crun containerd docker.io podman golang-github-containers-common iproute2"
  [vm]="qemu-system-x86 lz4 xz-utils iproute2"
  [report]="chromium libxml2-utils"
)

want=(base "$@")
pkgs=()
for g in "${want[@]}"; do
  [ -n "${GROUP[$g]+x}" ] || { echo "setup.sh: unknown group \"$g\": expected one of ${!GROUP[*]}" >&2; exit 2; }
  pkgs+=(${GROUP[$g]})
done

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
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies: reinstall only when package-lock.json changed since the last install.
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.isoprobe-lock ] || [ "$(cat node_modules/.isoprobe-lock)" != "$lock_sha" ]; then
  npm ci --no-audit --no-fund --ignore-scripts >&2
  # The one dependency with native code: built here from source (no prebuilt download is
  # reachable from this machine), by node-gyp like our own addon.
  (cd node_modules/better-sqlite3 && npm run -s build-release > ../.better-sqlite3-build.log 2>&1) || { tail -30 node_modules/.better-sqlite3-build.log >&2; exit 1; }
  echo "$lock_sha" > node_modules/.isoprobe-lock
fi
node -e "require('better-sqlite3')" || { echo "isoprobe setup: better-sqlite3 did not build" >&2; exit 1; }

# Native targets (incremental) and TypeScript.
if [ ! -f build/Makefile ]; then npm run -s build:native >&2; else npm run -s build:native:incremental >/dev/null || npm run -s build:native >&2; fi
npx --no-install tsc -p .
