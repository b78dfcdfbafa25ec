#!/usr/bin/env bash
# The main job: install what the chosen targets use (and nothing else), build, prepare the guest
# image when a microVM is among them, compare the targets on the quick suite, print the table and
# write the HTML report; last, how long each part took.
#   ISOPROBE_TARGETS=host,runc,runsc,docker,qemu-microvm npm run quickstart   to choose targets
#   ISOPROBE_REPS=5 (default 5)
#   ISOPROBE_WHERE=0   the table without the where column: block workloads untraced (docs/attribution.md)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$EPOCHREALTIME
chosen=${ISOPROBE_TARGETS:-host,runc,runsc,qemu-microvm}
times=$(mktemp)
trap 'rm -f "$times"' EXIT
took() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }

# Only the Debian packages of the chosen targets (lib/targets/packages.json), and the tracer's
# (clang, bpftool, libbpf) when the comparison is traced (the where column, below).
groups=("target:$chosen")
if [ "${ISOPROBE_WHERE:-1}" != 0 ]; then groups+=(trace); fi
ISOPROBE_SETUP_TIMES=$times bash scripts/setup.sh "${groups[@]}"

# The kinds come from the registry: a guest image only when a microVM is measured.
kinds=$(node -e '
  const { REGISTRY, isTargetName } = require("./dist/lib/targets/registry");
  const names = process.argv[1].split(/,(?![^\[]*\])/).map((s) => s.trim().replace(/\[.*$/, ""));
  const bad = names.filter((n) => !isTargetName(n));
  if (bad.length) { process.stderr.write(`ISOPROBE_TARGETS: unknown target ${bad.join(", ")}: expected names from: isoprobe targets\n`); process.exit(2); }
  process.stdout.write(names.map((n) => REGISTRY[n].kind).join(" "));' "$chosen")
t_image=$EPOCHREALTIME
if [[ " $kinds " == *" vm "* ]]; then node bin/isoprobe.js image build; fi
image_s=$(took "$t_image")

targets=$chosen
if [ -z "${ISOPROBE_TARGETS:-}" ]; then
  # Every target of the default set that works here; the others are listed with the reason.
  targets=$(node -e '
    const { makeTarget } = require("./dist/lib/targets");
    (async () => {
      const ok = [];
      for (const n of process.argv[1].split(",")) {
        const a = await makeTarget(n).available();
        if (a.ok) ok.push(n); else process.stderr.write(`skipping ${n}: ${a.reason}\n`);
      }
      process.stdout.write(ok.join(","));
    })();' "$chosen")
fi
out=results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
echo "isoprobe quickstart: targets $targets, suite quick, ${ISOPROBE_REPS:-5} repetitions" >&2
t_measure=$EPOCHREALTIME
# The where column (each block operation split by layer, docs/attribution.md): traced by default
# here, opt-in elsewhere; the tracer's cost is in the block figures, said before they are measured.
where=()
if [ "${ISOPROBE_WHERE:-1}" != 0 ]; then
  where=(--where)
  echo "block and RR workloads traced (--where): the tracer adds about 0.3 µs per system call (a few % of p50 and IOPS on the host; more for runsc, whose Sentry makes ~7 calls per read); ISOPROBE_WHERE=0 measures without it" >&2
fi
node bin/isoprobe.js compare --targets "$targets" --suite quick --reps "${ISOPROBE_REPS:-5}" "${where[@]}" --html "$out/quickstart-$stamp.html"
measure_s=$(took "$t_measure")
echo "report: $out/quickstart-$stamp.html   (isoprobe history lists the stored runs)" >&2

# Where the time went: setup's own record (install; npm beside it when both ran), then ours.
part() { awk -v k="$1" '$1 == k { printf "%.0f", $2; f = 1 } END { if (!f) printf "0" }' "$times"; }
echo "quickstart took $(took "$t0") s: installing packages $(part install) s, npm dependencies $(part npm) s (beside the install when both ran), build $(part build) s, guest image ${image_s} s, measuring ${measure_s} s" >&2
