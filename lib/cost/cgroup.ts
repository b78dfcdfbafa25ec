// CPU accounting cgroups: finding the one a target's processes are in, reading its totals, and
// making isoprobe's own (the host probe, a VMM) under the machine's accounting hierarchy: cgroup v1
// `cpuacct` where it is mounted, else the v2 unified tree. Only cgroups named by isoprobe are made
// or removed: its own, and those a runtime named after one of isoprobe's containers (runc makes
// one under every hierarchy, v1 controller by controller, and leaves them when killed mid-start).
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { removeCgroupDir } from '../cgroup-dir';
import { namedByAProcess, orphaned, OWNER } from '../owner';
import { TICK_NS } from './proc';

export interface Hierarchy {
  version: 1 | 2;
  /** Where it is mounted. */
  root: string;
}

let cached: Hierarchy | null | undefined;

/** The hierarchy that accounts CPU time here: v1 with cpuacct, or v2 with the cpu controller. */
export function accountingHierarchy(): Hierarchy | undefined {
  if (cached !== undefined) return cached ?? undefined;
  let found: Hierarchy | undefined;
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!pre || !post) continue;
      const mountPoint = pre.split(' ')[4]!;
      const [fstype, , opts] = post.split(' ');
      if (fstype === 'cgroup' && opts?.split(',').includes('cpuacct')) found = { version: 1, root: mountPoint };
      else if (fstype === 'cgroup2' && !found && readFileSync(join(mountPoint, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu'))
        found = { version: 2, root: mountPoint };
    }
  } catch {
    /* no /proc/self/mountinfo: no accounting */
  }
  cached = found ?? null;
  return found;
}

/** The accounting cgroup a process is in (a path under the hierarchy's mount), if any. */
export function cgroupOf(pid: number): string | undefined {
  const h = accountingHierarchy();
  if (!h) return undefined;
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [id, controllers, path] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1, line.lastIndexOf(':')), line.slice(line.lastIndexOf(':') + 1)];
      if (h.version === 1 && controllers.split(',').includes('cpuacct')) return join(h.root, path);
      if (h.version === 2 && id === '0') return join(h.root, path);
    }
  } catch {
    /* gone */
  }
  return undefined;
}

export interface CgroupTimes {
  ns: number;
  userNs: number;
  sysNs: number;
  /** How fine user/system are: cpu.stat's µs, or ticks (v1: usage_user/usage_sys are tick-sampled, in ns). */
  splitResolutionNs: number;
}

function num(path: string): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A cgroup's CPU time over its life, every process that was ever in it included. */
export function cgroupTimes(path: string): CgroupTimes | undefined {
  if (accountingHierarchy()?.version === 2) {
    try {
      const t = readFileSync(join(path, 'cpu.stat'), 'utf8');
      const us = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(t)?.[1] ?? 0) * 1000;
      return { ns: us('usage_usec'), userNs: us('user_usec'), sysNs: us('system_usec'), splitResolutionNs: 1000 };
    } catch {
      return undefined;
    }
  }
  const ns = num(join(path, 'cpuacct.usage'));
  if (ns === undefined) return undefined;
  const u = num(join(path, 'cpuacct.usage_user'));
  const s = num(join(path, 'cpuacct.usage_sys'));
  if (u !== undefined && s !== undefined) return { ns, userNs: u, sysNs: s, splitResolutionNs: TICK_NS };
  try {
    const t = readFileSync(join(path, 'cpuacct.stat'), 'utf8');
    const ticks = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(t)?.[1] ?? 0) * TICK_NS;
    return { ns, userNs: ticks('user'), sysNs: ticks('system'), splitResolutionNs: TICK_NS };
  } catch {
    return { ns, userNs: NaN, sysNs: NaN, splitResolutionNs: TICK_NS };
  }
}

function ids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The processes (thread-group leaders) in a cgroup. */
export function cgroupProcs(path: string): number[] {
  return ids(join(path, 'cgroup.procs'));
}

/** Every thread in a cgroup (v1 `tasks`, v2 `cgroup.threads`). */
export function cgroupThreads(path: string): Set<number> {
  return new Set(ids(join(path, accountingHierarchy()?.version === 2 ? 'cgroup.threads' : 'tasks')));
}

/** The prefix of isoprobe's own cgroups, before the maker's mark. */
export const CGROUP_PREFIX = 'isoprobe-';

export interface OwnCgroup {
  path: string;
  /** The argv that starts a command inside it (a shell moves itself in, then execs the command). */
  wrap(argv: string[]): string[];
  /** Removes it once it is empty (its processes have exited); true when it is gone. */
  remove(): boolean;
}

let serial = 0;

/** A new accounting cgroup of isoprobe's own, or undefined where the machine has none to make. */
export function ownCgroup(purpose: string): OwnCgroup | undefined {
  const h = accountingHierarchy();
  if (!h || process.getuid?.() !== 0) return undefined;
  const path = join(h.root, `${CGROUP_PREFIX}${OWNER}-${purpose}-${serial++}`);
  try {
    mkdirSync(path);
  } catch {
    return undefined;
  }
  return {
    path,
    wrap: (argv) => ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, ...argv],
    remove: () => removeCgroupDir(path),
  };
}

/** The names of isoprobe's cgroups that exist now. */
export function ownCgroupNames(): string[] {
  const h = accountingHierarchy();
  try {
    return h ? readdirSync(h.root).filter((n) => n.startsWith(CGROUP_PREFIX)) : [];
  } catch {
    return [];
  }
}

/**
 * Where every cgroup hierarchy is mounted: each v1 controller's (or group of them, and named ones
 * such as name=systemd) and the v2 tree, each once (a hierarchy mounted twice is one superblock).
 */
export function cgroupHierarchies(mountinfo = '/proc/self/mountinfo'): string[] {
  const seen = new Map<string, string>();
  try {
    for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      const fstype = post?.split(' ')[0];
      if (!pre || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
      const f = pre.split(' ');
      if (!seen.has(f[2]!)) seen.set(f[2]!, f[4]!);
    }
  } catch {
    /* no /proc/self/mountinfo: no cgroups to see */
  }
  return [...seen.values()];
}

/**
 * What killed runs left in the cgroup trees, under every hierarchy: isoprobe's own cgroups whose
 * maker is gone (a process still inside, a VMM that outlived its maker, is moved to the root
 * first), and cgroups named after a container of a dead maker (`containerPrefixes`), removed once
 * empty; one with a process in it is left (its container is its runtime's to stop), and so is one
 * a process names (its runtime, still making it). Run after the containers themselves are
 * removed: a runtime removes its own cgroups with its container.
 */
export function sweepCgroups(containerPrefixes: readonly string[] = []): string[] {
  const gone: string[] = [];
  const theirs: { root: string; name: string }[] = [];
  for (const root of cgroupHierarchies()) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names.filter((x) => orphaned(x, [CGROUP_PREFIX]))) {
      const p = join(root, n);
      for (const pid of cgroupProcs(p)) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), String(pid));
        } catch {
          /* gone meanwhile */
        }
      }
      if (removeCgroupDir(p)) gone.push(p);
    }
    for (const n of names.filter((x) => orphaned(x, containerPrefixes))) theirs.push({ root, name: n });
  }
  // A runtime still making the container (runc run goes on after its maker is killed) names it.
  const busy = namedByAProcess([...new Set(theirs.map((c) => c.name))]);
  for (const { root, name } of theirs) {
    const p = join(root, name);
    if (busy.has(name) || cgroupProcs(p).length) continue;
    try {
      rmdirSync(p);
      gone.push(p);
    } catch {
      /* not empty after all (a child cgroup, a process just moved in), or removed by another sweep */
    }
  }
  return gone;
}
