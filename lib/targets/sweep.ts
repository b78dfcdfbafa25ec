// What killed isoprobe runs left behind, removed by the next run: containers (and what a runtime
// killed mid-start left of one), network namespaces (and any VMM or server still running inside
// one), work folders, kernel build trees and cgroups. Only objects of isoprobe's own naming whose
// maker's pid (the mark in each name) is gone are touched.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { sweepCgroups } from '../cost/cgroup';
import { sweepBuildTrees } from '../image/kernel-build';
import { orphanNamespaces, removeOrphanNamespace } from '../net/netns';
import { namedByAProcess, orphaned } from '../owner';
import { sweepShields } from '../system/shield';
import { STATE_ROOT } from './oci-runtime';
import { REGISTRY, TARGET_NAMES, type TargetEntry, workFolderPrefixes } from './registry';

/**
 * Folders of isoprobe's naming made outside the targets: the store's import, and the tests' and
 * benchmarks' own (named the same way, so a killed test worker's folders are found too).
 */
export const OTHER_FOLDER_PREFIXES = ['isoprobe-import-', 'isoprobe-test-', 'isoprobe-example-', 'isoprobe-bench-'];

/** The prefixes a container name of isoprobe's starts with, before its maker's mark. */
export const CONTAINER_PREFIXES = [...TARGET_NAMES.flatMap((t) => [`iso-${t}-`, `iso-${t}-avail-`]), 'iso-ctr-'];

export interface Swept {
  containers: string[];
  /** State folders of containers runc or crun never finished making (killed mid-start). */
  halfMade: string[];
  namespaces: string[];
  /** Processes killed because they still ran inside a removed namespace (a VMM, an echo server). */
  processes: number[];
  folders: string[];
  buildTrees: string[];
  /** cgroups of isoprobe's own (the host probe's, a VMM's) and its containers' (named by their runtimes), every hierarchy. */
  cgroups: string[];
  /** CPU shields (--shield) of killed runs: their tasks, affinities and IRQs put back, their cpusets removed. */
  shields: string[];
}

async function sweepContainers(): Promise<string[]> {
  const gone: string[] = [];
  for (const e of Object.values(REGISTRY) as TargetEntry[]) {
    if (!e.containers || !e.removeContainer) continue;
    for (const c of await e.containers().catch(() => [])) {
      const name = c.slice(c.indexOf(':') + 1);
      if (!orphaned(name, CONTAINER_PREFIXES)) continue;
      await e.removeContainer(name);
      gone.push(c);
    }
  }
  return gone;
}

/**
 * What runc or crun killed mid-start leaves in its state root: a container's folder without its
 * state.json, which the runtime neither lists nor deletes (runc list complains of each). A real
 * container of a dead maker has its state.json and is its runtime's to delete (sweepContainers).
 */
function sweepHalfMade(): string[] {
  const gone: string[] = [];
  for (const rt of ['runc', 'crun']) {
    const root = join(STATE_ROOT, rt);
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    const left = names.filter((x) => orphaned(x, CONTAINER_PREFIXES) && !existsSync(join(root, x, 'state.json')));
    const busy = namedByAProcess(left);
    for (const n of left.filter((x) => !busy.has(x))) {
      rmSync(join(root, n), { recursive: true, force: true });
      gone.push(join(root, n));
    }
  }
  return gone;
}

function sweepFolders(): string[] {
  const prefixes = [...workFolderPrefixes(), ...OTHER_FOLDER_PREFIXES];
  const gone: string[] = [];
  for (const dir of new Set([tmpdir(), process.env.ISOPROBE_TMP || tmpdir()])) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.filter((x) => orphaned(x, prefixes))) {
      rmSync(join(dir, n), { recursive: true, force: true });
      gone.push(join(dir, n));
    }
  }
  return gone;
}

/**
 * Removes what isoprobe runs that are no longer running left behind. Containers go first (a
 * sandbox is reached through its namespace), then namespaces with what still runs in them.
 */
export async function sweepOrphans(): Promise<Swept> {
  // First: a killed run's shield holds other people's tasks off a CPU until it is put back.
  const shields = sweepShields();
  const containers = await sweepContainers();
  const halfMade = sweepHalfMade();
  const namespaces = await orphanNamespaces();
  const processes: number[] = [];
  for (const ns of namespaces) processes.push(...(await removeOrphanNamespace(ns)));
  return { containers, halfMade, namespaces, processes, folders: sweepFolders(), buildTrees: sweepBuildTrees(), cgroups: sweepCgroups(CONTAINER_PREFIXES), shields };
}

/** cgroups by name: a runtime's container has one under each hierarchy, said once with where. */
function cgroupsText(paths: string[]): string {
  const byName = new Map<string, string[]>();
  for (const p of paths) byName.set(basename(p), [...(byName.get(basename(p)) ?? []), dirname(p)]);
  return [...byName].map(([n, dirs]) => (dirs.length === 1 ? join(dirs[0]!, n) : `${n} under ${dirs.join(', ')}`)).join(', ');
}

/** One line on what a sweep removed, or undefined when it removed nothing. */
export function sweptText(s: Swept): string | undefined {
  const parts = [
    s.containers.length ? `containers ${s.containers.join(', ')}` : '',
    s.halfMade.length ? `state folders of containers never finished ${s.halfMade.join(', ')}` : '',
    s.namespaces.length ? `network namespaces ${s.namespaces.join(', ')}` : '',
    s.processes.length ? `processes still running in them (pids ${s.processes.join(', ')})` : '',
    s.folders.length ? `work folders ${s.folders.join(', ')}` : '',
    s.buildTrees.length ? `kernel build trees ${s.buildTrees.join(', ')}` : '',
    s.cgroups.length ? `cgroups ${cgroupsText(s.cgroups)}` : '',
    s.shields.length ? `CPU shields (tasks and IRQs put back) ${s.shields.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? `removed what isoprobe runs that are gone left behind: ${parts.join('; ')}` : undefined;
}
