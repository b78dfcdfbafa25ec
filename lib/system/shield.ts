// A shielded measuring CPU for one run (`--shield`): the measuring CPUs in a cpuset of isoprobe's
// own, every other movable task and IRQ moved off them for the run, and everything put back after
// (also on SIGINT/SIGTERM, through the command's own unwinding; after a SIGKILL, by the next run's
// sweep, from a state file named with the maker's mark). What could not be moved is recorded.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { removeCgroupDir } from '../cgroup-dir';
import { optionError } from '../errors';
import { orphaned, OWNER } from '../owner';

/** Where the machine keeps its cgroups and processes: parameters, so a test hands in made-up ones. */
export interface ShieldRoots {
  cgroup: string;
  proc: string;
  /** Where the state file of a raised shield lives (what a SIGKILLed run's successor restores from). */
  state: string;
}

export const REAL_ROOTS: ShieldRoots = { cgroup: '/sys/fs/cgroup', proc: '/proc', state: tmpdir() };

export type ShieldPlan =
  | { hierarchy: 'cgroup v1 cpuset' | 'cgroup v2 cpuset partition'; dir: string; cpus: number[]; rest: number[] }
  | { refused: string };

/** "0-2,5" → [0,1,2,5]. */
export function cpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) return [];
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

const listText = (cpus: number[]) => cpus.join(',');

function read(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The product's rule: which cpuset hierarchy can hold a shield of `cpus`, given the CPUs this
 * process may use, or the sentence that refuses it. cgroup v1's cpuset hierarchy is used where it
 * is mounted (also beside a v2 tree: a hybrid machine's cpusets are v1's); else cgroup v2 where its
 * cpuset controller is available and a child can be made a partition (cpuset.cpus.partition).
 */
export function planShield(cpus: number[], allowed: number[], roots: ShieldRoots = REAL_ROOTS): ShieldPlan {
  if (allowed.length < 2) return { refused: `--shield: this process may use only CPU ${listText(allowed)}; a shield needs one CPU to measure on and another for everything else` };
  const outside = cpus.filter((c) => !allowed.includes(c));
  if (!cpus.length) return { refused: '--shield: expected a CPU list such as 0 or 0-1, or auto (the first CPU this process may use)' };
  if (outside.length) return { refused: `--shield ${listText(cpus)}: CPU ${listText(outside)} is not among the CPUs this process may use (${listText(allowed)})` };
  const rest = allowed.filter((c) => !cpus.includes(c));
  if (!rest.length) return { refused: `--shield ${listText(cpus)}: that is every CPU this process may use; leave at least one for everything else` };
  const v1 = join(roots.cgroup, 'cpuset');
  if (existsSync(join(v1, 'cpuset.cpus')) && existsSync(join(v1, 'tasks'))) return { hierarchy: 'cgroup v1 cpuset', dir: v1, cpus, rest };
  const controllers = read(join(roots.cgroup, 'cgroup.controllers'));
  if (controllers !== undefined) {
    if (!controllers.split(/\s+/).includes('cpuset')) return { refused: `--shield: cgroup v2 at ${roots.cgroup} has no cpuset controller (cgroup.controllers: ${controllers.trim() || 'none'})` };
    const partitions = readdirSync(roots.cgroup, { withFileTypes: true }).some((e) => e.isDirectory() && existsSync(join(roots.cgroup, e.name, 'cpuset.cpus.partition')));
    const enabled = (read(join(roots.cgroup, 'cgroup.subtree_control')) ?? '').split(/\s+/).includes('cpuset');
    // With cpuset enabled below the root every child shows cpuset.cpus.partition where the kernel has it (5.11+).
    if (enabled && !partitions) return { refused: `--shield: cgroup v2 at ${roots.cgroup} has no cpuset.cpus.partition (Linux 5.11 and later): other tasks cannot be kept off the CPUs` };
    return { hierarchy: 'cgroup v2 cpuset partition', dir: roots.cgroup, cpus, rest };
  }
  return { refused: `--shield: no cpuset cgroup here (neither cgroup v1's cpuset hierarchy at ${v1} nor cgroup v2 at ${roots.cgroup})` };
}

/** What a raised shield did, kept in the run's record. */
export interface ShieldRecord {
  hierarchy: string;
  cpus: number[];
  rest: number[];
  /** Tasks moved off the shielded CPUs (threads, v1) or cgroups left without them (v2). */
  moved: number;
  /** Tasks left where they were, with why: kernel threads bound to a CPU, tasks pinned to the shielded CPUs, another owner's cpuset. */
  notMoved: { tid: number; comm: string; why: string }[];
  irqsMoved: number[];
  irqsNotMoved: { irq: number; why: string }[];
  exclusive: boolean;
}

/** What restoring needs, written before anything is moved and kept until everything is back. */
interface ShieldState {
  hierarchy: ShieldRecord['hierarchy'];
  dir: string;
  proc: string;
  shield: string;
  rest?: string;
  /** v2: whether cpuset was enabled below the root before, and the cgroup this process came from. */
  subtreeHadCpuset?: boolean;
  ownFrom?: string;
  irqs: Record<string, string>;
  /** Moved threads whose own affinity was narrower than their cpuset's (v1 resets it on a move). */
  affinities: Record<string, string>;
}

const STATE_PREFIX = 'isoprobe-shield-';
const statePath = (roots: ShieldRoots, mark = OWNER) => join(roots.state, `${STATE_PREFIX}${mark}-state.json`);

function statusField(proc: string, tid: number, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(read(join(proc, String(tid), 'status')) ?? '')?.[1]?.trim();
}

/** Whether a task is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags). */
function kernelThread(proc: string, tid: number): boolean {
  const s = read(join(proc, String(tid), 'stat'));
  if (!s) return false;
  const flags = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[6]);
  return (flags & 0x00200000) !== 0;
}

/** This process and its descendants: the measurement itself, which stays where it is. */
function ownTree(proc: string): Set<number> {
  const parent = new Map<number, number>();
  for (const n of readdirSync(proc).filter((x) => /^\d+$/.test(x))) {
    const s = read(join(proc, n, 'stat'));
    if (s) parent.set(Number(n), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const mine = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  return new Set([...parent.keys()].filter(mine));
}

function tryWrite(p: string, v: string): string | undefined {
  try {
    writeFileSync(p, v);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Moves IRQs whose affinity includes a shielded CPU to the other CPUs; the originals go into the state. */
function moveIrqs(roots: ShieldRoots, cpus: number[], rest: number[], state: ShieldState, rec: ShieldRecord): void {
  const dir = join(roots.proc, 'irq');
  let irqs: string[];
  try {
    irqs = readdirSync(dir).filter((x) => /^\d+$/.test(x));
  } catch {
    return;
  }
  for (const n of irqs) {
    const file = join(dir, n, 'smp_affinity_list');
    const was = read(file)?.trim();
    if (!was || !cpuList(was).some((c) => cpus.includes(c))) continue;
    state.irqs[n] = was;
    saveState(roots, state);
    const keep = cpuList(was).filter((c) => rest.includes(c));
    const err = tryWrite(file, listText(keep.length ? keep : rest));
    if (err) {
      delete state.irqs[n];
      rec.irqsNotMoved.push({ irq: Number(n), why: err === 'EIO' ? 'its affinity cannot be set (EIO: a per-CPU or managed interrupt)' : err });
    } else rec.irqsMoved.push(Number(n));
  }
  saveState(roots, state);
}

function saveState(roots: ShieldRoots, s: ShieldState): void {
  writeFileSync(statePath(roots), JSON.stringify(s));
}

function makeCpuset(path: string, cpus: number[], mems: string): void {
  mkdirSync(path);
  writeFileSync(join(path, 'cpuset.mems'), mems);
  writeFileSync(join(path, 'cpuset.cpus'), listText(cpus));
}

/** v1: a cpuset for the shielded CPUs and one for the rest, and every movable task of the root's moved to the rest. */
function raiseV1(plan: Extract<ShieldPlan, { dir: string }>, roots: ShieldRoots, state: ShieldState, rec: ShieldRecord): void {
  const mems = (read(join(plan.dir, 'cpuset.mems')) ?? '0').trim();
  makeCpuset(state.shield, plan.cpus, mems);
  rec.exclusive = !tryWrite(join(state.shield, 'cpuset.cpu_exclusive'), '1');
  makeCpuset(state.rest!, plan.rest, mems);
  const mine = ownTree(roots.proc);
  const tids = (read(join(plan.dir, 'tasks')) ?? '').split('\n').filter(Boolean).map(Number);
  for (const tid of tids) {
    const tgid = Number(statusField(roots.proc, tid, 'Tgid') ?? tid);
    if (mine.has(tgid)) continue;
    const comm = (read(join(roots.proc, String(tid), 'comm')) ?? '?').trim();
    const allowed = cpuList(statusField(roots.proc, tid, 'Cpus_allowed_list') ?? '');
    if (allowed.length && allowed.every((c) => plan.cpus.includes(c))) {
      rec.notMoved.push({ tid, comm, why: kernelThread(roots.proc, tid) ? 'a kernel thread bound to a shielded CPU' : 'pinned to the shielded CPUs by its owner' });
      continue;
    }
    const all = [...plan.cpus, ...plan.rest];
    if (allowed.length && !all.every((c) => allowed.includes(c))) state.affinities[tid] = listText(allowed);
    const err = tryWrite(join(state.rest!, 'tasks'), String(tid));
    if (err && err !== 'ESRCH') {
      delete state.affinities[tid];
      rec.notMoved.push({ tid, comm, why: kernelThread(roots.proc, tid) ? `a kernel thread that cannot move (${err})` : `cannot move (${err})` });
    } else if (!err) rec.moved++;
  }
  // Tasks in other owners' cpusets (a container engine's) keep their CPUs: counted, never changed.
  for (const e of readdirSync(plan.dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith(`isoprobe-${OWNER}-`)) continue;
    const n = countTasks(join(plan.dir, e.name));
    if (n) rec.notMoved.push({ tid: 0, comm: e.name, why: `${n} tasks in cpuset ${e.name}, not isoprobe's` });
  }
}

function countTasks(dir: string): number {
  let n = (read(join(dir, 'tasks')) ?? '').split('\n').filter(Boolean).length;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) n += countTasks(join(dir, e.name));
  return n;
}

/** v2: a partition of the shielded CPUs (the kernel takes them from every other cgroup), this process in it. */
function raiseV2(plan: Extract<ShieldPlan, { dir: string }>, roots: ShieldRoots, state: ShieldState, rec: ShieldRecord): void {
  const sub = join(plan.dir, 'cgroup.subtree_control');
  state.subtreeHadCpuset = (read(sub) ?? '').split(/\s+/).includes('cpuset');
  saveState(roots, state);
  if (!state.subtreeHadCpuset) writeFileSync(sub, '+cpuset');
  mkdirSync(state.shield);
  writeFileSync(join(state.shield, 'cpuset.cpus'), listText(plan.cpus));
  const err = tryWrite(join(state.shield, 'cpuset.cpus.partition'), 'root');
  const got = (read(join(state.shield, 'cpuset.cpus.partition')) ?? '').trim();
  if (err || got !== 'root') throw new Error(`the kernel did not make ${state.shield} a partition (${err ?? got}); a partition needs CPUs no other cgroup holds exclusively`);
  rec.exclusive = true;
  state.ownFrom = join(plan.dir, (read(join(roots.proc, String(process.pid), 'cgroup')) ?? '').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '/');
  saveState(roots, state);
  writeFileSync(join(state.shield, 'cgroup.procs'), String(process.pid));
  rec.moved = readdirSync(plan.dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith(`isoprobe-${OWNER}-`)).length;
}

/** A raised shield: its record, and the restore (idempotent). */
export interface Shield {
  record: ShieldRecord;
  restore(): string[];
}

/**
 * Raises a shield by a plan: state file first (so a SIGKILL at any point leaves what the sweep
 * needs), then the cpusets, the tasks and the IRQs. Throws with the option named when it cannot;
 * what it had done by then is undone first.
 */
export function raiseShield(plan: ShieldPlan, roots: ShieldRoots = REAL_ROOTS): Shield {
  if ('refused' in plan) throw optionError('shield', plan.refused);
  const base = join(plan.dir, `isoprobe-${OWNER}-shield`);
  const state: ShieldState = { hierarchy: plan.hierarchy, dir: plan.dir, proc: roots.proc, shield: base, irqs: {}, affinities: {} };
  if (plan.hierarchy === 'cgroup v1 cpuset') state.rest = join(plan.dir, `isoprobe-${OWNER}-rest`);
  const rec: ShieldRecord = { hierarchy: plan.hierarchy, cpus: plan.cpus, rest: plan.rest, moved: 0, notMoved: [], irqsMoved: [], irqsNotMoved: [], exclusive: false };
  saveState(roots, state);
  const restore = () => {
    if (active === rec) active = undefined;
    return restoreState(state, statePath(roots));
  };
  try {
    if (plan.hierarchy === 'cgroup v1 cpuset') raiseV1(plan, roots, state, rec);
    else raiseV2(plan, roots, state, rec);
    saveState(roots, state);
    moveIrqs(roots, plan.cpus, plan.rest, state, rec);
  } catch (e) {
    restore();
    throw optionError('shield', `--shield ${listText(plan.cpus)}: could not shield the CPUs: ${(e as Error).message}`);
  }
  active = rec;
  return { record: rec, restore };
}

let active: ShieldRecord | undefined;

/** The shield raised by this process and not yet restored: every run's system record carries it. */
export function activeShield(): ShieldRecord | undefined {
  return active;
}

/**
 * A thread's affinity, set again (a move between v1 cpusets resets it to the cpuset's CPUs). On a
 * made-up /proc (a test's) the call is written into that tree instead of reaching a real thread.
 */
function setAffinity(proc: string, tid: string, cpus: string): void {
  if (proc === '/proc') spawnSync('taskset', ['-pc', cpus, tid], { stdio: 'ignore' });
  else writeFileSync(join(proc, tid, 'affinity_set'), cpus);
}

/** Puts back what a state file says was moved; returns what could not be put back. */
function restoreState(s: ShieldState, file: string): string[] {
  const failed: string[] = [];
  if (s.rest) {
    for (const tid of (read(join(s.rest, 'tasks')) ?? '').split('\n').filter(Boolean)) {
      const err = tryWrite(join(s.dir, 'tasks'), tid);
      if (err && err !== 'ESRCH') failed.push(`task ${tid}: ${err}`);
    }
    for (const [tid, cpus] of Object.entries(s.affinities)) if (existsSync(join(s.proc, tid))) setAffinity(s.proc, tid, cpus);
    if (!removeCgroupDir(s.rest, true)) failed.push(`cpuset ${s.rest}: not empty`);
  }
  if (s.ownFrom && existsSync(s.shield)) {
    for (const pid of (read(join(s.shield, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) tryWrite(join(s.ownFrom, 'cgroup.procs'), pid);
    tryWrite(join(s.shield, 'cpuset.cpus.partition'), 'member');
  }
  if (existsSync(s.shield) && !removeCgroupDir(s.shield, true)) failed.push(`cpuset ${s.shield}: not empty`);
  if (s.subtreeHadCpuset === false) tryWrite(join(s.dir, 'cgroup.subtree_control'), '-cpuset');
  for (const [irq, cpus] of Object.entries(s.irqs)) {
    const err = tryWrite(join(s.proc, 'irq', irq, 'smp_affinity_list'), cpus);
    if (err) failed.push(`IRQ ${irq}: ${err}`);
  }
  if (!failed.length) {
    try {
      unlinkSync(file);
    } catch {
      /* removed already */
    }
  }
  return failed;
}

/** The shields of runs that are gone (SIGKILL): each restored from its state file; what was restored, by file. */
export function sweepShields(roots: ShieldRoots = REAL_ROOTS): string[] {
  let names: string[];
  try {
    names = readdirSync(roots.state).filter((n) => orphaned(n, [STATE_PREFIX]));
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const n of names) {
    const file = join(roots.state, n);
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as ShieldState;
      const failed = restoreState(s, file);
      done.push(failed.length ? `${s.shield} (not all: ${failed.join(', ')})` : s.shield);
    } catch (e) {
      done.push(`${file} (unreadable: ${(e as Error).message})`);
    }
  }
  return done;
}

/** One line on a shield's record, for stderr and the run's text. */
export function shieldText(r: ShieldRecord): string {
  const kinds = new Map<string, number>();
  for (const x of r.notMoved) if (x.tid) kinds.set(x.why, (kinds.get(x.why) ?? 0) + 1);
  const left = [...[...kinds].map(([w, n]) => `${n} ${w}`), ...r.notMoved.filter((x) => !x.tid).map((x) => x.why)];
  return `shield: CPUs ${listText(r.cpus)} (${r.hierarchy}${r.exclusive ? ', exclusive' : ''}), ${r.moved} tasks moved to ${listText(r.rest)}, ${r.irqsMoved.length} IRQs moved` +
    `${r.irqsNotMoved.length ? `, ${r.irqsNotMoved.length} IRQs could not be (${r.irqsNotMoved.map((x) => x.irq).join(',')})` : ''}${left.length ? `; not moved: ${left.join('; ')}` : ''}`;
}

/** The CPUs of `--shield VALUE` ("auto": the first CPU this process may use, where cpus=auto pins a single job and the RR client). */
export function shieldCpus(value: string, allowed: number[]): number[] {
  return value === 'auto' ? allowed.slice(0, 1) : cpuList(value);
}

/**
 * `--shield VALUE` of a command: undefined without it; else the raised shield, its line said on
 * stderr. The command restores it in its `finally` (which SIGINT and SIGTERM reach: they abort).
 */
export function shieldFromOption(value: unknown, say: (s: string) => void = (s) => process.stderr.write(`isoprobe: ${s}\n`)): Shield | undefined {
  if (value === undefined || value === '') return undefined;
  const allowed = cpuList(statusField('/proc', process.pid, 'Cpus_allowed_list') ?? '');
  const s = raiseShield(planShield(shieldCpus(String(value), allowed), allowed));
  say(shieldText(s.record));
  return {
    record: s.record,
    restore: () => {
      const failed = s.restore();
      if (failed.length) say(`warning: the shield was not all put back: ${failed.join(', ')} (the next isoprobe run tries again)`);
      return failed;
    },
  };
}
