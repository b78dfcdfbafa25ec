// What this machine lets the probe do, decided by the facts the probe itself reads (its CPU affinity
// mask, its own answer to io_uring_setup), never by what the machine a test was written on had.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { runProbe, tempDir } from './helpers';

/** A kernel CPU list ("0-3,8,10-11") as numbers, in order. */
export function parseCpuList(list: string): number[] {
  return list.trim().split(',').filter(Boolean).flatMap((part) => {
    const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
    return hi === undefined ? [lo] : Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  });
}

/**
 * The CPUs this process may run on: its affinity mask (/proc/self/status Cpus_allowed_list), the
 * set sched_getaffinity gives the probe (the addon runs in this process, the static probe inherits
 * it). taskset, a cpuset cgroup or a container's --cpuset-cpus all narrow it.
 */
export function allowedCpus(status = readFileSync('/proc/self/status', 'utf8')): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
  if (!m) throw new Error('/proc/self/status has no Cpus_allowed_list line');
  return parseCpuList(m[1]!);
}

/** The CPUs online now (/sys/devices/system/cpu/online): what sysconf(_SC_NPROCESSORS_ONLN) counts. */
export function onlineCpus(online = readFileSync('/sys/devices/system/cpu/online', 'utf8')): number[] {
  return parseCpuList(online);
}

let uringReason: string | undefined | null = null;
/**
 * Why io_uring cannot run here, in the probe's own words, or undefined when it can: the probe is
 * asked for one io_uring read, and only its refusal of io_uring_setup itself (ENOSYS: no io_uring
 * in this kernel, a seccomp filter, user-mode emulation; EPERM: kernel.io_uring_disabled or the
 * sandbox) makes a skip. Any other failure is isoprobe failing, and throws.
 */
export function ioUringSkip(): string | undefined {
  if (uringReason !== null) return uringReason;
  const tmp = tempDir('isoprobe-uring-');
  try {
    const r = runProbe(['block', `--file=${join(tmp.dir, 'u.dat')}`, '--engine=io_uring', '--qd=1', '--size=64k', '--ops=1', '--warmup=0s']);
    if (r.code === 0) return (uringReason = undefined);
    const err = (JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { error?: { syscall?: string; errno?: number; message?: string } }).error;
    if (err?.syscall === 'io_uring_setup' && (err.errno === 38 || err.errno === 1)) return (uringReason = `io_uring cannot run here: ${err.message}`);
    throw new Error(`the io_uring check failed for another reason (exit ${r.code}): ${r.stdout}${r.stderr}`);
  } finally {
    tmp.cleanup();
  }
}

/** Why a loop device (with an ext4 image on it, if `ext4`) cannot be made here, or undefined. */
export function loopSkip(ext4: boolean): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to attach loop devices';
  if (ext4 && spawnSync('mkfs.ext4', ['-V'], { encoding: 'utf8' }).error) return 'mkfs.ext4 is not installed (Debian package e2fsprogs)';
  const free = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
  if (free.error) return 'losetup is not installed (Debian package mount)';
  if (free.status !== 0) return `no free loop device: ${(free.stderr || free.stdout).trim().split('\n')[0]}`;
  return undefined;
}

/**
 * The kernel's readahead limit for files in `dir`, in KiB: read_ahead_kb of the block device under
 * its file system (a partition's is its disk's), or undefined where st_dev names no block device
 * (tmpfs, btrfs, overlay). The kernel reads ahead up to it, never past it; 0 turns readahead off.
 */
export function readAheadKb(dir: string): number | undefined {
  const dev = statSync(dir, { bigint: true }).dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  for (const p of [`/sys/dev/block/${major}:${minor}/queue/read_ahead_kb`, `/sys/dev/block/${major}:${minor}/../queue/read_ahead_kb`]) {
    try {
      return Number(readFileSync(p, 'utf8'));
    } catch {
      /* not this one */
    }
  }
  return undefined;
}
