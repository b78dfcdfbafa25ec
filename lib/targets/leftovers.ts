// Everything isoprobe may create, listed where it still exists: for tests and for `isoprobe doctor`.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { ownCgroupNames } from '../cost/cgroup';
import { leftoverNetObjects } from '../net/netns';
import { outputLines } from './exec';
import { REGISTRY, type TargetEntry, workFolderPrefixes } from './registry';

export interface Leftovers {
  containers: string[];
  net: string[];
  loops: string[];
  tempDirs: string[];
  /** CPU accounting cgroups of isoprobe's own. */
  cgroups: string[];
}

/**
 * What isoprobe made and did not remove. With `ownerPid`, only what that process made (every
 * name carries its maker's mark); without, everything of isoprobe's on this machine.
 */
export async function findLeftovers(ownerPid?: number): Promise<Leftovers> {
  const mark = ownerPid === undefined ? '' : `${ownerPid.toString(36)}-`;
  const mine = (s: string) => s.includes(mark);
  const containers: string[] = [];
  for (const e of Object.values(REGISTRY) as TargetEntry[]) if (e.containers) containers.push(...(await e.containers()));
  const loops = (await outputLines(['losetup', '-a'])).filter((l) => /isoprobe/.test(l));
  const prefixes = workFolderPrefixes();
  const tempDirs = readdirSync(tmpdir()).filter((d) => prefixes.some((p) => d.startsWith(p)));
  return { containers: containers.filter(mine), net: (await leftoverNetObjects()).filter(mine), loops, tempDirs: tempDirs.filter(mine), cgroups: ownCgroupNames().filter(mine) };
}
