// Locks on what two isoprobe runs on one machine could share: a data file, the machine's quiet
// while a repetition is measured, a cache being filled, a daemon isoprobe started. They are
// flocks on small files in one directory, so they die with their holder: a SIGKILLed run leaves
// no stale lock behind. Waiting polls without blocking, so it stays cancellable (Ctrl-C), says
// who holds the lock, and gives up after a bound with a message that names the holder.
import { createHash } from 'node:crypto';
import { accessSync, constants, ftruncateSync, mkdirSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { IsoprobeError } from '../errors';
import { native } from './native';

/** Where the lock files live: ISOPROBE_LOCK_DIR, else /run/lock/isoprobe (root), else a temp dir. */
export function lockDir(): string {
  const dir = process.env.ISOPROBE_LOCK_DIR || (canWrite('/run/lock') ? '/run/lock/isoprobe' : join(tmpdir(), `isoprobe-locks-${process.getuid?.() ?? 0}`));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The lock file of a resource: a readable prefix and a hash of the whole key. */
export function lockPath(resource: string): string {
  const slug = resource.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 40);
  return join(lockDir(), `${slug}-${createHash('sha256').update(resource).digest('hex').slice(0, 12)}.lock`);
}

export interface Lock {
  readonly resource: string;
  readonly path: string;
  /** How long acquiring it waited for another holder, in ms (0: it was free). */
  readonly waitedMs: number;
  release(): void;
}

export interface AcquireOptions {
  /** What the lock guards, for people: "the data file /x/y", "measuring on this machine". */
  what: string;
  /** false: a shared lock (several holders at once; no exclusive one). Default true. */
  exclusive?: boolean;
  /** Give up after this long (default ISOPROBE_LOCK_TIMEOUT seconds, else 30 min). 0: try once. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Told once when the lock is busy and waiting starts (default: a line on stderr). */
  onWait?: (message: string) => void;
}

/** Who holds a lock: the pids from /proc/locks, with what each says it is doing. */
export function describeHolders(path: string, pids: number[]): string {
  let note = '';
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number; what?: string; since?: string; command?: string };
    if (j.pid && (pids.length === 0 || pids.includes(j.pid))) note = `: ${j.command ?? 'isoprobe'} (${j.what ?? 'unknown'}, since ${j.since ?? '?'})`;
  } catch {
    /* a shared lock, or a holder that has not written yet */
  }
  const who = pids.filter((p) => p > 0);
  return `${who.length ? `pid ${who.join(', ')}` : 'another process'}${note}`;
}

function defaultTimeoutMs(): number {
  const s = Number(process.env.ISOPROBE_LOCK_TIMEOUT);
  return Number.isFinite(s) && s >= 0 && process.env.ISOPROBE_LOCK_TIMEOUT !== '' ? s * 1000 : 30 * 60_000;
}

function take(resource: string, path: string, exclusive: boolean, what: string, waitedMs: number, fd: number): Lock {
  if (exclusive) {
    // Say who holds it, for whoever waits; a shared lock has several holders, so none writes.
    const note = JSON.stringify({ pid: process.pid, what, since: new Date().toISOString(), command: process.argv.slice(1, 3).map((a) => a.split('/').pop()).join(' ') });
    ftruncateSync(fd, 0);
    writeSync(fd, note + '\n', 0);
  }
  let held = true;
  return {
    resource,
    path,
    waitedMs,
    release() {
      if (!held) return;
      held = false;
      // Only an exclusive holder may remove the file: nobody else holds it at that moment.
      native().unlockFile(fd, exclusive ? path : undefined);
    },
  };
}

/** Tries once; undefined when another holds a conflicting lock. */
export function tryAcquire(resource: string, what: string, exclusive = true): Lock | undefined {
  const path = lockPath(resource);
  const r = native().lockFile(path, exclusive);
  return typeof r === 'number' ? take(resource, path, exclusive, what, 0, r) : undefined;
}

/**
 * One waiter's state: try() takes the lock or returns undefined, says once that it waits, and
 * throws ELOCKED naming the holder when the bound has passed. Async and sync waits share it.
 */
function waiter(resource: string, o: Omit<AcquireOptions, 'signal'>) {
  const exclusive = o.exclusive ?? true;
  const path = lockPath(resource);
  const timeoutMs = o.timeoutMs ?? defaultTimeoutMs();
  const t0 = Date.now();
  let told = false;
  return {
    try(): Lock | undefined {
      const r = native().lockFile(path, exclusive);
      if (typeof r === 'number') return take(resource, path, exclusive, o.what, Date.now() - t0, r);
      const holder = describeHolders(path, r.holders);
      if (Date.now() - t0 >= timeoutMs)
        throw new IsoprobeError('ELOCKED', `${o.what} is in use by ${holder}; gave up after ${Math.round((Date.now() - t0) / 1000)} s (ISOPROBE_LOCK_TIMEOUT sets the wait, in seconds)`);
      if (!told) {
        told = true;
        (o.onWait ?? ((m: string) => process.stderr.write(`isoprobe: ${m}\n`)))(`waiting for ${o.what}, in use by ${holder}`);
      }
      return undefined;
    },
  };
}

/** Waits for the lock (polling every 100 ms), bounded; throws ELOCKED naming the holder. */
export async function acquire(resource: string, o: AcquireOptions): Promise<Lock> {
  const w = waiter(resource, o);
  for (;;) {
    if (o.signal?.aborted) throw new IsoprobeError('ECANCELED', `interrupted while waiting for ${o.what}`);
    const lock = w.try();
    if (lock) return lock;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * The same wait for synchronous code (a cache filled by spawnSync): sleeps with Atomics.wait, so
 * it cannot be interrupted by a signal handler in JS; used only around short, bounded work.
 */
export function withLockSync<T>(resource: string, o: Omit<AcquireOptions, 'signal'>, fn: () => T): T {
  const w = waiter(resource, o);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let lock: Lock | undefined;
  while (!(lock = w.try())) Atomics.wait(nap, 0, 0, 100);
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** Runs fn holding the lock; releases it however fn ends. */
export async function withLock<T>(resource: string, o: AcquireOptions, fn: (lock: Lock) => Promise<T>): Promise<T> {
  const lock = await acquire(resource, o);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

/** The lock key of a data file: its directory resolved (symlinks, relative paths) plus its name. */
export function dataFileResource(file: string): string {
  let dir = resolve(dirname(file));
  try {
    dir = realpathSync(dir);
  } catch {
    /* a directory that does not exist yet: the resolved path still names it */
  }
  return `data:${dir}/${basename(file)}`;
}
