#!/usr/bin/env bash
# The main job on a small default workload: install what is missing, build, measure, print, report.
# Today it measures the host (addon and static probe); containers and microVMs join as their
# targets land (see README, "Status").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=results/quickstart-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
data=${ISOPROBE_DATA_DIR:-/var/tmp}/isoprobe-quickstart.dat
echo "isoprobe quickstart: 4 KiB random reads on $data (created by isoprobe, 256 MiB), results in $out" >&2
node bin/isoprobe.js block --file "$data" --direct --engine psync --qd 1 --duration 5s --json > "$out/host-psync-qd1.json"
node bin/isoprobe.js block --file "$data" --direct --engine io_uring --qd 32 --duration 5s --json > "$out/host-io_uring-qd32.json"
node bin/isoprobe.js block --file "$data" --direct --engine psync --qd 1 --duration 5s --via binary --json > "$out/host-static-psync-qd1.json"
node -e '
const { formatBlockResult } = require("./dist/lib/report/block-text");
for (const f of process.argv.slice(1)) { console.log(formatBlockResult(require(require("path").resolve(f)))); console.log(); }
' "$out"/*.json
echo "results written to $out" >&2
