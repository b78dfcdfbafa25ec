// containerd and dockerd: used when running, started when not, and stopped again by the last
// isoprobe run that used a daemon isoprobe started. Docker is started the way this machine
// allows: no iptables, no bridge.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';

import { IsoprobeError } from '../errors';
import { lockDir, lockPath, type Lock, tryAcquire, withLock } from '../probe/lock';
import { exec, which } from './exec';

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function containerdUp(): Promise<boolean> {
  const r = await exec(['ctr', 'version'], { timeoutMs: 5000 }).catch(() => undefined);
  return r?.code === 0 && /Server:/.test(r.stdout);
}

async function dockerdUp(): Promise<boolean> {
  const r = await exec(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 }).catch(() => undefined);
  return r?.code === 0 && r.stdout.trim() !== '';
}

function logFile(name: string): number {
  const dir = join(tmpdir(), 'isoprobe-daemons');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return openSync(join(dir, `${name}.log`), 'a', 0o600);
}

interface Note {
  pid: number;
  started_by: number;
  since: string;
}

/** The note a starter leaves beside the locks: the daemon's pid, so the last user can stop it. */
function notePath(name: string): string {
  return join(lockDir(), `daemon-${name}.json`);
}

function readNote(name: string): Note | undefined {
  try {
    return JSON.parse(readFileSync(notePath(name), 'utf8')) as Note;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid still runs the daemon (not a recycled pid running something else). */
function runs(pid: number, name: string): boolean {
  try {
    return basename(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '') === name;
  } catch {
    return false;
  }
}

/** Shared "users" locks this process holds, by daemon name. */
const using = new Map<string, Lock>();

/**
 * Makes sure the daemon answers and registers this process as one of its users. Starting is
 * serialized across isoprobe runs (two would start two daemons on one socket); each user holds a
 * shared lock until releaseDaemons, so the last one out stops a daemon isoprobe started and one
 * still in use elsewhere is never pulled away.
 */
async function ensureDaemon(name: string, up: () => Promise<boolean>, argv: () => Promise<string[]>, waitMs: number): Promise<void> {
  if (using.has(name) && (await up())) return;
  await withLock(`daemon-start:${name}`, { what: `starting ${name}` }, async () => {
    if (!(await up())) {
      const fd = logFile(name);
      const cmd = await argv();
      const child = spawn(cmd[0]!, cmd.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
      closeSync(fd);  // the daemon has its own copy
      child.unref();
      writeFileSync(notePath(name), JSON.stringify({ pid: child.pid!, started_by: process.pid, since: new Date().toISOString() } satisfies Note), { mode: 0o600 });
      if (!(await until(up, waitMs))) {
        await stop(name, child.pid!);
        throw new IsoprobeError('EUNAVAILABLE', `${name} did not answer within ${waitMs / 1000} s of starting it (log: ${join(tmpdir(), 'isoprobe-daemons', `${name}.log`)})`);
      }
    }
    if (!using.has(name)) {
      const users = tryAcquire(`daemon-users:${name}`, `using ${name}`, false);
      // Only a releaser holds it exclusively, and only while holding the start lock we hold now.
      if (!users) throw new IsoprobeError('ELOCKED', `${name}: its user lock is held exclusively outside the start lock (${lockPath(`daemon-users:${name}`)})`);
      using.set(name, users);
    }
  });
}

async function stop(name: string, pid: number): Promise<void> {
  if (alive(pid) && runs(pid, name)) {
    process.kill(pid, 'SIGTERM');
    if (!(await until(async () => !alive(pid), 20_000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(notePath(name), { force: true });
}

/** Ensures containerd answers; starts it when it is installed but not running. */
export async function ensureContainerd(): Promise<void> {
  if (!(await which('containerd')) && !(await containerdUp())) throw new IsoprobeError('EUNAVAILABLE', 'containerd is not installed (Debian package containerd)');
  await ensureDaemon('containerd', containerdUp, async () => ['containerd'], 20_000);
}

/** Ensures a Docker engine answers; starts dockerd (with gVisor as runtime "runsc") when needed. */
export async function ensureDockerd(): Promise<void> {
  if (!(await which('dockerd')) && !(await dockerdUp())) throw new IsoprobeError('EUNAVAILABLE', 'dockerd is not installed (Debian package docker.io)');
  await ensureContainerd();
  await ensureDaemon('dockerd', dockerdUp, async () => {
    const dir = join(tmpdir(), 'isoprobe-daemons');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const config = join(dir, 'daemon.json');
    // gVisor joins Docker as a runtime; ptrace works without KVM, hostinet works with this runsc.
    const runsc = await which('runsc');
    writeFileSync(config, JSON.stringify(runsc ? { runtimes: { runsc: { path: runsc, runtimeArgs: ['--platform=ptrace', '--network=host'] } } } : {}), { mode: 0o600 });
    return ['dockerd', '--iptables=false', '--ip6tables=false', '--bridge=none', '--containerd=/run/containerd/containerd.sock', `--config-file=${config}`];
  }, 30_000);
}

/**
 * Ends this process's use of the daemons (dockerd before containerd). The last user of a daemon
 * that isoprobe started stops it, waiting for it to exit; one started by anyone else is left alone.
 */
export async function releaseDaemons(): Promise<void> {
  for (const name of ['dockerd', 'containerd']) {
    const mine = using.get(name);
    if (!mine) continue;
    await withLock(`daemon-start:${name}`, { what: `stopping ${name}` }, async () => {
      mine.release();
      using.delete(name);
      const last = tryAcquire(`daemon-users:${name}`, `stopping ${name}`, true);
      if (!last) return;  // still in use by another isoprobe run: the last of them stops it
      try {
        const note = readNote(name);
        if (note) await stop(name, note.pid);
      } finally {
        last.release();
      }
    });
  }
}

/** The daemons this process uses (for tests). */
export function daemonsInUse(): string[] {
  return [...using.keys()];
}
