// isoprobe run: one workload (block, net rr, net stream, or a fio job file's jobs) in one session of a target.
import { statSync } from 'node:fs';

import { workloadWords } from '../../compare/kinds';
import { IsoprobeError } from '../../errors';
import { fioSuite } from '../../formats/fio-job';
import { fioJson } from '../../formats/fio-json';
import { BLOCK_OPTIONS, normalizeBlockOptions } from '../../probe/options';
import type { BlockResult } from '../../probe/types';
import { formatTargetResult } from '../../report/target-text';
import { shieldFromOption } from '../../system/shield';
import { makeTarget, TARGET_NAMES } from '../../targets';
import type { Session, SessionSpec, TargetResult } from '../../targets/types';
import { parseVariant, type Variant } from '../../targets/variant';
import { oneOf, parseCommand, type Table, type Values } from '../args';
import { COMMON, FIO_FORMAT } from '../common';
import type { Reporter } from '../reporter';
import { SESSION_OPTIONS, sessionSpecFrom } from '../session-options';
import { SHIELD_OPTION } from '../shield-option';
import { sweepFirst } from '../sweep-first';
import { findWorkload, pickValues } from '../workload-arg';

const RUN_OPTIONS = {
  target: { kind: 'string', default: 'host', help: `where the probe runs: one of ${TARGET_NAMES.join('|')}, optionally with settings, e.g. qemu-microvm[kernel=6.12,aio=threads]` },
  placement: oneOf(['client-inside', 'server-inside', 'loopback'], 'client-inside', 'net: client inside the target and server in a peer namespace, the reverse, or both inside on loopback'),
  where: { kind: 'bool', default: false, help: 'block and net rr workloads: trace the run with eBPF and split each operation into device, host kernel and boundary (a round trip: host path, server, boundary), with mechanism counts per operation (docs/attribution.md, docs/attribution-net.md)' },
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
} satisfies Table;
const RUN_HEAD = [`usage: isoprobe run [options] ${workloadWords()} [workload options]`, '       isoprobe run [options] --fio JOB.fio [--format fio-json]', '',
  'The workload options are those of isoprobe block and isoprobe net (see their --help); --fio runs a fio job file\'s block jobs.'];

/** A block workload's region in a target: without --size it covers the data file, when its size is given or known. */
function blockRegion(opts: { offset?: number; size?: number }, dataFile: string, dataSize: number | undefined): number {
  const offset = opts.offset ?? 0;
  if (opts.size !== undefined) {
    const need = opts.size + offset;
    if (dataSize !== undefined && dataSize < need) throw new IsoprobeError('EINVALOPT', `--data-size ${dataSize}: smaller than --offset + --size (${need} bytes)`, { option: 'data_size' });
    return dataSize ?? need;
  }
  let known = dataSize;
  if (known === undefined) {
    try {
      const st = statSync(dataFile);
      if (st.isFile() && st.size > 0) known = st.size;
    } catch {
      /* created by isoprobe at the default size */
    }
  }
  if (known === undefined) known = BLOCK_OPTIONS.size.default + offset;
  if (known <= offset) throw new IsoprobeError('EINVALOPT', `--offset ${offset}: at or past the end of the data file (${known} bytes)`, { option: 'offset' });
  opts.size = known - offset;
  return known;
}

/** isoprobe run --target T --fio JOB.fio: each job of a fio job file, one after another, in one session of the target. */
const FIO_RUN = { ...FIO_FORMAT, fio: { kind: 'string', default: '', help: "a fio job file: run its block jobs (rw, bs, iodepth, ioengine, ...; other keys refused)", defaultText: 'none' } } satisfies Table;

/** The target's session for these run options (its variant's settings over the session options). */
function sessionOf(values: Values<typeof RUN_OPTIONS>): { spec: SessionSpec; variant: Variant } {
  const spec = sessionSpecFrom(values);
  const variant = parseVariant(values.target ?? 'host', 'target');
  Object.assign(spec, variant.spec);
  return { spec, variant };
}

/** Starts the target's session, runs `each` in it (behind the --shield, when given), and stops it again. */
async function inSession<T>(variant: Variant, spec: SessionSpec, shieldCpus: string | undefined, io: Reporter, each: (s: Session) => Promise<T>): Promise<T> {
  await sweepFirst(io);
  const t = makeTarget(variant.target);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${variant.label} is not available here: ${a.reason}`);
  const s = await t.start(spec);
  let shield: ReturnType<typeof shieldFromOption>;
  try {
    shield = shieldFromOption(shieldCpus, (s) => io.err(`isoprobe: ${s}`));
    return await each(s);
  } finally {
    shield?.restore();
    await s.stop();
  }
}

/** The block results of a run, as fio's json+ reads them (a fio job file has only block jobs). */
function blockResults(rs: { name: string; result: TargetResult }[]): { name: string; result: BlockResult }[] {
  return rs.flatMap(({ name, result }) => (result.kind === 'block' ? [{ name, result }] : []));
}

async function cmdRunFio(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run --fio', RUN_HEAD, io.out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `run --fio: unexpected argument "${positionals[0]}" (the workloads are the job file's)`, { option: 'fio' });
  const { suite, notes } = fioSuite(values.fio ?? FIO_RUN.fio.default);
  for (const n of notes) io.err(`note: ${n}`);
  const { spec, variant } = sessionOf(values);
  const sizes = suite.workloads.map((w) => normalizeBlockOptions({ ...w.workload.options, file: '/fio-size' }).size);
  spec.dataSize = blockRegion({ size: Math.max(...sizes) }, spec.dataFile!, spec.dataSize);
  const results = await inSession(variant, spec, values.shield, io, async (s) => {
    const rs: { name: string; result: TargetResult }[] = [];
    for (const w of suite.workloads) rs.push({ name: w.name, result: await s.run(w.workload, { signal }) });
    return rs;
  });
  if (values.format === 'fio-json') io.out(JSON.stringify(fioJson(blockResults(results)), null, 2));
  else if (values.json) io.out(JSON.stringify(results));
  else for (const r of results) io.out(`[${r.name}]\n${formatTargetResult(r.result)}`);
  return 0;
}

export async function cmdRun(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  if (argv.some((a) => a === '--fio' || a.startsWith('--fio='))) return cmdRunFio(argv, io, signal);
  // isoprobe run [run options] block|net rr|net stream [workload options]
  const w = findWorkload(argv, 'run', { kindWords: true });
  if (!w) {
    if (parseCommand(argv.filter((a) => a === '--help'), { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run', RUN_HEAD, io.out) === undefined) return 0;
    throw new IsoprobeError('EINVALOPT', 'isoprobe run: expected a workload: block, net rr or net stream (see isoprobe run --help)', { option: 'workload' });
  }
  const args = [...w.before, ...w.after];
  if (w.mode === 'block') {
    const p = parseCommand(args, { ...RUN_OPTIONS, ...w.table, ...COMMON, ...FIO_FORMAT }, `run ${w.words}`, RUN_HEAD, io.out);
    if (!p) return 0;
    const opts = pickValues(p.values, w.table);
    if (opts.file !== undefined) throw new IsoprobeError('EINVALOPT', '--file: inside a target the data file is --data-file (on the host), mounted or passed in by isoprobe', { option: 'file' });
    const { spec, variant } = sessionFor(p, w.words, w.mode);
    spec.dataSize = blockRegion(opts, spec.dataFile!, spec.dataSize);
    const r = await inSession(variant, spec, p.values.shield, io, (s) => s.run({ kind: 'block', options: opts }, { signal }));
    if (p.values.format === 'fio-json' && r.kind === 'block') io.out(JSON.stringify(fioJson(blockResults([{ name: `block-${variant.label}`, result: r }])), null, 2));
    else io.out(p.values.json ? JSON.stringify(r) : formatTargetResult(r));
    return 0;
  }
  const p = parseCommand(args, { ...RUN_OPTIONS, ...w.table, ...COMMON }, `run ${w.words}`, RUN_HEAD, io.out);
  if (!p) return 0;
  const opts = pickValues(p.values, w.table);
  if (opts.connect !== undefined) throw new IsoprobeError('EINVALOPT', '--connect: isoprobe run places the server itself (see --placement)', { option: 'connect' });
  const { spec, variant } = sessionFor(p, w.words, w.mode);
  const placement = p.values.placement;
  delete spec.dataFile;
  delete spec.dataSize;
  spec.network = placement !== 'loopback';
  const r = await inSession(variant, spec, p.values.shield, io, (s) => s.run({ kind: w.mode, options: opts, placement: placement ?? 'client-inside' }, { signal }));
  io.out(p.values.json ? JSON.stringify(r) : formatTargetResult(r));
  return 0;
}

/** The session of a parsed `run`: refuses stray arguments, and --where where it is not built. */
function sessionFor(p: { values: Values<typeof RUN_OPTIONS>; positionals: string[] }, words: string, mode: string): { spec: SessionSpec; variant: Variant } {
  if (p.positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${p.positionals[0]}" (options start with --)`);
  const { spec, variant } = sessionOf(p.values);
  if (p.values.where) {
    // Built for block and request/response workloads: for streams it would be silently absent, so it is refused.
    if (mode !== 'block' && mode !== 'rr') throw new IsoprobeError('EINVALOPT', `--where: the split by layer is built for block and request/response (net rr) workloads, not ${words}`, { option: 'where' });
    spec.attribution = true;
  }
  return { spec, variant };
}
