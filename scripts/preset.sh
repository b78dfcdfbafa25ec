# Sourced by the scripts that build a CMake preset (setup's aarch64, sanitize, valgrind, fuzz).
# preset_build NAME LOG: configures and builds the preset (CMakePresets.json) with every CPU, its
# output in LOG and shown (the last 40 lines) only when it fails. The configure is rerun each time
# (0.1 s on a configured tree), so a changed preset applies to an existing build folder.
preset_build() {
  local name=$1 log=$2
  mkdir -p "$(dirname "$log")"
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} cmake --workflow --preset "$name" > "$log" 2>&1 && return 0
  tail -40 "$log" >&2
  echo "isoprobe: the $name preset's build failed (its whole output: $log)" >&2
  return 1
}
