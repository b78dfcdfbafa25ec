// isoprobe compare: the suite on every target, repetitions interleaved, compared and stored.
import { writeFileSync } from 'node:fs';

import { compare, type Comparison } from '../../compare/compare';
import { loadSuite, type Suite } from '../../compare/suites';
import { IsoprobeError } from '../../errors';
import { fioSuite } from '../../formats/fio-job';
import { formatComparison, TABLE_COLUMNS } from '../../report/compare-text';
import { renderHtml } from '../../report/html';
import { machineFingerprint } from '../../store/db';
import { shieldFromOption } from '../../system/shield';
import { parseCommand, type Table } from '../args';
import { codeOf, parseTargets } from '../common';
import { liveTable, progressReporter } from '../progress';
import type { Reporter } from '../reporter';
import { SESSION_OPTIONS, sessionSpecFrom } from '../session-options';
import { SHIELD_OPTION } from '../shield-option';
import { DB, openStore } from '../store';
import { sweepFirst } from '../sweep-first';

export const COMPARE = {
  targets: { kind: 'string', default: 'host,runc,runsc,qemu-microvm', help: 'comma-separated targets or variants (qemu-microvm[kernel=6.12,aio=threads]), or @FILE (YAML/JSON); the first is the baseline of the ratios' },
  suite: { kind: 'string', default: 'quick', help: 'quick, paper, scaling (jobs, queue depth, connections), a JSON/YAML suite file, or a fio job file (.fio)' },
  reps: { kind: 'uint', default: 5, min: 1, max: 1000, help: 'repetitions per target and workload' },
  ...DB,
  no_store: { kind: 'bool', default: false, help: 'do not record the run in the database' },
  html: { kind: 'string', default: '', help: 'also write the HTML report to this file' },
  json: { kind: 'bool', default: false, help: 'print the comparison as JSON' },
  wide: { kind: 'bool', default: false, help: `every column (p99.9) and intervals in full; the default table fits ${TABLE_COLUMNS} columns` },
  verbose: { kind: 'bool', default: false, help: 'every warning in full (by default one line per kind, the details in the HTML report)' },
  force: { kind: 'bool', default: false, help: 'compare even if the probe binaries measured in the targets differ' },
  seed: { kind: 'uint', default: 0, help: 'seed of the shuffled order (0: from the clock)' },
  where: { kind: 'bool', default: false, help: "trace with eBPF: each block operation split into device, host kernel and boundary, each RR transaction into host path, server and boundary, with counts per operation (docs/attribution.md)" },
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
} satisfies Table;
const COMPARE_HEAD = ['usage: isoprobe compare [options]', '',
  'Runs the suite on every target, repetitions interleaved in a shuffled order, and compares.'];
export function writeHtml(path: string, c: Comparison, env: Parameters<typeof renderHtml>[1]): void {
  writeFileSync(path, renderHtml(c, env, `isoprobe: ${c.targets.join(' vs ')}`), { mode: 0o644 });
}

export async function cmdCompare(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, COMPARE, 'compare', COMPARE_HEAD, io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const targets = parseTargets(v.targets ?? (COMPARE.targets.default));
  const spec0 = v.suite ?? 'quick';
  const fio = spec0.endsWith('.fio') ? fioSuite(spec0) : undefined;  // a fio job file's block jobs (lib/formats/fio-job.ts)
  for (const n of fio?.notes ?? []) io.err(`note: ${n}`);
  const suite: Suite = fio ? fio.suite : loadSuite(spec0);
  const store = v.no_store ? undefined : openStore(v.db, io);
  const spec = sessionSpecFrom(v);
  if (v.where) spec.attribution = true;  // as run --where: the session traces its block steps
  const wide = v.wide === true;
  await sweepFirst(io);
  const live = !v.json && io.liveOut ? liveTable(io.liveOut) : undefined;
  const shield = shieldFromOption(v.shield, (s) => io.err(`isoprobe: ${s}`));
  try {
    const c = await compare({
      targets, suite, reps: v.reps ?? 5, spec, store, force: v.force === true, signal,
      seed: v.seed || undefined, command: `isoprobe compare ${argv.join(' ')}`,
      onProgress: v.json ? undefined : progressReporter(io.tty, io.progress),
      onRepetition: live && ((partial, done) => live.draw(formatComparison(partial, { wide, partial: { done, of: v.reps ?? 5 } }))),
    });
    live?.erase();
    io.out(v.json ? JSON.stringify({ ...c, cells: undefined }, null, 2) : formatComparison(c, { wide, verbose: v.verbose }));
    if (v.html) {
      writeHtml(v.html, c, { machine: machineFingerprint(), probe_env: c.cells.find((x) => x.results.length)?.results[0]?.env });
      if (!v.json) io.out(`report written to ${v.html}`);
    }
    return 0;
  } catch (e) {
    if (codeOf(e) === 'ECANCELED' && store) {
      const last = store.runs(1)[0];
      io.err(`\ninterrupted: run ${last?.id} is kept in ${store.path}, marked incomplete, with ${last ? store.results(last.id).length : 0} results`);
    }
    throw e;
  } finally {
    shield?.restore();
    store?.close();
  }
}
