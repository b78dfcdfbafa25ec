// Child processes for targets: always an argument array (never a shell), always bounded in time,
// stderr kept for the error message.
import { spawn } from 'node:child_process';

import { IsoprobeError } from '../errors';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed because it ran past its time limit (a hung runtime, a stuck guest). */
  timedOut?: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  /** Told each complete stderr line as it arrives (the probe's window marks), besides keeping it. */
  onStderrLine?: (line: string) => void;
  /** Told the child's pid as soon as it exists (a host trace follows it from there). */
  onSpawn?: (pid: number) => void;
}

export function exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!opts.onStderrLine) return;
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onStderrLine(l);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new IsoprobeError('EUNAVAILABLE', `cannot run ${argv[0]}: ${e.message}`, { cause: e }));
    });
    // 'exit', not 'close': a detached container may keep our pipes open after its runtime exits.
    // But what the child wrote just before exiting may still be in the pipes: wait for both ends,
    // at most a second (a pipe held open by a grandchild).
    const ended = [child.stdout!, child.stderr!].map((st) => new Promise<void>((r) => (st.readableEnded ? r() : st.once('end', () => r()).once('close', () => r()))));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      let bound: NodeJS.Timeout | undefined;
      void Promise.race([Promise.all(ended), new Promise((r) => (bound = setTimeout(r, 1000)))]).then(() => {
        clearTimeout(bound);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  });
}

/** Runs a command that must succeed; the error carries its stderr. */
export async function must(argv: string[], what: string, timeoutMs = runtimeTimeoutMs()): Promise<string> {
  const r = await exec(argv, { timeoutMs });
  if (r.timedOut)
    throw new IsoprobeError('ETIMEDOUT', `${what}: ${argv[0]} did not finish within ${Math.round(timeoutMs / 1000)} s and was killed (a hung runtime?)${r.stderr.trim() ? `; its stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`, { detail: r.stderr });
  if (r.code !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
    throw new IsoprobeError('ERUNTIME', `${what}: ${argv.join(' ')} ${how}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, { detail: r.stderr });
  }
  return r.stdout;
}

/** How long a runtime command (start, stop, load) may take: ISOPROBE_RUNTIME_TIMEOUT seconds, default 60. */
export function runtimeTimeoutMs(): number {
  const s = Number(process.env.ISOPROBE_RUNTIME_TIMEOUT || 60);
  return (Number.isFinite(s) && s > 0 ? s : 60) * 1000;
}

/** First line of `BIN --version`, or undefined when it cannot run. */
export async function versionOf(argv: string[]): Promise<string | undefined> {
  try {
    const r = await exec(argv, { timeoutMs: 10_000 });
    if (r.code !== 0) return undefined;
    return (r.stdout || r.stderr).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

/** The non-empty output lines of a command, or none when it is not installed or fails. */
export async function outputLines(argv: string[]): Promise<string[]> {
  if (!(await which(argv[0]!))) return [];
  const r = await exec(argv, { timeoutMs: 20_000 }).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

export async function which(bin: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = `${dir}/${bin}`;
    try {
      const { accessSync, constants } = await import('node:fs');
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
