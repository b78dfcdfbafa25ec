#!/usr/bin/env bash
# The main job: install what is missing, build, prepare the guest image, compare host / containers
# / microVM on the quick suite, print the table and write the HTML report.
#   ISOPROBE_TARGETS=host,runc,runsc,docker,qemu-microvm npm run quickstart   to choose targets
#   ISOPROBE_REPS=5 (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh containers vm
out=results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
node bin/isoprobe.js image build
targets=${ISOPROBE_TARGETS:-}
if [ -z "$targets" ]; then
  # Every target of the default set that works here; the others are listed with the reason.
  targets=$(node -e '
    const { makeTarget } = require("./dist/lib/targets");
    (async () => {
      const ok = [];
      for (const n of ["host", "runc", "runsc", "qemu-microvm"]) {
        const a = await makeTarget(n).available();
        if (a.ok) ok.push(n); else process.stderr.write(`skipping ${n}: ${a.reason}\n`);
      }
      process.stdout.write(ok.join(","));
    })();')
fi
echo "isoprobe quickstart: targets $targets, suite quick, ${ISOPROBE_REPS:-5} repetitions" >&2
node bin/isoprobe.js compare --targets "$targets" --suite quick --reps "${ISOPROBE_REPS:-5}" --html "$out/quickstart-$stamp.html"
echo "report: $out/quickstart-$stamp.html   (isoprobe history lists the stored runs)" >&2
