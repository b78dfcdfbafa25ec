#!/usr/bin/env bash
# npm run test:valgrind - memcheck on short block and network runs of the probe built from the same
# sources, dynamically linked (memcheck cannot intercept malloc in the static binary, so it would
# see no leaks there at all). Zero errors and zero leaks or it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/isoprobe-valgrind-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The valgrind preset (CMakePresets.json): the same sources and flags as every other build.
. scripts/quiet.sh
preset_build valgrind
P=build/valgrind/isoprobe-probe
runs=0
# vg WHAT EXPECTED_EXIT ARGS...: memcheck's own failure is exit 99, anything else unexpected fails too.
vg() {
  local what=$1 want=$2; shift 2
  local rc=0
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=99 --quiet "$P" "$@" > "$work/out" 2> "$work/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "valgrind: FAILED: $what (exit $rc, expected $want)"; tail -40 "$work/err"; exit 1
  fi
  runs=$((runs + 1))
}
vg "block psync verify" 0 block --file="$work/a.dat" --size=1M --pattern=randrw --verify --duration=200ms --warmup=0ns
vg "block pvsync2 direct" 0 block --file="$work/b.dat" --size=1M --engine=pvsync2 --direct --duration=200ms --warmup=0ns
vg "block null qd4" 0 block --file="$work/c.dat" --size=1M --engine=null --qd=4 --duration=100ms --warmup=0ns
vg "net rr tcp" 0 net rr --loopback --duration=200ms --warmup=0ns
vg "net rr udp" 0 net rr --loopback --proto=udp --duration=200ms --warmup=0ns
vg "net stream" 0 net stream --loopback --duration=200ms --warmup=0ns
vg "bad input" 2 block --file="$work/x" --bs=4q
# The addon's own paths (thread, progress, cancel, server), in node --jitless under memcheck.
# Node itself keeps "possibly lost" blocks by design; definite and indirect leaks are checked.
mkdir -p "$work/addon"
rc=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=99 --quiet node --jitless scripts/addon-exercise.js build/valgrind/isoprobe.node "$work/addon" > "$work/out" 2> "$work/err" || rc=$?
if [ "$rc" != 0 ] || ! grep -q "steps passed" "$work/out"; then echo "valgrind: FAILED: the addon exercise (exit $rc)"; cat "$work/out"; tail -40 "$work/err"; exit 1; fi
runs=$((runs + 1))
echo "valgrind: $runs runs under memcheck (the last: the addon's threads, progress and cancel paths), 0 errors, 0 leaks"
