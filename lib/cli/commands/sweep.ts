// isoprobe sweep: a load-latency curve per target. One workload option is given a comma-separated
// list (--qd 1,2,4,8, --rate 500,1000,2000); every other option is as in isoprobe run.
import { writeFileSync } from 'node:fs';

import { SWEEPABLE, sweep, sweepSuite } from '../../compare/load-sweep';
import { IsoprobeError } from '../../errors';
import { renderHtml } from '../../report/html';
import { sweepSection } from '../../report/sweep-html';
import { formatSweep } from '../../report/sweep-text';
import { machineFingerprint } from '../../store/db';
import type { Workload } from '../../targets/types';
import { oneOf, parseCommand, parseValue, type Table } from '../args';
import { parseTargets } from '../common';
import { progressReporter } from '../progress';
import type { Reporter } from '../reporter';
import { SESSION_OPTIONS, sessionSpecFrom } from '../session-options';
import { DB, openStore } from '../store';
import { sweepFirst } from '../sweep-first';
import { findWorkload, pickValues, type WorkloadMode } from '../workload-arg';

const OPTIONS = {
  targets: { kind: 'string', default: 'host', help: 'comma-separated targets or variants, or @FILE; a curve each' },
  reps: { kind: 'uint', default: 3, min: 1, max: 1000, help: 'repetitions per target and point' },
  placement: oneOf(['client-inside', 'server-inside', 'loopback'], 'client-inside', 'net: where client and server run (as in isoprobe run)'),
  ...DB,
  no_store: { kind: 'bool', default: false, help: 'do not record the run in the database' },
  html: { kind: 'string', default: '', help: 'also write the HTML report (the curves, then each point) to this file' },
  json: { kind: 'bool', default: false, help: 'print the sweep as JSON' },
  seed: { kind: 'uint', default: 0, help: 'seed of the shuffled order (0: from the clock)' },
  ...SESSION_OPTIONS,
} satisfies Table;
const HEAD = ['usage: isoprobe sweep [options] block|net rr|net stream --PARAM V1,V2,... [workload options]', '',
  'A load-latency curve per target: the workload run at each value of one parameter, repetitions',
  'interleaved in a shuffled order as in compare, stored as one run. Sweepable: block --qd, --jobs,',
  '--bs, --batch; net rr --rate (open loop), --conns, --size; net stream --streams, --size.'];

/** The one option given a list: its name and its values, each checked as the option checks it. */
function sweptOption(args: string[], kind: WorkloadMode, defs: Table): { param: string; values: (number | string)[]; rest: string[] } {
  const found: { param: string; raw: string; at: number; len: number }[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(args[i]!);
    if (!m) continue;
    const key = m[1]!.replace(/-/g, '_');
    const raw = m[2] ?? args[i + 1];
    if (SWEEPABLE[kind].includes(key) && raw?.includes(',')) found.push({ param: key, raw, at: i, len: m[2] === undefined ? 2 : 1 });
  }
  if (found.length !== 1)
    throw new IsoprobeError('EINVALOPT', `isoprobe sweep: ${found.length ? `give one swept option, not ${found.map((f) => `--${f.param}`).join(' and ')}` : `expected one option with a comma-separated list of values; sweepable here: ${SWEEPABLE[kind].map((p) => `--${p}`).join(', ')}`}`, { option: found[0]?.param ?? 'sweep' });
  const f = found[0]!;
  const values = f.raw.split(',').map((v) => v.trim()).map((v) => {
    parseValue(f.param, defs[f.param]!, v);  // the option's own check: its message names it and the value
    return /^\d+$/.test(v) ? Number(v) : v;
  });
  return { param: f.param, values, rest: [...args.slice(0, f.at), ...args.slice(f.at + f.len)] };
}

export async function cmdSweep(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const w = findWorkload(argv, 'sweep');
  if (!w) {
    if (parseCommand(argv.filter((a) => a === '--help'), OPTIONS, 'sweep', HEAD, io.out) === undefined) return 0;
    throw new IsoprobeError('EINVALOPT', 'isoprobe sweep: expected a workload: block, net rr or net stream (see isoprobe sweep --help)', { option: 'workload' });
  }
  const wantsHelp = argv.includes('--help');
  const swept = wantsHelp ? undefined : sweptOption(w.after, w.mode, w.table);
  const p = parseCommand([...w.before, ...(swept?.rest ?? w.after)], { ...OPTIONS, ...w.table }, `sweep ${w.words}`, HEAD, io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const opts = pickValues(v, w.table);
  const placed = 'file' in opts ? 'file' : 'connect' in opts ? 'connect' : undefined;
  if (placed) throw new IsoprobeError('EINVALOPT', `--${placed}: isoprobe sweep places the data file and the server itself`, { option: placed });
  const workload: Workload = w.mode === 'block' ? { kind: 'block', options: pickValues(v, w.table) } : { kind: w.mode, options: pickValues(v, w.table), placement: v.placement ?? 'client-inside' };
  const spec = { workload, param: swept!.param, values: swept!.values };
  sweepSuite(spec);  // refused here, before a store or a target is touched
  const targets = parseTargets(v.targets ?? 'host');
  const store = v.no_store ? undefined : openStore(v.db, io);
  await sweepFirst(io);
  try {
    const s = await sweep({ targets, sweep: spec, reps: v.reps ?? 3,
      spec: sessionSpecFrom(v), store, signal, seed: v.seed || undefined, command: `isoprobe sweep ${argv.join(' ')}`,
      onProgress: v.json ? undefined : progressReporter(io.tty, io.progress) });
    io.out(v.json ? JSON.stringify({ run: s.comparison.runId, spec: s.spec, rule: s.rule, curves: s.curves, warnings: s.comparison.warnings }, null, 2) : formatSweep(s));
    if (v.html) {
      const what = w.words;
      const html = renderHtml(s.comparison, { machine: machineFingerprint() }, `isoprobe sweep: ${what} over ${s.spec.param}`, sweepSection(s.curves, s.spec.param, s.rule, what));
      writeFileSync(v.html, html, { mode: 0o644 });
      if (!v.json) io.out(`report written to ${v.html}`);
    }
    return 0;
  } finally {
    store?.close();
  }
}
