#!/usr/bin/env bash
# Runs a command (by default the whole test suite) on a machine made unlike this one, in the ways a
# user's machine may differ that can be simulated here, so that a test pinning this machine's facts
# fails here first rather than on the next person's first `npm test`:
#   --no-kvm          /dev/kvm does not exist (a private mount namespace whose /dev hides it)
#   --cpus N          the command may use N CPUs (taskset; N from 1)
#   --hog DUTY        a CPU hog beside it on the first of those CPUs, busy DUTY of every 100 ms
#   --without A,B     these programs are not installed (a PATH that lacks them)
# With no option: --no-kvm --cpus 1 --hog 0.3 --without docker,dockerd,fio. The command defaults to
# `npm test --ignore-scripts` after the test suite's own setup (run first, outside, since apt may
# install what --without hides). Needs root (mount namespace). What it cannot simulate: another
# CPU vendor or host kernel, cgroup v2 instead of v1, another clock source, no vhost or
# device-mapper (already absent here), arm64 (see test/probe/arm64.test.ts, under qemu-user).
#   scripts/unlike-this-machine.sh                      the whole suite, every condition
#   scripts/unlike-this-machine.sh --cpus 1 -- npx ava dist/test/probe/block.test.js
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
no_kvm=no cpus= hog= without= chosen=no
while [ $# -gt 0 ]; do
  case $1 in
    --no-kvm) no_kvm=yes; chosen=yes; shift ;;
    --cpus) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "unlike-this-machine: --cpus \"${2:-}\": expected a count of CPUs from 1" >&2; exit 2; }
      cpus=$2; chosen=yes; shift 2 ;;
    --hog) [[ ${2:-} =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || { echo "unlike-this-machine: --hog \"${2:-}\": expected a duty cycle from 0 to 1 (e.g. 0.3)" >&2; exit 2; }
      hog=$2; chosen=yes; shift 2 ;;
    --without) [[ ${2:-} =~ ^[A-Za-z0-9._+-]+(,[A-Za-z0-9._+-]+)*$ ]] || { echo "unlike-this-machine: --without \"${2:-}\": expected program names, comma-separated" >&2; exit 2; }
      without=$2; chosen=yes; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) echo "unlike-this-machine: unknown option \"$1\": expected --no-kvm, --cpus N, --hog DUTY, --without A,B or -- COMMAND" >&2; exit 2 ;;
  esac
done
if [ "$chosen" = no ]; then no_kvm=yes cpus=1 hog=0.3 without=docker,dockerd,fio; fi
[ "$(id -u)" = 0 ] || { echo "unlike-this-machine: needs root (a private mount namespace)" >&2; exit 1; }
if [ $# -eq 0 ]; then
  # The suite's own setup first, as npm test's pretest does, outside the simulation.
  npm run -s pretest
  set -- npm test --ignore-scripts
fi

work=$(mktemp -d /tmp/isoprobe-unlike-XXXXXX)
hog_pid=
cleanup() {
  [ -z "$hog_pid" ] || kill "$hog_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPUs: the first N of those this process may use.
cpu_list=
if [ -n "$cpus" ]; then
  cpu_list=$(node -e '
    const n = Number(process.argv[1]);
    const have = require("node:fs").readFileSync("/proc/self/status", "utf8").match(/^Cpus_allowed_list:\s*(.*)$/m)[1]
      .split(",").flatMap((r) => { const [a, b] = r.split("-").map(Number); return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i); });
    if (have.length < n) { process.stderr.write(`unlike-this-machine: --cpus ${n}: only ${have.length} CPUs here\n`); process.exit(2); }
    process.stdout.write(have.slice(0, n).join(","));' "$cpus")
fi
if [ -n "$hog" ] && [ "$hog" != 0 ]; then
  first=${cpu_list%%,*}
  taskset -c "${first:-0}" node -e '
    const duty = Number(process.argv[1]);
    for (;;) { const t = Date.now(); while (Date.now() - t < 100 * duty) {} Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 * (1 - duty)); }' "$hog" &
  hog_pid=$!
fi

# A PATH that lacks the named programs: every other program of today's PATH, linked, first wins.
if [ -n "$without" ]; then
  mkdir "$work/bin"
  IFS=: read -ra dirs <<< "$PATH"
  for d in "${dirs[@]}"; do
    for f in "$d"/*; do
      b=${f##*/}
      [ -x "$f" ] && [ ! -e "$work/bin/$b" ] && [[ ",$without," != *",$b,"* ]] && ln -s "$f" "$work/bin/$b"
    done
  done
  export PATH="$work/bin"
fi
# No test may insist on a target that the simulation takes away.
unset ISOPROBE_REQUIRE_TARGETS

inner=(bash -c '
  set -euo pipefail
  if [ "$1" = yes ] && [ -e /dev/kvm ]; then
    # /dev as an overlay whose upper layer deletes kvm; the mounts under /dev come back on top.
    mkdir -p "$2/dev-below" "$2/upper" "$2/work"
    mount --rbind /dev "$2/dev-below"
    subs=$(awk "\$5 ~ /^\\/dev\\// { print \$5 }" /proc/self/mountinfo | sort -u)
    mount -t overlay isoprobe-unlike -o "lowerdir=/dev,upperdir=$2/upper,workdir=$2/work" /dev
    for m in $subs; do [ -d "$m" ] && mount --rbind "$2/dev-below${m#/dev}" "$m"; done
    rm /dev/kvm
  fi
  shift 2
  exec "$@"' inner "$no_kvm" "$work")
[ -z "$cpu_list" ] || inner=(taskset -c "$cpu_list" "${inner[@]}")
echo "unlike-this-machine: no /dev/kvm: $no_kvm; CPUs: ${cpu_list:-all}; CPU hog: ${hog:-none}; without: ${without:-nothing}; running: $*" >&2
unshare --mount --propagation private "${inner[@]}" "$@"
