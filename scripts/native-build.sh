#!/usr/bin/env bash
# Builds the probe from the same sources as binding.gyp, outside node-gyp, for the checks that
# need other compilers or flags: sanitizers (ASan+UBSan), valgrind (dynamically linked, since
# memcheck cannot intercept malloc in a static binary), and the libFuzzer targets.
#   scripts/native-build.sh sanitize|valgrind|fuzz|arm64 OUTDIR
# arm64 cross-builds the static probe for aarch64 (Debian's g++-aarch64-linux-gnu, liburing-dev:arm64).
# sanitize and valgrind also build the addon (isoprobe-asan.node, isoprobe-dyn.node), so its own
# thread, progress and cancel paths are checked too (scripts/addon-exercise.js drives them).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?mode: sanitize, valgrind or fuzz}
out=${2:?output directory}
mkdir -p "$out"
core=$(node -e 'const g=require("fs").readFileSync("binding.gyp","utf8"); const m=g.match(/"core_sources":\s*\[([^\]]*)\]/); console.log(JSON.parse("["+m[1]+"]").join(" "))')
flags="-std=c++17 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter"
# The addon's compile flags: Node's headers (where npm's node-gyp finds them) and node-addon-api.
nodedir=$(npm config get nodedir 2>/dev/null || true)
[ -d "$nodedir/include/node" ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
addon_flags="-shared -fPIC -fexceptions -DNAPI_VERSION=8 -DNODE_ADDON_API_CPP_EXCEPTIONS -I$nodedir/include/node -I$(node -p "require('node-addon-api').include_dir")"
case "$mode" in
  sanitize)
    g++ $flags -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined $core native/probe/main.cc native/probe/init.cc native/probe/guest_devices.cc native/probe/plan.cc -o "$out/isoprobe-probe-asan" -luring -pthread
    g++ $flags $addon_flags -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined $core native/addon/addon.cc -o "$out/isoprobe-asan.node" -luring -pthread ;;
  valgrind)
    g++ $flags -O1 $core native/probe/main.cc native/probe/init.cc native/probe/guest_devices.cc native/probe/plan.cc -o "$out/isoprobe-probe-dyn" -luring -pthread
    g++ $flags $addon_flags -O1 $core native/addon/addon.cc -o "$out/isoprobe-dyn.node" -luring -pthread ;;
  fuzz)
    for t in native/fuzz/fuzz_*.cc; do
      name=$(basename "$t" .cc)
      clang++ $flags -O1 -fsanitize=fuzzer,address,undefined $core native/probe/plan.cc "$t" -o "$out/$name" -luring -pthread -DISOPROBE_FUZZ
    done ;;
  arm64)
    # The same sources and flags as binding.gyp's probe target, for aarch64.
    aarch64-linux-gnu-g++ -std=c++17 -O2 -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing $core native/probe/main.cc native/probe/init.cc native/probe/guest_devices.cc native/probe/plan.cc \
      -o "$out/isoprobe-probe" -static -pthread -L/usr/lib/aarch64-linux-gnu -l:liburing.a ;;
  *) echo "native-build.sh: mode \"$mode\": expected sanitize, valgrind, fuzz or arm64" >&2; exit 2 ;;
esac
