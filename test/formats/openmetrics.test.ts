// OpenMetrics export: promtool (Prometheus's own checker) accepts it, each family is a metric of
// the metric list in base units, and each sample is the median of the stored repetitions.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

import { METRIC_DEFS, type MetricDef } from '../../lib/compare/metrics';
import { storedCells } from '../../lib/compare/stored-cells';
import { nodeOf } from '../../lib/formats/measures';
import { packageRoot } from '../../lib/paths';
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

/** The import step of docs/fleet.md's CI recipe: its shell script, as the gate job runs it. */
function recipeImportStep(): string {
  const doc = readFileSync(join(packageRoot(), 'docs', 'fleet.md'), 'utf8');
  const recipe = /<!-- recipe: ci-matrix -->\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const wf = parse(recipe) as { jobs: Record<string, { steps: { run?: string }[] }> };
  return wf.jobs.gate?.steps.find((s) => s.run?.includes('isoprobe.js import'))?.run ?? '';
}

testIf(noPromtool, test)('the fleet CI recipe\'s import step, run on two nodes\' exported runs, writes an OpenMetrics file per node that promtool passes, labelled with its node' + why(noPromtool), (t) => {
  const dir = join(tmp.dir, 'fleet');
  mkdirSync(dir);
  const run = storedRun(dir);
  t.is(run.code, 0, run.stderr);
  for (const node of ['pi4', 'nuc']) {
    mkdirSync(join(dir, 'runs', `run-${node}`), { recursive: true });
    t.is(runCli(['export', '--db', run.db, '--output', join(dir, 'runs', `run-${node}`, 'run.json'), '1']).code, 0);
  }
  const step = recipeImportStep();
  t.regex(step, /isoprobe\.js export --db fleet\.db --format openmetrics/, 'the recipe shows the OpenMetrics export');
  // As GitHub Actions runs a step (bash -eo pipefail), with this checkout's CLI and a run id.
  const script = step.replaceAll('node bin/isoprobe.js', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(packageRoot(), 'bin', 'isoprobe.js'))}`).replaceAll('${{ github.run_id }}', '42');
  const b = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH: `${dirname(PROMTOOL!)}:${process.env.PATH ?? ''}` } });
  t.is(b.status, 0, `the recipe's import step: ${b.stdout}${b.stderr}`);
  for (const node of ['pi4', 'nuc']) {
    const prom = join(dir, 'metrics', `${node}.prom`);
    const p = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: readFileSync(prom), encoding: 'utf8', timeout: 60_000 });
    t.is(p.status, 0, `promtool check metrics on ${node}'s export: ${p.stdout}${p.stderr}`);
    const samples = readFileSync(prom, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    t.true(samples.length >= 15, `${node}: ${samples.length} samples`);
    t.deepEqual([...new Set(samples.map((l) => /node="([^"]*)"/.exec(l)?.[1]))], [node], `${node}: every sample labelled node="${node}"`);
  }
  const store = new Store(join(dir, 'fleet.db'));
  t.deepEqual(store.runs().map((r) => JSON.parse(r.machine) as { node?: string; fleet?: string }).map((m) => `${m.fleet}/${m.node}`).sort(), ['ci-42/nuc', 'ci-42/pi4'], 'both runs one fleet');
  store.close();
});

test('every metric of the registry has an OpenMetrics family in base units (a new unit fails here, not in a fleet export)', (t) => {
  for (const def of METRIC_DEFS) t.notThrows(() => familyName(def), def.name);
  t.is(familyName(METRIC_DEFS.find((d) => d.name === 'loss')!), 'isoprobe_loss_ratio');
});
