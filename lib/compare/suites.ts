// Workload suites: `quick` (minutes here), `paper` (the workload families of the MicroVM-on-Edge
// study), `scaling` (jobs, queue depth, connections), or a JSON/YAML file a user writes, validated with the line and field of each error.
import { readFileSync } from 'node:fs';

import { IsoprobeError } from '../errors';
import { type NetMode, normalizeNetOptions } from '../probe/net-options';
import { normalizeBlockOptions } from '../probe/options';
import { parseYamlFile } from '../yaml-file';
import type { Placement, Workload } from '../targets/types';
import { KINDS, RESULT_KINDS } from './kinds';

/** The probe modes a suite's workload names as its kind: those of the result kinds (kinds.ts). */
const MODES = [...new Set(RESULT_KINDS.map((k) => KINDS[k].mode))];

export interface SuiteWorkload {
  name: string;
  workload: Workload;
}

export interface Suite {
  name: string;
  workloads: SuiteWorkload[];
  /** Workloads a run adds by name (--suite quick+udp-stream-1472): not measured unless asked. */
  optional?: SuiteWorkload[];
}

// Cells of 1 s: the quickstart's four targets x five workloads x five repetitions measure in under
// two minutes here (2.5 s cells took 3 min 50 s; README: how the intervals widen).
const q = { duration: '800ms', warmup: '200ms' };
// Block workloads pin their job where they run (cpus auto: job i on the i-th CPU the probe may
// use), so the repetitions of a cell run alike instead of on whichever CPU the scheduler chose
// (the quickstart warned nine times that they had not). Network workloads are placed by default.
const pin = { cpus: 'auto' } as const;

export const QUICK: Suite = {
  name: 'quick',
  workloads: [
    { name: 'randread-4k-qd1', workload: { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'psync', ...pin, ...q } } },
    { name: 'randwrite-4k-qd1', workload: { kind: 'block', options: { pattern: 'randwrite', bs: '4k', direct: true, engine: 'psync', ...pin, ...q } } },
    { name: 'randread-4k-uring-qd32', workload: { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'io_uring', qd: 32, ...pin, ...q } } },
    { name: 'tcp-rr-64', workload: { kind: 'rr', options: { size: 64, ...q }, placement: 'client-inside' } },
    { name: 'tcp-stream-128k', workload: { kind: 'stream', options: { size: '128k', ...q }, placement: 'client-inside' } },
  ],
  optional: [
    // As fast as the sender goes: the receiver's datagrams/s is the boundary's capacity (what
    // virtio-net changes move), the loss what the sender offered beyond it.
    { name: 'udp-stream-1472', workload: { kind: 'stream', options: { proto: 'udp', size: 1472, ...q }, placement: 'client-inside' } },
  ],
};

// How a boundary scales: one job against two (each pinned to its own CPU where the target has
// two: cpus auto), a deeper queue per job, two connections. For multi-queue variants:
// compare qemu-microvm[queues=1] and qemu-microvm[queues=2] over it.
const two = { jobs: 2, split: true, cpus: 'auto' };
export const SCALING: Suite = {
  name: 'scaling',
  workloads: [
    { name: 'randread-4k-jobs1', workload: { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'psync', ...pin, ...q } } },
    { name: 'randread-4k-jobs2', workload: { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'psync', ...two, ...q } } },
    { name: 'randread-4k-uring-qd8-jobs2', workload: { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'io_uring', qd: 8, ...two, ...q } } },
    { name: 'tcp-rr-64-conns2', workload: { kind: 'rr', options: { size: 64, conns: 2, ...q }, placement: 'client-inside' } },
  ],
};

const p = { duration: '5s', warmup: '1s' };
export const PAPER: Suite = {
  name: 'paper',
  workloads: [
    ...(['read', 'write', 'randread', 'randwrite'] as const).flatMap((pattern) =>
      (['4k', '64k', '1M'] as const).map((bs) => ({
        name: `${pattern}-${bs}-qd1`,
        workload: { kind: 'block' as const, options: { pattern, bs, direct: true, ...pin, ...p } },
      }))),
    ...(['randread', 'randwrite'] as const).map((pattern) => ({
      name: `${pattern}-4k-uring-qd32`,
      workload: { kind: 'block' as const, options: { pattern, bs: '4k', direct: true, engine: 'io_uring' as const, qd: 32, ...pin, ...p } },
    })),
    { name: 'tcp-rr-64', workload: { kind: 'rr', options: { size: 64, ...p }, placement: 'client-inside' } },
    { name: 'tcp-rr-1k', workload: { kind: 'rr', options: { size: '1k', ...p }, placement: 'client-inside' } },
    { name: 'udp-rr-64', workload: { kind: 'rr', options: { size: 64, proto: 'udp', ...p }, placement: 'client-inside' } },
    { name: 'tcp-stream-out', workload: { kind: 'stream', options: { size: '128k', ...p }, placement: 'client-inside' } },
    { name: 'tcp-stream-in', workload: { kind: 'stream', options: { size: '128k', reverse: true, ...p }, placement: 'client-inside' } },
  ],
};

export function parseSuite(text: string, file: string): Suite {
  const { data: parsed, where } = parseYamlFile(text, `suite ${file}`, 'suite');
  const data = parsed as Record<string, unknown> | null;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new IsoprobeError('EINVALOPT', `${where([])}: expected a mapping with "workloads"`, { option: 'suite' });
  for (const k of Object.keys(data)) if (!['name', 'workloads', 'duration', 'warmup'].includes(k)) throw new IsoprobeError('EINVALOPT', `${where([k])}: unknown field "${k}" (expected name, workloads, duration, warmup)`, { option: 'suite' });
  const ws = data.workloads;
  if (!Array.isArray(ws) || ws.length === 0) throw new IsoprobeError('EINVALOPT', `${where(['workloads'])}: expected a non-empty list of workloads`, { option: 'suite' });
  const defaults: Record<string, unknown> = {};
  if (data.duration !== undefined) defaults.duration = data.duration;
  if (data.warmup !== undefined) defaults.warmup = data.warmup;
  const names = new Set<string>();
  const workloads = ws.map((w: Record<string, unknown>, i: number): SuiteWorkload => {
    if (!w || typeof w !== 'object') throw new IsoprobeError('EINVALOPT', `${where(['workloads', i])}: expected a mapping`, { option: 'suite' });
    for (const k of Object.keys(w)) if (!['name', 'kind', 'options', 'placement'].includes(k)) throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, k])}: unknown field "${k}" (expected name, kind, options, placement)`, { option: 'suite' });
    const name = w.name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, 'name'])}: expected a name of letters, digits, . _ - (1-64)`, { option: 'suite' });
    if (names.has(name)) throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, 'name'])}: "${name}" is used twice`, { option: 'suite' });
    names.add(name);
    const kind = w.kind as Workload['kind'];
    if (!MODES.includes(kind)) throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, 'kind'])}: expected ${MODES.slice(0, -1).join(', ')} or ${MODES.at(-1)}`, { option: 'suite' });
    // What the probe runs in this mode is a network workload (an echo server, a placement) or not.
    const network = RESULT_KINDS.some((k) => KINDS[k].mode === kind && KINDS[k].network);
    const options = { ...defaults, ...((w.options as Record<string, unknown>) ?? {}) };
    try {
      if (!network) {
        if ('file' in options) throw new IsoprobeError('EINVALOPT', '"file" is chosen by the comparison (the data file), not by the suite', { option: 'file' });
        normalizeBlockOptions({ ...options, file: '/suite-check' });
      } else {
        if ('connect' in options) throw new IsoprobeError('EINVALOPT', '"connect" is chosen by the comparison (placement), not by the suite', { option: 'connect' });
        normalizeNetOptions(kind as NetMode, options, { loopback: true });  // the address is the comparison's
      }
    } catch (e) {
      const err = e as IsoprobeError;
      throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, 'options', ...(err.option && err.option in options ? [err.option] : [])])}: ${err.message}`, { option: 'suite' });
    }
    const placement = w.placement;
    if (placement !== undefined && !['client-inside', 'server-inside', 'loopback'].includes(placement as string))
      throw new IsoprobeError('EINVALOPT', `${where(['workloads', i, 'placement'])}: expected client-inside, server-inside or loopback`, { option: 'suite' });
    const workload = (network ? { kind, options, placement: (placement as Placement | undefined) ?? 'client-inside' } : { kind, options }) as Workload;
    return { name, workload };
  });
  return { name: typeof data.name === 'string' ? data.name : file, workloads };
}

const BUILTIN: Record<string, Suite> = { quick: QUICK, paper: PAPER, scaling: SCALING };

/** The suites isoprobe ships, by name. */
export const BUILTIN_SUITES = Object.keys(BUILTIN);

/** A built-in suite with optional workloads of its own added by name: "quick+udp-stream-1472". */
function withOptional(spec: string): Suite | undefined {
  const [name, extra] = spec.split('+', 2) as [string, string | undefined];
  const base = Object.hasOwn(BUILTIN, name) ? BUILTIN[name]! : undefined;
  if (!base || extra === undefined) return base;
  const optional = base.optional ?? [];
  const added = extra.split(',').map((n) => {
    const w = optional.find((o) => o.name === n);
    if (!w) throw new IsoprobeError('EINVALOPT', `--suite "${spec}": "${n}" is not an optional workload of ${name}; expected ${optional.map((o) => o.name).join(', ') || 'none (it has none)'}`, { option: 'suite' });
    return w;
  });
  return { ...base, name: spec, workloads: [...base.workloads, ...added] };
}

export function loadSuite(spec: string): Suite {
  const builtin = withOptional(spec);
  if (builtin) return builtin;
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (e) {
    throw new IsoprobeError('EINVALOPT', `--suite "${spec}": expected quick, paper, scaling (quick+udp-stream-1472 adds an optional workload) or a readable suite file (${(e as Error).message})`, { option: 'suite' });
  }
  return parseSuite(text, spec);
}
