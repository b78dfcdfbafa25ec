// The quickstart's first screen on real output: `isoprobe compare` over the quick suite's own
// workloads (cells shortened, nothing else changed) opens with the answer in a few lines before any
// table, prints no placement warning of the suite's own making, and no line passes 120 columns.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadSuite } from '../../lib/compare/suites';
import { packageRoot } from '../../lib/paths';
import { tempDir, targetSkips, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const TARGETS = ['host', 'runc'];
const skips = targetSkips(TARGETS);
const skip = [...skips.values()].find(Boolean);

/** The quick suite as a suite file, every workload's options as the built-in has them, its cells shorter. */
function shortQuick(): string {
  const file = join(tmp.dir, 'quick-short.json');
  const workloads = loadSuite('quick').workloads.map((w) => ({
    name: w.name, kind: w.workload.kind, ...('placement' in w.workload && w.workload.placement ? { placement: w.workload.placement } : {}),
    options: { ...w.workload.options, duration: '250ms', warmup: '50ms' },
  }));
  writeFileSync(file, JSON.stringify({ name: 'quick', workloads }));
  return file;
}

testIf(skip, test.serial)(`compare over the quick suite's workloads: the answer first, no placement warning of its own making, every line within 120 columns${why(skip)}`, (t) => {
  // 50 cells of 0.3 s and their sessions: under a minute here; the limits only guard against a hang.
  t.timeout(300_000);
  const r = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'compare', '--targets', TARGETS.join(','), '--suite', shortQuick(),
    '--reps', '5', '--db', join(tmp.dir, 'runs.db'), '--data-file', join(tmp.dir, 'data')], { encoding: 'utf8', timeout: 280_000 });
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const answer = lines.findIndex((l) => l.startsWith('What this run found, against host'));
  const firstTable = lines.findIndex((l) => /^ {2}target /.test(l));
  t.true(answer > 0 && answer <= 2, `the answer opens the output, after its one heading line:\n${r.stdout}`);
  t.true(firstTable > answer, 'before the first table');
  const verdict = lines.slice(answer, lines.indexOf('', answer));
  t.true(verdict.length >= 2 && verdict.length <= 12, `a few lines: ${verdict.length}\n${verdict.join('\n')}`);
  t.regex(verdict.join('\n'), /^ {2}runc: .*x the |^ {2}not told apart from the baseline/m, 'says what it found for runc, or that it could not tell it apart');
  // The suite pins (block: cpus auto; network: client and server apart by default), so a placement
  // warning can only come from a repetition that could not be pinned: its process allowed fewer
  // than two CPUs at the time (moved by something else on this shared machine, e.g. another run's
  // --shield). Such a cell has pinned and unpinned repetitions; a cell pinned alike throughout has
  // no warning.
  const e = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'export', '--db', join(tmp.dir, 'runs.db'), '1'], { encoding: 'utf8', timeout: 60_000 });
  const results = (JSON.parse(e.stdout) as { results: { workload: string; target: string; result: { kind: string; options: { cpus?: string }; cpu_placement?: { pinned: number[]; server_pinned?: number[] } } }[] }).results;
  t.true(results.filter((x) => x.result.kind === 'block').every((x) => x.result.options.cpus === 'auto'), 'the suite\'s block workloads pin (cpus auto)');
  for (const l of lines) {
    const m = /^warning: (\S+) on (\S+): repetitions ran with different CPU placements/.exec(l);
    if (!m) continue;
    const reps = results.filter((x) => x.workload === m[1] && x.target === m[2]).map((x) => x.result);
    const sides = (r: (typeof reps)[number]) => [r.cpu_placement?.pinned ?? [], ...(r.kind === 'block' ? [] : [r.cpu_placement?.server_pinned ?? []])];
    t.true(reps.some((r) => sides(r).some((c) => c.length === 0)) && reps.some((r) => sides(r).some((c) => c.length > 0)),
      `${l}: warned only where the suite's pinning held in some repetitions and could not pin in others`);
  }
  for (const l of lines) t.true(l.length <= 120, `${l.length} columns: ${l}`);
});
