// Everything isoprobe may create, listed where it still exists: for tests and for `isoprobe doctor`.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { leftoverNetObjects } from '../net/netns';
import { exec, which } from './exec';
import { CTR_NAMESPACE } from './image-load';

async function lines(argv: string[]): Promise<string[]> {
  if (!(await which(argv[0]!))) return [];
  const r = await exec(argv, { timeoutMs: 20_000 }).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

/** Containers of any isoprobe-probe image whose name is not one of ours (unnamed ones included). */
async function probeImageContainers(engine: 'docker' | 'podman'): Promise<string[]> {
  return (await lines([engine, 'ps', '-a', '--format', '{{.Names}} {{.Image}}']))
    .map((l) => l.split(' '))
    .filter(([name, image]) => /(^|\/)isoprobe-probe:/.test(image ?? '') && !name!.startsWith('iso-'))
    .map(([name]) => `${engine}:${name}`);
}

export interface Leftovers {
  containers: string[];
  net: string[];
  loops: string[];
  tempDirs: string[];
}

/**
 * What isoprobe made and did not remove. With `ownerPid`, only what that process made (every
 * name carries its maker's mark); without, everything of isoprobe's on this machine.
 */
export async function findLeftovers(ownerPid?: number): Promise<Leftovers> {
  const mark = ownerPid === undefined ? '' : `${ownerPid.toString(36)}-`;
  const mine = (s: string) => s.includes(mark);
  const containers = [
    ...(await lines(['runc', '--root', '/run/isoprobe/runc', 'list', '-q'])).map((c) => `runc:${c}`),
    ...(await lines(['crun', '--root', '/run/isoprobe/crun', 'list', '-q'])).map((c) => `crun:${c}`),
    ...(await lines(['runsc', '--root', '/run/isoprobe/runsc', 'list', '-q'])).map((c) => `runsc:${c}`),
    ...(await lines(['docker', 'ps', '-a', '--filter', 'name=iso-', '--format', '{{.Names}}'])).map((c) => `docker:${c}`),
    // Any container of the probe's image, whatever its name (an unnamed one would hide otherwise).
    ...(await probeImageContainers('docker')),
    ...(await probeImageContainers('podman')),
    ...(await lines(['podman', 'ps', '-a', '--filter', 'name=iso-', '--format', '{{.Names}}'])).map((c) => `podman:${c}`),
    ...(await lines(['ctr', '-n', CTR_NAMESPACE, 'containers', 'ls', '-q'])).map((c) => `containerd:${c}`),
  ];
  const loops = (await lines(['losetup', '-a'])).filter((l) => /isoprobe/.test(l));
  const tempDirs = readdirSync(tmpdir()).filter((d) => /^isoprobe-(runc|crun|runsc|docker|podman|ctr|avail|image|vm|qemu|firecracker|ch)-/.test(d));
  return { containers: containers.filter(mine), net: (await leftoverNetObjects()).filter(mine), loops, tempDirs: tempDirs.filter(mine) };
}
