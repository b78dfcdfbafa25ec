// The README's CI-matrix recipe stays true: it parses as a GitHub Actions workflow (a measuring job
// per node label, each uploading its export; a last job that needs them, imports them as one fleet
// and gates), and every isoprobe command in it names only options that command's --help lists.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

import { packageRoot } from '../../lib/paths';
import { runCli } from '../helpers';

const readme = readFileSync(join(packageRoot(), 'docs', 'fleet.md'), 'utf8');
const recipe = /<!-- recipe: ci-matrix -->\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];

interface Step { run?: string; uses?: string; with?: Record<string, unknown> }
interface Job { needs?: string; 'runs-on': string[]; strategy?: { matrix: { node: string[] } }; steps: Step[] }

test('the recipe is a workflow: a job per node label uploading its run, a last job importing them as one fleet and gating', (t) => {
  t.truthy(recipe, 'docs/fleet.md has the recipe');
  const wf = parse(recipe!) as { jobs: Record<string, Job> };
  const measure = wf.jobs.measure!;
  t.true(measure.strategy!.matrix.node.length >= 2, 'two or more node labels');
  t.deepEqual(measure['runs-on'], ['self-hosted', '${{ matrix.node }}']);
  t.true(measure.steps.some((s) => s.uses?.startsWith('actions/upload-artifact@') && (s.with as { path: string }).path === 'run.json'));
  const gate = wf.jobs.gate!;
  t.is(gate.needs, 'measure');
  const runs = gate.steps.map((s) => s.run ?? '').join('\n');
  t.regex(runs, /isoprobe\.js import .*--node .*--fleet "ci-\$\{\{ github\.run_id \}\}"/);
  t.regex(runs, /isoprobe\.js ab .*--baseline-node nuc --candidate-node pi4/);
});

test('every isoprobe command of the recipe uses only options its --help lists', (t) => {
  const cmds = [...recipe!.matchAll(/node bin\/isoprobe\.js ([a-z]+)((?: [^\n]*)?)/g)].map((m) => ({ cmd: m[1]!, flags: [...m[2]!.matchAll(/(?:^| )(--[a-z][a-z-]*)/g)].map((f) => f[1]!) }));
  t.true(cmds.length >= 5, `${cmds.length} commands`);
  for (const { cmd, flags } of cmds) {
    const help = runCli([cmd, '--help']);
    t.is(help.code, 0, `isoprobe ${cmd} --help`);
    for (const f of flags) t.regex(help.stdout, new RegExp(`^  ${f} `, 'm'), `isoprobe ${cmd} has ${f}`);
  }
});
