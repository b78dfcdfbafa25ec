// OpenMetrics export: promtool (Prometheus's own checker) accepts it, each family is a metric of
// the metric list in base units, and each sample is the median of the stored repetitions.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { METRIC_DEFS, type MetricDef } from '../../lib/compare/metrics';
import { storedCells } from '../../lib/compare/stored-cells';
import { nodeOf } from '../../lib/formats/measures';
import { familyName } from '../../lib/formats/openmetrics';
import { median } from '../../lib/stats/resample';
import type { RunRow } from '../../lib/store/db';
import { Store } from '../../lib/store/db';
import { runCli, tempDir, testIf, why } from '../helpers';
import { storedRun } from './stored-run';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find(existsSync);
const noPromtool = PROMTOOL ? undefined : 'promtool is not installed (Debian package prometheus; scripts/setup.sh bench installs it)';
const SCALE: Record<string, number> = { seconds: 1e-9, bytes: 2 ** 20, bytes_per_second: 1e9 / 8, ratio: 1 };

test('the node label is a fleet run\'s node, else the host the run measured on', (t) => {
  const row = (machine: object) => ({ machine: JSON.stringify(machine) }) as RunRow;
  t.is(nodeOf(row({ hostname: 'box', fleet: 'f1', node: 'pi4-1' })), 'pi4-1');
  t.is(nodeOf(row({ hostname: 'box' })), 'box');
});

testIf(noPromtool, test)('export --format openmetrics of a stored run passes promtool check metrics, a sample per cell and metric' + why(noPromtool), (t) => {
  const run = storedRun(tmp.dir);
  t.is(run.code, 0, run.stderr);
  const e = runCli(['export', '--db', run.db, '--format', 'openmetrics', '1']);
  t.is(e.code, 0, e.stderr);
  const p = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: e.stdout, encoding: 'utf8', timeout: 60_000 });
  t.is(p.status, 0, `promtool check metrics: ${p.stdout}${p.stderr}`);
  const lines = e.stdout.trimEnd().split('\n');
  t.is(lines.at(-1), '# EOF');
  const store = new Store(run.db);
  const node = nodeOf(store.run(1));
  const cells = storedCells(store, 1);
  store.close();
  let checked = 0;
  for (const def of (METRIC_DEFS as readonly MetricDef[]).filter((d) => d.kinds.length)) {  // a sweep's knee is no figure of one result
    const name = familyName(def);
    for (const c of cells) {
      const vs = c.results.map((r) => def.value(r)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const sample = lines.find((l) => l.startsWith(`${name}{target="${c.target}",workload="${c.workload}",metric="${def.name}",node="${node}"} `));
      if (!vs.length) {
        t.is(sample, undefined, `${def.name} ${c.workload}: no sample where no result has the metric`);
        continue;
      }
      t.truthy(sample, `${def.name} ${c.workload}: a sample`);
      const unit = lines.find((l) => l.startsWith(`# UNIT ${name} `))?.split(' ')[3];
      const scale = unit ? SCALE[unit]! : 1;
      const v = Number(sample!.split(' ').at(-1));
      t.true(Math.abs(v - median(vs) * scale) <= Math.abs(median(vs) * scale) * 1e-12, `${name} ${c.workload}: ${v} is the median ${median(vs)} in ${unit ?? 'its own unit'}`);
      t.true(lines.includes(`# TYPE ${name} gauge`) && lines.some((l) => l.startsWith(`# HELP ${name} ${def.title}`)), `${name}: TYPE and HELP from the metric list`);
      checked++;
    }
  }
  t.true(checked >= 3 * 5, `${checked} samples checked`);
});
