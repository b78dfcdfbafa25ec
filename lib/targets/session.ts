// What every target session shares: the host data file, cache honesty around block workloads,
// network placement (server and client either side of a veth pair), and result decoration.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { IsoprobeError } from '../errors';
import { dataFileResource, withLock } from '../lock';
import { createNamespacePair, type NamespacePair, OWNER, type PeerLink } from '../net/netns';
import { probeBinaryPath } from '../paths';
import { checkBlockOptions, fileSha256, parseProbeOutput, runBlock, type RunControl } from '../probe/block';
import { checkNetOptions, spawnEchoServer } from '../probe/net';
import { toProbeFlags } from '../probe/options';
import { DATA_DIR } from '../image/oci';
import { toNetProbeFlags } from '../probe/net-options';
import { native } from '../probe/native';
import type { BlockResult, NetResult } from '../probe/types';
import { parseDuration } from '../units';
import { exec, type ExecResult } from './exec';
import type { HostPageCache, Placement, SessionSpec, StackInfo, TargetResult, Workload } from './types';

export const DEFAULT_DATA_SIZE = 256 * 2 ** 20;
export const SERVER_PORT = 7000;

/** The host file behind block workloads: created and laid out by isoprobe when missing. */
export async function ensureDataFile(path: string, size: number): Promise<void> {
  await withLock(dataFileResource(path), { what: `the data file ${path}` }, () => layOut(path, size));
}

async function layOut(path: string, size: number): Promise<void> {
  let exists = true;
  try {
    const st = statSync(path);
    if (st.isFile() && st.size >= size) return;
  } catch {
    exists = false;
  }
  // The null engine moves no data, but creating the file lays the region out (real blocks, not
  // holes), which is all we need; an existing file of ours is extended the same way.
  await runBlock({ file: path, size, engine: 'null', ops: 1, warmup: 0 });
  if (!exists) statSync(path);
}

export function defaultDataFile(): string {
  return process.env.ISOPROBE_DATA_FILE || join('/var/tmp', 'isoprobe-data.dat');
}

/** A loop device with direct I/O on the data file (storage "device"): path and device numbers. */
export function attachLoop(file: string): { dev: string; major: number; minor: number } {
  const dev = execFileSync('losetup', ['--find', '--show', '--direct-io=on', file], { encoding: 'utf8' }).trim();
  const [major, minor] = execFileSync('stat', ['-c', '%t %T', dev], { encoding: 'utf8' }).trim().split(' ').map((h) => parseInt(h, 16));
  return { dev, major: major!, minor: minor! };
}

/** Where a container's probe finds the data: the loop device, or the bind-mounted file. */
export function dataParts(dataFile: string | undefined, dataName: string | undefined, loopDev: string | undefined): Pick<SessionParts, 'dataPathInside' | 'hostDataFile' | 'dataIsDevice'> {
  return {
    dataPathInside: loopDev ?? (dataFile ? `${DATA_DIR}/${dataName}` : undefined),
    hostDataFile: dataFile,
    dataIsDevice: !!loopDev,
  };
}

/** Drops the host's cached pages of the file; after the run, counts what came back. */
export class CacheWatch {
  private before = 0;
  constructor(private readonly file: string) {}
  evict(): void {
    this.before = native().pageCache(this.file, 'evict').resident_bytes;
  }
  verdict(): HostPageCache {
    const now = native().pageCache(this.file, 'count');
    return {
      mode: now.resident_bytes > this.before ? 'used' : 'bypassed',
      file: this.file,
      size_bytes: now.size_bytes,
      resident_bytes_before: this.before,
      resident_bytes_after: now.resident_bytes,
    };
  }
}

/** The prefix of a target's work folders: what its sessions make and what the leftover scan looks for. */
export function workDirPrefix(target: string): string {
  return `isoprobe-${target}-`;
}

/** Whether a block workload writes its data (write patterns, and --verify, which lays out its pattern). */
export function writesData(o: { pattern?: unknown; verify?: unknown }): boolean {
  return /write|rw/.test(String(o.pattern ?? 'randread')) || o.verify === true;
}

export function tempWorkDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(process.env.ISOPROBE_TMP || tmpdir(), `${prefix}${OWNER}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The unprivileged user network workloads run as inside containers (they need no root). */
export const NOBODY = '65534:65534';

/**
 * Runs the probe where a target puts it; returns the exec result. `user` ("uid:gid") asks for an
 * unprivileged user where the target can switch (containers); block workloads run as uid 0
 * without capabilities, since the data file is isoprobe's own, mode 0600.
 */
export type ProbeExec = (args: string[], timeoutMs: number, signal?: AbortSignal, user?: string) => Promise<ExecResult>;

export interface SessionParts {
  stack: StackInfo;
  /** The probe inside the target. */
  execProbe: ProbeExec;
  /** Path of the data file as the probe inside sees it. */
  dataPathInside?: string;
  hostDataFile?: string;
  /** The data is a block device inside: writes need destructive + force (ours, no signature check). */
  dataIsDevice?: boolean;
  /** Network: the target's address and the peer namespace isoprobe made, when there is a veth. */
  link?: { targetAddr: string; peerNs: string; peerAddr: string };
  teardown: () => Promise<void>;
}

/** A workload's own time (duration + warm-up) in ns, whether given as numbers or "5s" strings. */
export function workloadNs(o: { duration?: unknown; warmup?: unknown }): number {
  const ns = (v: unknown, d: number) => (typeof v === 'number' ? v : typeof v === 'string' ? (parseDuration(v) ?? d) : d);
  return ns(o.duration, 5e9) + ns(o.warmup, 1e9);
}

function budget(o: { duration?: unknown; warmup?: unknown }): number {
  return workloadNs(o) / 1e6 + 60_000;
}

/**
 * The probe that measured must be the one isoprobe placed: its self-computed hash against the
 * hash of the file put into the target (a stale image in an engine's cache would show here).
 */
export function checkPlacedProbe<R extends BlockResult | NetResult>(r: R, stack: StackInfo): R {
  if (r.probe.sha256 && r.probe.sha256 !== stack.probe_sha256)
    throw new IsoprobeError('EPROBE', `the probe that ran in ${stack.target} has sha256 ${r.probe.sha256}, not ${stack.probe_sha256} of the probe isoprobe placed there`);
  return r;
}

/** A session built from runtime-specific parts: the same workloads everywhere. */
export class ProbeSession {
  constructor(private readonly p: SessionParts) {}

  get stack(): StackInfo {
    return this.p.stack;
  }

  async run(w: Workload, ctl: RunControl = {}): Promise<TargetResult> {
    try {
      return w.kind === 'block' ? await this.runBlock(w, ctl) : await this.runNet(w, ctl);
    } catch (e) {
      // Whatever a cancelled run failed with (a probe killed before its own handler was in
      // place dies by the signal), it was cancelled: the caller keeps what it has and stops.
      if (ctl.signal?.aborted && (e as IsoprobeError).code !== 'ECANCELED')
        throw new IsoprobeError('ECANCELED', `the run in ${this.stack.target} was cancelled`, { cause: e });
      throw e;
    }
  }

  async runSuite(ws: Workload[], ctl: RunControl = {}, onEach?: (i: number, r: TargetResult | Error) => void): Promise<(TargetResult | Error)[]> {
    const out: (TargetResult | Error)[] = [];
    for (const [i, w] of ws.entries()) {
      let r: TargetResult | Error;
      try {
        r = await this.run(w, ctl);
      } catch (e) {
        if ((e as IsoprobeError).code === 'ECANCELED') throw e;
        r = e as Error;
      }
      out.push(r);
      onEach?.(i, r);
    }
    return out;
  }

  private async runBlock(w: Extract<Workload, { kind: 'block' }>, ctl: RunControl): Promise<TargetResult> {
    const { dataPathInside, hostDataFile } = this.p;
    if (!dataPathInside || !hostDataFile) throw new IsoprobeError('EINVALOPT', `${this.stack.target}: this session has no data file; start it with dataFile`, { option: 'file' });
    const input = { ...w.options, file: dataPathInside };
    // The file is isoprobe's own (ensureDataFile made it): inside, the probe cannot see the
    // ownership tag through every runtime (gVisor's gofer), so it is told.
    if (writesData(w.options)) Object.assign(input, { destructive: true, force: this.p.dataIsDevice === true });
    const o = checkBlockOptions(input);
    // Another run on the same file would be in this one's numbers and its cache verdict: held from
    // the eviction to the verdict (the probe inside also flocks what it opens, where it can reach
    // the host's locks; gVisor's gofer and a guest's disk cannot, this lock covers them too).
    return withLock(dataFileResource(hostDataFile), { what: `the data file ${hostDataFile}`, signal: ctl.signal }, async () => {
      const watch = new CacheWatch(hostDataFile);
      watch.evict();
      const r = await this.p.execProbe(['block', ...toProbeFlags(o)], budget(o), ctl.signal);
      const result = checkPlacedProbe(parseProbeOutput<BlockResult>({ ...r }, `the probe in ${this.stack.target}`), this.stack);
      return { ...result, target: this.stack, workload: w, host_page_cache: watch.verdict() };
    });
  }

  private async runNet(w: Extract<Workload, { kind: 'rr' | 'stream' }>, ctl: RunControl): Promise<TargetResult> {
    const placement: Placement = w.placement ?? (this.p.link ? 'client-inside' : 'loopback');
    const mode = w.kind;
    const link = this.p.link;
    if (placement !== 'loopback' && !link) throw new IsoprobeError('EINVALOPT', `${this.stack.target}: placement ${placement} needs the session's network (start it with network: true)`, { option: 'placement' });
    let r: ExecResult;
    const timeout = budget(w.options as { duration?: unknown; warmup?: unknown });
    if (placement === 'loopback') {
      const o = checkNetOptions(mode, { ...w.options, connect: '127.0.0.1:1' });
      const flags = toNetProbeFlags(o).filter((f) => !f.startsWith('--connect='));
      r = await this.p.execProbe(['net', mode, '--loopback', ...flags], timeout, ctl.signal, NOBODY);
    } else if (placement === 'client-inside') {
      // Echo server in isoprobe's peer namespace, client inside the target.
      const server = await spawnEchoServer({ bind: `${link!.peerAddr}:0`, proto: w.options.proto ?? 'tcp' },
        { command: ['nsenter', `--net=/var/run/netns/${link!.peerNs}`, probeBinaryPath()], check: { allowRemote: true } });
      try {
        const o = checkNetOptions(mode, { ...w.options, connect: server.address }, { allowRemote: true });
        r = await this.p.execProbe(['net', mode, ...toNetProbeFlags(o)], timeout, ctl.signal, NOBODY);
      } finally {
        await server.stop();
      }
    } else {
      // The target's main process is an echo server on its veth address; the client is isoprobe's.
      const o = checkNetOptions(mode, { ...w.options, connect: `${link!.targetAddr}:${SERVER_PORT}` }, { allowRemote: true });
      r = await exec(['nsenter', `--net=/var/run/netns/${link!.peerNs}`, probeBinaryPath(), 'net', mode, ...toNetProbeFlags(o)], { timeoutMs: timeout, signal: ctl.signal });
    }
    const parsed = parseProbeOutput<NetResult>({ ...r }, `the probe in ${this.stack.target}`);
    // server-inside: the measuring client is isoprobe's own, outside the target.
    const result = placement === 'server-inside' ? parsed : checkPlacedProbe(parsed, this.stack);
    return { ...result, target: this.stack, workload: w, placement };
  }

  async stop(): Promise<void> {
    await this.p.teardown();
  }
}

/** Shared start-up: the data file, a namespace pair when wanted. Undone by the returned cleanup. */
export async function prepareCommon(spec: SessionSpec, wantPair: boolean): Promise<{
  dataFile?: string; dataName?: string; pair?: NamespacePair; probe: string; sha: string; undo: () => Promise<void>;
}> {
  let pair: NamespacePair | undefined;
  let dataFile: string | undefined;
  try {
    if (spec.dataFile) {
      await ensureDataFile(spec.dataFile, spec.dataSize ?? DEFAULT_DATA_SIZE);
      dataFile = spec.dataFile;
    }
    if (wantPair && spec.network !== false) pair = await createNamespacePair(80 + Math.floor(Math.random() * 100));
  } catch (e) {
    await pair?.destroy();
    throw e;
  }
  return {
    dataFile,
    dataName: dataFile ? basename(dataFile) : undefined,
    pair,
    probe: spec.probe ?? probeBinaryPath(),
    sha: fileSha256(spec.probe ?? probeBinaryPath()),
    undo: async () => {
      await pair?.destroy();
    },
  };
}

export type { PeerLink };
