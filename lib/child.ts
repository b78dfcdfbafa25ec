// Children that die with isoprobe: a VMM, a kernel build or a probe started by a process that is
// killed (SIGKILL included, where no handler runs) gets SIGKILL from the kernel at once, instead
// of running on unsupervised. util-linux setpriv sets the parent-death signal and execs the
// command, so the pid, stdio and exit status stay the command's own. And the servers among them
// that say on their first line where they serve (the echo server, a relay).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';

const SETPRIV = '/usr/bin/setpriv';

/** The argv that runs `argv` with SIGKILL as its parent-death signal (as is where setpriv is missing). */
export function diesWithParent(argv: readonly string[]): string[] {
  return existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}

/** A server child started by spawnServing: what its first line said, its later lines, its stop. */
export interface Serving<T> {
  first: T;
  pid: number;
  /** Its stdout's lines after the first, from when the caller listens (a line in the same write as the first is gone by then). */
  lines: Interface;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it is gone. */
  stop(): Promise<void>;
}

/** Why a server child gave no first line: its time ran out, or it exited first. */
export type NoFirstLine = { timeout: true } | { timeout: false; code: number | null };

/**
 * A server child that dies with isoprobe and says on its first stdout line where it serves (an
 * echo server, a relay): started, its first line read through `first` (which throws to refuse it)
 * within 10 s. A child that gives none, or one refused, is killed and awaited before the error:
 * `first`'s, or `fail`'s (with the tail of its stderr).
 */
export async function spawnServing<T>(argv: readonly string[], first: (line: string, stderr: string) => T, fail: (why: NoFirstLine, stderr: string) => Error): Promise<Serving<T>> {
  const [cmd, ...args] = diesWithParent(argv);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const value = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(fail({ timeout: true }, stderr.trim())), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(first(line, stderr.trim()));
      } catch (e) {
        reject(e);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(fail({ timeout: false, code }, stderr.trim()));
    });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw e;
  });
  return {
    first: value,
    pid: child.pid!,
    lines,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
