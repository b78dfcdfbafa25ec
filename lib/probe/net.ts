// Runs the network probe: an echo server (in-process or the static probe), and rr / stream clients
// through the addon or the static binary.

import { spawnServing } from '../child';
import { fromCoreError, IsoprobeError } from '../errors';
import { probeBinaryPath } from '../paths';
import { cpuPlacement } from './cpu-placement';
import { runOnAddon, runProbeBinary, type RunControl } from './block';
import { native } from './native';
import { type NetCheck, type NetInput, type NetMode, type NetOptions, normalizeNetOptions, toNetProbeFlags } from './net-options';
import type { NetResult } from './types';

type CoreErr = Parameters<typeof fromCoreError>[0];

export function checkNetOptions(mode: NetMode, input: NetInput | Record<string, unknown>, check: NetCheck = {}): NetOptions & { mode: NetMode } {
  const o = normalizeNetOptions(mode, input as Record<string, unknown>, check);
  try {
    native().validateNet(o as unknown as Record<string, unknown>, check.loopback === true);
  } catch (e) {
    throw fromCoreError(e as CoreErr);
  }
  return o;
}

export interface ServedStats {
  connections: number;
  echoed: number;
}

export interface EchoServerHandle {
  address: string;
  /** Where its threads were pinned (--cpus, resolved by the core); empty when not. */
  cpus?: number[];
  stats(): ServedStats;
  /** Stops the server; resolves with what it served in all. */
  stop(): Promise<ServedStats>;
}

/** An echo server inside this process (threads of the addon), until stop(). */
export function startEchoServer(input: NetInput = {}, check: NetCheck = {}): EchoServerHandle {
  const o = checkNetOptions('serve', input, check);
  let h: ReturnType<ReturnType<typeof native>['startServer']>;
  try {
    h = native().startServer(o as unknown as Record<string, unknown>);
  } catch (e) {
    throw fromCoreError(e as CoreErr);
  }
  return {
    address: h.address,
    cpus: h.cpus,
    stats: () => h.stats(),
    stop: async () => {
      const served = h.stats();
      h.stop();
      return served;
    },
  };
}

/** The echo server as a static-probe child process (what containers and guests run). */
export async function spawnEchoServer(input: NetInput = {}, opts: { probePath?: string; command?: string[]; check?: NetCheck } = {}): Promise<EchoServerHandle & { pid: number }> {
  const o = checkNetOptions('serve', input, opts.check);
  const argv = [...(opts.command ?? [opts.probePath ?? probeBinaryPath()]), 'net', 'serve', ...toNetProbeFlags(o).filter((f) => !f.startsWith('--duration'))];
  // A server outlives nothing: it dies with isoprobe (it serves until told to stop).
  const s = await spawnServing(argv, (line) => {
    let j: { error?: unknown; cpus?: unknown; listening?: string };
    try {
      j = JSON.parse(line);
    } catch {
      throw new IsoprobeError('EPROBE', `the echo server printed ${JSON.stringify(line)} instead of its address`);
    }
    if (j.error) throw fromCoreError(j.error as Parameters<typeof fromCoreError>[0]);
    return { address: j.listening as string, cpus: Array.isArray(j.cpus) ? (j.cpus as number[]) : [] };
  }, (why, stderr) => new IsoprobeError('EPROBE', why.timeout
    ? `the echo server did not report its address within 10 s; stderr: ${stderr}`
    : `the echo server exited with code ${why.code} before reporting its address; stderr: ${stderr}`));
  let served = { connections: 0, echoed: 0 };
  s.lines.on('line', (line) => {
    try {
      const j = JSON.parse(line);
      if (j.served) served = j.served;
    } catch {
      /* not ours */
    }
  });
  return {
    ...s.first,
    pid: s.pid,
    stats: () => served,
    stop: async () => {
      await s.stop();
      return served;
    },
  };
}

export function runNet(mode: 'rr' | 'stream', input: NetInput | Record<string, unknown>, ctl: RunControl & { check?: NetCheck } = {}): Promise<NetResult> {
  let o: NetOptions & { mode: NetMode };
  try {
    o = checkNetOptions(mode, input, ctl.check);
  } catch (e) {
    return Promise.reject(e);
  }
  return ctl.via === 'binary' ? runNetBinary(o, ctl) : runNetAddon(o, ctl);
}

function runNetAddon(o: NetOptions & { mode: NetMode }, ctl: RunControl): Promise<NetResult> {
  return runOnAddon<NetResult>('startNet', o as unknown as Record<string, unknown>, ctl);
}

function runNetBinary(o: NetOptions & { mode: NetMode }, ctl: RunControl): Promise<NetResult> {
  return runProbeBinary<NetResult>(['net', o.mode, ...toNetProbeFlags(o)], ctl);
}

/** A self-contained measurement: an echo server on 127.0.0.1 in this process, the client against it. */
export async function runNetLoopback(mode: 'rr' | 'stream', input: NetInput, ctl: RunControl = {}): Promise<NetResult> {
  // Client and server apart unless the caller placed them (cpu-placement.ts); the server's CPUs
  // are the client's --server-cpus, and a refusal names that option.
  const placed = cpuPlacement(input, 'shared');
  const { cpu: _cpu, cpus: _cpus, server_cpus: _server, ...rest } = input;
  input = { ...rest, ...(placed.cpus ? { cpus: placed.cpus } : {}) };  // --cpu N is --cpus N
  const cpus = placed.server_cpus;
  let server: EchoServerHandle;
  try {
    server = startEchoServer({ proto: (input.proto as 'tcp' | 'udp') ?? 'tcp', bind: '127.0.0.1:0', ...(cpus ? { cpus } : {}) });
  } catch (e) {
    const err = e as IsoprobeError;
    if (err.option === 'cpus') throw new IsoprobeError(err.code, err.message.replace(/^--cpus/, '--server-cpus'), { option: 'server_cpus', errno: err.errno, syscall: err.syscall });
    throw e;
  }
  try {
    const r = await runNet(mode, { ...input, connect: server.address }, ctl);
    // The server's CPUs in the result, as --loopback in the probe records them.
    if (cpus) r.options.server_cpus = cpus;
    if (r.cpu_placement && server.cpus?.length) r.cpu_placement.server_pinned = server.cpus;
    return r;
  } finally {
    await server.stop();
  }
}
