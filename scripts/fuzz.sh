#!/usr/bin/env bash
# npm run fuzz - libFuzzer (clang) on the parsers at the trust boundary: the probe's options
# (flags and plan arguments) and the guest /init's plan and command-line parsing. Regression
# inputs in native/fuzz/regressions/<target>/ run first; each target then fuzzes for
# FUZZ_SECONDS (default 60). A crash is copied to native/fuzz/regressions/<target>/ and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
work=$(mktemp -d /tmp/isoprobe-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The fuzz preset (CMakePresets.json): the same sources and flags as every other build.
. scripts/quiet.sh
preset_build fuzz
total=0
for bin in build/fuzz/fuzz_*; do
  name=$(basename "$bin")
  reg=native/fuzz/regressions/$name
  corpus=native/fuzz/corpus/$name
  mkdir -p "$reg" "$corpus" "$work/corpus-$name"
  cp -r "$corpus"/. "$work/corpus-$name"/ 2>/dev/null || true
  if ls "$reg"/* >/dev/null 2>&1; then "$bin" "$reg"/* > "$work/$name.reg.log" 2>&1 || { cat "$work/$name.reg.log" | tail -20; echo "fuzz: $name fails on a regression input"; exit 1; }; fi
  if ! "$bin" -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$work/$name-" "$work/corpus-$name" > "$work/$name.log" 2>&1; then
    tail -30 "$work/$name.log"
    for c in "$work/$name"-crash-* "$work/$name"-leak-* "$work/$name"-timeout-*; do [ -f "$c" ] && cp "$c" "$reg/"; done
    echo "fuzz: $name found a failure; the input is kept in $reg"
    exit 1
  fi
  runs=$(grep -oE "Done [0-9]+ runs" "$work/$name.log" | grep -oE "[0-9]+" || echo 0)
  # A fuzzer that ran nothing (a broken build, a corpus it could not read) proved nothing.
  if [ "$runs" -eq 0 ]; then tail -20 "$work/$name.log"; echo "fuzz: $name executed 0 inputs"; exit 1; fi
  total=$((total + runs))
  echo "fuzz: $name: $runs executions in ${seconds}s, no failure"
done
echo "fuzz: $total executions in all"
