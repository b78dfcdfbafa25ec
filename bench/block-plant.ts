// A block slowdown of known size (bench/detect-power.ts): two FUSE file systems of
// scripts/fuse-delay.py, each of one file, with a loop device (direct I/O) on each. A's server
// answers every read at once; B's busy-waits a set time in each read and times it (the reference).
// Both sides are alike but for that wait. Torn down by remove() (also on failure and Ctrl-C); what
// a killed bench left, sweepPlants() removes on the next run.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';

import { orphaned } from '../lib/owner';
import { packageRoot } from '../lib/paths';
import { attachLoop } from '../lib/targets/session';

/** The folders the benchmarks make (lib/targets/sweep.ts's prefix for them). */
const BENCH_PREFIX = 'isoprobe-bench-';

export interface FuseServer {
  /** Sleep this long in each read (a sleep's wake-up adds tens of µs: for waits of milliseconds). */
  delay(us: number): void;
  /** Busy-wait this long in each read (no wake-up to add: for small plants). */
  spin(ns: number): void;
  /** The reads answered and the time waited in them (as the server timed it: sum, median) since the last call. */
  stats(): Promise<{ reads: number; slept: number; p50: number }>;
  /** End of input: the server detaches the loop devices on its file, unmounts (lazily) and exits. */
  stop(): Promise<void>;
  /** The same without waiting (in an exit handler). */
  end(): void;
}

/** The FUSE server of scripts/fuse-delay.py on `mnt` (its one file: `mnt`/data), over `backing`. */
export async function fuseServer(mnt: string, backing: string): Promise<FuseServer> {
  const p: ChildProcessWithoutNullStreams = spawn('python3', [join(packageRoot(), 'scripts', 'fuse-delay.py'), mnt, backing]);
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const first = await lines.next();
  if (first.value !== 'mounted') throw new Error(`the FUSE server did not mount ${mnt}: ${err}`);
  return {
    delay: (us) => p.stdin.write(`delay ${us}\n`),
    spin: (ns) => p.stdin.write(`spin ${Math.round(ns)}\n`),
    stats: async () => {
      p.stdin.write('stats\n');
      const [reads, slept, p50] = String((await lines.next()).value).split(' ').map(Number);
      return { reads: reads!, slept: slept!, p50: p50! };
    },
    stop: () => new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.on('exit', () => resolve());
      p.stdin.end();
    }),
    end: () => p.stdin.end(),
  };
}

export interface PlantSide {
  /** The FUSE file system's one file. */
  file: string;
  /** The loop device (direct I/O) on it: the side's data_file. */
  loop: string;
  fuse: FuseServer;
  mnt: string;
}

export interface BlockPlant {
  a: PlantSide;
  b: PlantSide;
  /** B's wait per read from now on (0: the A/A). */
  set(ns: number): void;
  /** Detaches the loop devices, unmounts, ends the servers; synchronous (an exit handler's), idempotent. */
  remove(): void;
}

/** Both sides in `dir` (made here), each file `size` bytes (its backing file sparse). */
export async function makePlant(dir: string, size: number): Promise<BlockPlant> {
  const sides: Partial<PlantSide>[] = [];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    // A loop device still open (a probe killed with the bench) is detached when last closed.
    const quietly = (cmd: string[]) => {
      try {
        execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
      } catch { /* gone already */ }
    };
    for (const s of sides) if (s.loop) quietly(['losetup', '-d', s.loop]);
    for (const s of sides) {
      quietly(['umount', '-l', s.mnt!]);
      s.fuse!.end();
    }
  };
  try {
    mkdirSync(dir, { recursive: true });
    for (const name of ['a', 'b']) {
      const backing = join(dir, `back-${name}.dat`);
      const fd = openSync(backing, 'w');
      ftruncateSync(fd, size);
      closeSync(fd);
      const mnt = join(dir, `mnt-${name}`);
      mkdirSync(mnt);
      const side: Partial<PlantSide> = { file: join(mnt, 'data'), mnt, fuse: await fuseServer(mnt, backing) };
      sides.push(side);
      side.loop = attachLoop(side.file!).dev;
    }
  } catch (e) {
    remove();
    throw e;
  }
  const [a, b] = sides as PlantSide[];
  return { a: a!, b: b!, set: (ns) => b!.fuse.spin(ns), remove };
}

/** Whether a path lies in a benchmark's folder whose maker is gone. */
function inOrphanedBenchFolder(path: string): boolean {
  const rel = relative(tmpdir(), path);
  return !rel.startsWith('..') && orphaned(rel.split(sep)[0]!, [BENCH_PREFIX]);
}

/**
 * What a killed bench's plant left. A server that outlives the bench cleans up when its input
 * ends (its loop devices, its mount); a server killed with it leaves a dead mount and the loop
 * devices on it, found here by their paths in a bench folder whose maker is gone.
 */
export function sweepPlants(sys = '/sys/block', mountinfo = '/proc/self/mountinfo'): string[] {
  const gone: string[] = [];
  for (const dev of readdirSync(sys).filter((x) => x.startsWith('loop'))) {
    let back: string;
    try {
      back = readFileSync(join(sys, dev, 'loop', 'backing_file'), 'utf8').trim();
    } catch {
      continue;  // not attached
    }
    if (!inOrphanedBenchFolder(back)) continue;
    try {
      execFileSync('losetup', ['-d', `/dev/${dev}`], { stdio: 'ignore' });
      gone.push(`/dev/${dev} (${back})`);
    } catch { /* detached meanwhile */ }
  }
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const f = line.split(' ');
    const at = f[4];
    if (!at || f[f.indexOf('-') + 1] !== 'fuse.fusedelay' || !inOrphanedBenchFolder(at)) continue;
    try {
      execFileSync('umount', ['-l', at], { stdio: 'ignore' });
      gone.push(at);
    } catch { /* unmounted meanwhile */ }
  }
  return gone;
}
