// What killed isoprobe runs left behind, removed by the next run: containers, network namespaces
// (and any VMM or server still running inside one), work folders and kernel build trees. Only
// objects of isoprobe's own naming whose maker's pid (the mark in each name) is gone are touched.
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { sweepCgroups } from '../cost/cgroup';
import { sweepBuildTrees } from '../image/kernel-build';
import { orphanNamespaces, removeOrphanNamespace } from '../net/netns';
import { orphaned } from '../owner';
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
  namespaces: string[];
  /** Processes killed because they still ran inside a removed namespace (a VMM, an echo server). */
  processes: number[];
  folders: string[];
  buildTrees: string[];
  /** cgroups of isoprobe's own (the host probe's, a VMM's) and its containers' (named by their runtimes), every hierarchy. */
  cgroups: string[];
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
  const containers = await sweepContainers();
  const namespaces = await orphanNamespaces();
  const processes: number[] = [];
  for (const ns of namespaces) processes.push(...(await removeOrphanNamespace(ns)));
  return { containers, namespaces, processes, folders: sweepFolders(), buildTrees: sweepBuildTrees(), cgroups: sweepCgroups(CONTAINER_PREFIXES) };
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
    s.namespaces.length ? `network namespaces ${s.namespaces.join(', ')}` : '',
    s.processes.length ? `processes still running in them (pids ${s.processes.join(', ')})` : '',
    s.folders.length ? `work folders ${s.folders.join(', ')}` : '',
    s.buildTrees.length ? `kernel build trees ${s.buildTrees.join(', ')}` : '',
    s.cgroups.length ? `cgroups ${cgroupsText(s.cgroups)}` : '',
  ].filter(Boolean);
  return parts.length ? `removed what isoprobe runs that are gone left behind: ${parts.join('; ')}` : undefined;
}
