#!/usr/bin/env bash
# npm run test:sanitize - the core under AddressSanitizer and UndefinedBehaviorSanitizer, run over
# every block engine and pattern (with verification) and every network mode. Zero reports or it
# fails: any sanitizer message aborts the probe (halt_on_error) and is printed here.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/isoprobe-sanitize-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The asan preset (CMakePresets.json): the same sources and flags as every other build.
. scripts/quiet.sh
preset_build asan
P=build/asan/isoprobe-probe
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
runs=0
check() {
  local what=$1; shift
  if ! "$P" "$@" > "$work/out" 2> "$work/err"; then
    echo "sanitize: FAILED: $what"; cat "$work/err" | tail -30; exit 1
  fi
  if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$work/err"; then
    echo "sanitize: REPORT in $what"; cat "$work/err"; exit 1
  fi
  runs=$((runs + 1))
}
q="--duration=150ms --warmup=20ms"
for engine in psync pvsync2 io_uring null; do
  for pattern in read write randread randwrite randrw; do
    v=--verify; [ $engine = null ] && v=
    qd=1; [ $engine = io_uring ] && qd=8; [ $engine = null ] && qd=4
    check "block $engine $pattern" block --file="$work/d-$engine.dat" --size=2M --engine=$engine --pattern=$pattern --qd=$qd $v $q
  done
done
check "block O_DIRECT fsync" block --file="$work/d-fs.dat" --size=2M --direct --pattern=randwrite --fsync=4 $q
check "block io_uring fixed" block --file="$work/d-fx.dat" --size=2M --direct --engine=io_uring --qd=4 --register-files --fixed-bufs $q
check "block tsc clock" block --file="$work/d-tsc.dat" --size=1M --engine=null --clock=auto $q
check "net rr tcp" net rr --loopback $q
check "net rr udp" net rr --loopback --proto=udp $q
check "net rr io_uring" net rr --loopback --backend=io_uring $q
check "net rr open loop" net rr --loopback --rate=2000 --arrival=poisson $q
check "net rr conns" net rr --loopback --conns=3 $q
check "net stream" net stream --loopback --streams=2 $q
check "net stream reverse" net stream --loopback --reverse $q
# Bad input must fail cleanly, also under the sanitizers.
"$P" block --file="$work/x" --bs=4q > /dev/null 2> "$work/err" || true
grep -qE "AddressSanitizer|runtime error:" "$work/err" && { echo "sanitize: REPORT on bad input"; cat "$work/err"; exit 1; }
runs=$((runs + 1))
# The addon: its own thread, progress callbacks, cancellation, concurrent runs and the in-process
# server, in node with the sanitizer runtimes preloaded. Leaks whose stacks pass through node's own
# binary are Node's and V8's (they outlive the script by design); any other leak is ours.
node_bin=$(readlink -f "$(command -v node)")
printf 'leak:%s\n' "$node_bin" > "$work/lsan.supp"
mkdir -p "$work/addon"
if ! LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=86 \
  LSAN_OPTIONS="suppressions=$work/lsan.supp:print_suppressions=0" node scripts/addon-exercise.js build/asan/isoprobe.node "$work/addon" > "$work/out" 2> "$work/err"; then
  echo "sanitize: FAILED: the addon exercise"; cat "$work/out"; tail -40 "$work/err"; exit 1
fi
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$work/err"; then echo "sanitize: REPORT in the addon exercise"; cat "$work/err"; exit 1; fi
grep -q "steps passed" "$work/out" || { echo "sanitize: the addon exercise did not finish"; cat "$work/out"; exit 1; }
runs=$((runs + 1))
echo "sanitize: $runs runs under ASan+UBSan (the last: the addon's threads, progress and cancel paths), 0 reports"
