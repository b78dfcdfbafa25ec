// isoprobe run: one workload (block, net rr, net stream, or a fio job file's jobs) in one session of a target.
import type { Reporter } from '../reporter';
import { COMMON, FIO_FORMAT, udpStream } from '../common';
import { SHIELD_OPTION } from '../shield-option';
import { shieldFromOption } from '../../system/shield';
import { SESSION_OPTIONS, sessionSpecFrom } from '../session-options';
import { sweepFirst } from '../sweep-first';
import { IsoprobeError } from '../../errors';
import { parseCommand, type Table } from '../args';
import { NET_OPTIONS } from '../../probe/net-options';
import { makeTarget, TARGET_NAMES } from '../../targets';
import { parseVariant } from '../../targets/variant';
import type { Placement, TargetResult, Workload } from '../../targets/types';
import { formatTargetResult } from '../../report/target-text';
import { BLOCK_OPTIONS, normalizeBlockOptions } from '../../probe/options';
import { statSync } from 'node:fs';
import type { BlockResult } from '../../probe/types';
import { fioJson } from '../../formats/fio-json';
import { fioSuite } from '../../formats/fio-job';

const RUN_OPTIONS: Table = {
  target: { kind: 'string', default: 'host', help: `where the probe runs: one of ${TARGET_NAMES.join('|')}, optionally with settings, e.g. qemu-microvm[kernel=6.12,aio=threads]` },
  placement: { kind: 'enum', default: 'client-inside', choices: ['client-inside', 'server-inside', 'loopback'], help: 'net: client inside the target and server in a peer namespace, the reverse, or both inside on loopback' },
  where: { kind: 'bool', default: false, help: 'block workloads, every target: trace the run with eBPF and split each operation into device, host kernel and boundary, with mechanism counts per operation (docs/attribution.md)' },
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
};
const RUN_HEAD = ['usage: isoprobe run [options] block|net rr|net stream [workload options]', '       isoprobe run [options] --fio JOB.fio [--format fio-json]', '',
  'The workload options are those of isoprobe block and isoprobe net (see their --help); --fio runs a fio job file\'s block jobs.'];

/** A block workload's region in a target: without --size it covers the data file, when its size is given or known. */
function blockRegion(opts: Record<string, unknown>, dataFile: string, dataSize: number | undefined): number {
  const offset = (opts.offset as number | undefined) ?? 0;
  if (opts.size !== undefined) {
    const need = (opts.size as number) + offset;
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
const FIO_RUN: Table = { ...FIO_FORMAT, fio: { kind: 'string', default: '', help: "a fio job file: run its block jobs (rw, bs, iodepth, ioengine, ...; other keys refused)", defaultText: 'none' } };

async function cmdRunFio(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run --fio', RUN_HEAD, io.out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `run --fio: unexpected argument "${positionals[0]}" (the workloads are the job file's)`, { option: 'fio' });
  const { suite, notes } = fioSuite(values.fio as string);
  for (const n of notes) io.err(`note: ${n}`);
  const session: Record<string, unknown> = {};
  for (const k of Object.keys(SESSION_OPTIONS)) session[k] = values[k];
  const spec = sessionSpecFrom(session);
  const variant = parseVariant((values.target as string | undefined) ?? 'host', 'target');
  Object.assign(spec, variant.spec);
  const sizes = suite.workloads.map((w) => normalizeBlockOptions({ ...w.workload.options, file: '/fio-size' }).size);
  spec.dataSize = blockRegion({ size: Math.max(...sizes) }, spec.dataFile!, spec.dataSize);
  await sweepFirst(io);
  const t = makeTarget(variant.target);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${variant.label} is not available here: ${a.reason}`);
  const s = await t.start(spec);
  const results: { name: string; result: TargetResult }[] = [];
  let shield: ReturnType<typeof shieldFromOption>;
  try {
    shield = shieldFromOption(values.shield);
    for (const w of suite.workloads) results.push({ name: w.name, result: await s.run(w.workload, { signal }) });
  } finally {
    shield?.restore();
    await s.stop();
  }
  if (values.format === 'fio-json') io.out(JSON.stringify(fioJson(results.map((r) => ({ name: r.name, result: r.result as unknown as BlockResult }))), null, 2));
  else if (values.json) io.out(JSON.stringify(results));
  else for (const r of results) io.out(`[${r.name}]\n${formatTargetResult(r.result)}`);
  return 0;
}

export async function cmdRun(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  if (argv.some((a) => a === '--fio' || a.startsWith('--fio='))) return cmdRunFio(argv, io, signal);
  // isoprobe run [run options] block|net rr|net stream [workload options]
  const kindAt = argv.findIndex((a) => a === 'block' || a === 'net');
  if (kindAt < 0) {
    if (parseCommand(argv.filter((a) => a === '--help'), { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run', RUN_HEAD, io.out) === undefined) return 0;
    throw new IsoprobeError('EINVALOPT', 'isoprobe run: expected a workload: block, net rr or net stream (see isoprobe run --help)', { option: 'workload' });
  }
  const isNet = argv[kindAt] === 'net';
  if (isNet) argv = udpStream(argv, kindAt + 1);
  const mode = isNet ? argv[kindAt + 1] : 'block';
  if (isNet && mode !== 'rr' && mode !== 'stream') throw new IsoprobeError('EINVALOPT', `isoprobe run net "${mode ?? ''}": expected rr or stream`, { option: 'mode' });
  const before = argv.slice(0, kindAt);
  const after = argv.slice(kindAt + (isNet ? 2 : 1));
  const table = { ...RUN_OPTIONS, ...(isNet ? (NET_OPTIONS as unknown as Table) : (BLOCK_OPTIONS as unknown as Table)), ...COMMON, ...(isNet ? {} : FIO_FORMAT) };
  const p = parseCommand([...before, ...after], table, `run ${isNet ? `net ${mode}` : 'block'}`, RUN_HEAD, io.out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const session: Record<string, unknown> = {};
  for (const k of Object.keys(SESSION_OPTIONS)) session[k] = values[k];
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (!(k in RUN_OPTIONS) && !(k in COMMON) && !(k in FIO_FORMAT)) opts[k] = v;
  const spec = sessionSpecFrom(session);
  const variant = parseVariant((values.target as string | undefined) ?? 'host', 'target');
  const name = variant.target;
  Object.assign(spec, variant.spec);
  if (values.where) {
    // Built for block workloads: for network ones it would be silently absent, so it is refused.
    if (isNet) throw new IsoprobeError('EINVALOPT', `--where: the split by layer is built for block workloads so far, not net ${mode}`, { option: 'where' });
    spec.attribution = true;
  }
  if (!isNet && opts.file !== undefined) throw new IsoprobeError('EINVALOPT', '--file: inside a target the data file is --data-file (on the host), mounted or passed in by isoprobe', { option: 'file' });
  if (isNet && opts.connect !== undefined) throw new IsoprobeError('EINVALOPT', '--connect: isoprobe run places the server itself (see --placement)', { option: 'connect' });
  const placement = values.placement as Placement | undefined;
  if (isNet) {
    delete spec.dataFile;
    delete spec.dataSize;
    spec.network = placement !== 'loopback';
  } else spec.dataSize = blockRegion(opts, spec.dataFile!, spec.dataSize);
  await sweepFirst(io);
  const t = makeTarget(name);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${variant.label} is not available here: ${a.reason}`);
  const s = await t.start(spec);
  let r: TargetResult;
  let shield: ReturnType<typeof shieldFromOption>;
  try {
    shield = shieldFromOption(values.shield);
    const w: Workload = isNet ? { kind: mode as 'rr' | 'stream', options: opts, placement: placement ?? 'client-inside' } : { kind: 'block', options: opts as never };
    r = await s.run(w, { signal });
  } finally {
    shield?.restore();
    await s.stop();
  }
  if (values.format === 'fio-json' && r.kind === 'block') io.out(JSON.stringify(fioJson([{ name: `block-${variant.label}`, result: r as unknown as BlockResult }]), null, 2));
  else io.out(values.json ? JSON.stringify(r) : formatTargetResult(r));
  return 0;
}
