# Sourced by the scripts that build (setup, sanitize, valgrind, fuzz): a build step's output goes
# to a log of its own and is shown only when the step fails.

# quiet WHAT LOG COMMAND...: runs COMMAND with its output in LOG. When it fails: LOG's last 40
# lines and the log's name on stderr, and status 1 (the callers run under set -e).
quiet() {
  local what=$1 log=$2; shift 2
  mkdir -p "$(dirname "$log")"
  "$@" > "$log" 2>&1 && return 0
  tail -40 "$log" >&2
  echo "isoprobe: $what failed (its whole output: $log)" >&2
  return 1
}

# CMake builds use every CPU unless told otherwise.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}

# preset_build NAME: configures and builds the preset NAME of CMakePresets.json, its log in
# build/.NAME-build.log. The configure is rerun each time (0.1 s on a configured tree), so a
# changed preset applies to an existing build folder.
preset_build() {
  quiet "the $1 preset's build" "build/.$1-build.log" cmake --workflow --preset "$1"
}
