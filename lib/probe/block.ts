// Runs a block workload through the addon (in-process, own thread) or the static probe (child).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { diesWithParent } from '../child';
import { fromCoreError, IsoprobeError } from '../errors';
import { packageRoot, probeBinaryPath } from '../paths';
import { native } from './native';
import { type BlockInput, type BlockOptions, normalizeBlockOptions, toProbeFlags } from './options';
import type { BlockResult, CoreErrorJson, NetResult, ProgressEvent } from './types';

export interface RunControl {
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
  /** 'addon' (default): in this process; 'binary': the static probe as a child process. */
  via?: 'addon' | 'binary';
  /** With via 'binary': the probe to run (default: the one this package built). */
  probePath?: string;
}

const shaCache = new Map<string, { mtimeMs: number; size: number; sha: string }>();

/** SHA-256 of a file, cached by path, size and mtime: proves which probe measured. */
export function fileSha256(path: string): string {
  const st = statSync(path);
  const hit = shaCache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha;
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  shaCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, sha });
  return sha;
}

export function addonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'isoprobe.node');
}

/** Validates everything checkable before any I/O: types and ranges here, cross-field rules in the core. */
export function checkBlockOptions(input: BlockInput | Record<string, unknown>): BlockOptions {
  const o = normalizeBlockOptions(input as Record<string, unknown>);
  try {
    native().validateBlock(o as unknown as Record<string, unknown>);
  } catch (e) {
    throw fromCoreError(e as Parameters<typeof fromCoreError>[0]);
  }
  return o;
}

export function runBlock(input: BlockInput | Record<string, unknown>, ctl: RunControl = {}): Promise<BlockResult> {
  let o: BlockOptions;
  try {
    o = checkBlockOptions(input);
  } catch (e) {
    return Promise.reject(e);
  }
  return ctl.via === 'binary' ? runBlockBinary(o, ctl) : runBlockAddon(o, ctl);
}

function runBlockAddon(o: BlockOptions, ctl: RunControl): Promise<BlockResult> {
  return runOnAddon<BlockResult>('startBlock', o as unknown as Record<string, unknown>, ctl);
}

/**
 * A run on the addon's own thread: cancelled by ctl.signal, its error the core's. Block and
 * network runs both start this way.
 */
export function runOnAddon<R extends BlockResult | NetResult>(start: 'startBlock' | 'startNet', o: Record<string, unknown>, ctl: RunControl): Promise<R> {
  return new Promise((resolve, reject) => {
    if (ctl.signal?.aborted) return reject(new IsoprobeError('ECANCELED', 'the run was cancelled before it started'));
    let onAbort: (() => void) | undefined;
    const cancel = native()[start](o, ctl.onProgress ?? null, (err, json) => {
      if (onAbort) ctl.signal?.removeEventListener('abort', onAbort);
      if (err) return reject(fromCoreError(err as Parameters<typeof fromCoreError>[0]));
      resolve(JSON.parse(json!) as R);
    });
    if (ctl.signal) {
      onAbort = () => cancel();
      ctl.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

export interface ProbeRun {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut?: boolean;
}

/** Parses what the probe printed: its result, or its error as an IsoprobeError. */
export function parseProbeOutput<T>(run: ProbeRun, what: string): T {
  const line = run.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  let parsed: (T & Partial<CoreErrorJson>) | undefined;
  if (line) {
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed?.error) throw fromCoreError(parsed.error);
  if (run.timedOut) throw new IsoprobeError('ETIMEDOUT', `${what} did not finish in time and was killed (its runtime or the probe hung)`, { detail: run.stderr });
  if (!parsed || run.code !== 0) {
    const how = run.signal ? `was killed by ${run.signal}` : `exited with code ${run.code}`;
    const tail = run.stderr.trim().split('\n').slice(-5).join('\n');
    throw new IsoprobeError('EPROBE', `${what} ${how} without a result${tail ? `; its stderr ends:\n${tail}` : ''}`, { detail: run.stderr });
  }
  return parsed;
}

function runBlockBinary(o: BlockOptions, ctl: RunControl): Promise<BlockResult> {
  return runProbeBinary<BlockResult>(['block', ...toProbeFlags(o)], ctl);
}

/**
 * The static probe as a child process of this one (block and net): its progress lines (stderr,
 * with --progress when someone listens) to ctl.onProgress, cancelled by ctl.signal, its JSON
 * result or error parsed.
 */
export function runProbeBinary<T>(args: string[], ctl: RunControl): Promise<T> {
  const probe = ctl.probePath ?? probeBinaryPath();
  return new Promise((resolve, reject) => {
    if (ctl.signal?.aborted) return reject(new IsoprobeError('ECANCELED', 'the run was cancelled before it started'));
    const [cmd, ...argv] = diesWithParent([probe, ...args, ...(ctl.onProgress ? ['--progress'] : [])]);
    const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.startsWith('{"progress"')) ctl.onProgress?.(JSON.parse(line).progress as ProgressEvent);
        else stderr += line + '\n';
      }
    });
    const onAbort = () => child.kill('SIGTERM');
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      ctl.signal?.removeEventListener('abort', onAbort);
      reject(new IsoprobeError('EPROBE', `cannot start the probe ${probe}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      ctl.signal?.removeEventListener('abort', onAbort);
      try {
        resolve(parseProbeOutput<T>({ stdout, stderr: stderr + partial, code, signal }, `the probe ${probe}`));
      } catch (e) {
        reject(e);
      }
    });
  });
}
