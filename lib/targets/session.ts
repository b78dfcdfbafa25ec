// What every target session shares: the host data file, cache honesty around block workloads,
// network placement (server and client either side of a veth pair), and result decoration.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, type Stats, statSync } from 'node:fs';
import { cpus as hostCpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { CostMeter, parseMark, type Startup, type StepCost } from '../cost/meter';
import type { CostScope } from '../cost/scope';
import { IsoprobeError } from '../errors';
import { dataFileResource, withLock } from '../probe/lock';
import { createNamespacePair, type NamespacePair, type PeerLink } from '../net/netns';
import { OWNER } from '../owner';
import { probeBinaryPath } from '../paths';
import { checkBlockOptions, fileSha256, parseProbeOutput, runBlock, type RunControl } from '../probe/block';
import { checkNetOptions, type EchoServerHandle, spawnEchoServer } from '../probe/net';
import { toProbeFlags } from '../probe/options';
import { DATA_DIR } from '../image/oci';
import { toNetProbeFlags } from '../probe/net-options';
import { native } from '../probe/native';
import type { BlockResult, NetResult } from '../probe/types';
import { parseDuration } from '../units';
import { cpuPlacement } from '../probe/cpu-placement';
import type { AttributionField } from '../trace/attribution';
import { ATTRIBUTION_SAMPLE, recordBudget, StepTraces } from '../trace/step';
import type { NetAttributionField } from '../trace/net-attribution';
import { NetStepTraces } from '../trace/net-step';
import { exec, type ExecResult } from './exec';
import { checkRelay, spawnRelay } from './relay';
import type { HostPageCache, Placement, Session, SessionSpec, StackInfo, TargetResult, Workload } from './types';

export const DEFAULT_DATA_SIZE = 256 * 2 ** 20;
export const SERVER_PORT = 7000;

/** The host file behind block workloads: created and laid out by isoprobe when missing. */
export async function ensureDataFile(path: string, size: number): Promise<void> {
  await withLock(dataFileResource(path), { what: `the data file ${path}` }, () => layOut(path, size));
}

async function layOut(path: string, size: number): Promise<void> {
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isFile() && st.size >= size) return;
  // A block device is read as it is (the probe checks its size); anything else is no data file.
  if (st && !st.isFile() && !st.isBlockDevice())
    throw new IsoprobeError('EINVALOPT', `data file "${path}" (--data-file, or a target's data_file=): ${st.isDirectory() ? 'a directory' : 'not a regular file'}; expected a regular file, a block device, or a path where isoprobe may create the file`, { option: 'data_file' });
  // The null engine moves no data, but creating the file lays the region out (real blocks, not
  // holes), which is all we need; an existing file of ours is extended the same way.
  await runBlock({ file: path, size, engine: 'null', ops: 1, warmup: 0 });
  if (!st) statSync(path);
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
export type ProbeExec = (args: string[], o: ProbeExecOptions) => Promise<ExecResult>;

export interface ProbeExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  user?: string;
  /** Each stderr line as it comes (the probe's window marks). */
  onStderrLine?: (line: string) => void;
  /** The pid of the process the target started for the probe, as soon as it exists. */
  onSpawn?: (pid: number) => void;
}

/** What a batch started on the host side for its client-inside steps: echo servers, relays. */
type Served = Pick<EchoServerHandle, 'address' | 'cpus'> & { pid?: number; stop(): Promise<unknown> };

/** A veth pair or a tap: the target's address, and the peer namespace isoprobe made with its address. */
export interface Link {
  targetAddr: string;
  peerNs: string;
  peerAddr: string;
}

/** A namespace pair as a target's link: the target in namespace a, isoprobe's peer in b. */
export function linkOf(pair: NamespacePair | undefined): Link | undefined {
  return pair ? { targetAddr: pair.addrA, peerNs: pair.b, peerAddr: pair.addrB } : undefined;
}

/** Where the probe inside a target finds its data and its network. */
export interface RunnerPlace {
  /** Path of the data file as the probe inside sees it. */
  dataPathInside?: string;
  hostDataFile?: string;
  /** The data is a block device inside: writes need destructive + force (ours, no signature check). */
  dataIsDevice?: boolean;
  /** Network: the target's address and the peer namespace isoprobe made, when there is one. */
  link?: Link;
}

/** One workload as the session planned it: options checked once, the probe's arguments made once. */
export interface PlannedStep {
  w: Workload;
  /** The probe's command line: ["block", ...] or ["net", mode, ...]; none for server-inside
   * (the target's own echo server is measured by isoprobe's client). */
  args?: string[];
  /** Containers: the user the probe runs as (network workloads need no root). */
  user?: string;
  placement?: Placement;
  /** Block workloads: measured cold; the runner calls hooks.before/after around the probe. */
  cold: boolean;
  /** The workload's own time (warm-up + duration), ms. */
  budgetMs: number;
  /** Seconds the target serves for (server-inside). */
  serveS?: number;
  /** client-inside: the CPUs asked of isoprobe's echo server, and where it was pinned. */
  server?: { cpus?: string; pinned: number[] };
  /** Traced block steps: the trace's record budget, and whether the op log is the trace's alone. */
  trace?: { budget: number; ownLog: boolean };
}

/** What the session does at a step's edges, wherever the runner executes it. */
export interface StepHooks {
  /** Right before a cold step's probe starts: the host drops its cached pages of the backing file. */
  before(k: number): void;
  /** Right after the step's result: what the host's page cache holds now. */
  after(k: number): void;
  /** server-inside, once the target serves: isoprobe's own client measures from the peer namespace. */
  measureFromPeer(k: number): Promise<NetResult>;
  /**
   * Step k has measured (its result came in), told by a runner that executes several steps at once
   * (a microVM's boot), so progress moves then, not when the whole execution ends.
   */
  measured?(k: number): void;
  /** The probe marked the edge of step k's measured window (tNs: its monotonic clock). */
  mark?(k: number, which: 'measure-start' | 'measure-end', tNs?: number): void;
  /** Step k's probe was started as process `pid` (a runner that starts one per step). */
  spawned?(k: number, pid: number): void;
}

/** What came of one planned step: the probe's output, a result measured from the host, or an error. */
export type StepOutcome = ({ output: ExecResult } | { hostResult: NetResult } | { error: Error }) & {
  /** Target-specific fields of the result (a microVM: its boot's times and the VMM config). */
  extra?: Pick<TargetResult, 'boot' | 'vmm_config' | 'startup' | 'guest_devices' | 'guest_queues'>;
};

/**
 * What a target gives the one session type: where the probe is, and how a list of planned steps
 * is carried out. Containers and the host execute each step as its own probe process; a microVM
 * boots once for a whole list, its /init running the plan.
 */
export interface ProbeRunner extends RunnerPlace {
  /** The stack as it stands (a VM's fills in its launch details at the first boot). */
  readonly stack: StackInfo;
  /** A whole suite in one execution (a boot), holding the data file throughout (the disk is attached). */
  readonly wholeSuite: boolean;
  execute(steps: PlannedStep[], hooks: StepHooks, ctl: RunControl): Promise<StepOutcome[]>;
  stop(): Promise<void>;
  /** The host processes and cgroup that serve the boundary now (lib/cost classifies and samples them). */
  costScope?(): CostScope | undefined;
  /** The probe's mark times are on the host's monotonic clock (the host and runc-like containers). */
  readonly sameClock?: boolean;
  /** The session's start-up (containers: create + start; a VM's is per boot, in its outcomes). */
  readonly startup?: Startup;
  /** Block steps are traced on the host and their results carry `attribution` (lib/trace). */
  readonly attribution?: boolean;
  /** A planted service time of the echo server isoprobe starts, ns. */
  readonly echoService?: number;
  /** client-inside RR: a relay of the user's between the client and that echo server (relay.ts). */
  readonly relay?: string;
}

export interface SessionParts extends RunnerPlace {
  stack: StackInfo;
  /** The probe inside the target. */
  execProbe: ProbeExec;
  teardown: () => Promise<void>;
  /** The target's host processes and cgroup, for the host-cost accounting. */
  scope?: CostScope;
  /** Its marks are on the host's clock (not gVisor's). */
  sameClock?: boolean;
  startup?: Startup;
  /** Trace block steps on the host for their attribution (lib/trace: the probe, the container, the Sentry or the VMM). */
  attribution?: boolean;
  echoService?: number;
  relay?: string;
}

/** A workload's own time (duration + warm-up) in ns, whether given as numbers or "5s" strings. */
export function workloadNs(o: { duration?: unknown; warmup?: unknown }): number {
  const ns = (v: unknown, d: number) => (typeof v === 'number' ? v : typeof v === 'string' ? (parseDuration(v) ?? d) : d);
  return ns(o.duration, 5e9) + ns(o.warmup, 1e9);
}

/** Beyond a workload's own time: a runtime's exec, a probe's setup. */
const EXEC_MARGIN_MS = 60_000;

/**
 * The probe that measured must be the one isoprobe placed: its self-computed hash against the
 * hash of the file put into the target (a stale image in an engine's cache would show here).
 */
export function checkPlacedProbe<R extends BlockResult | NetResult>(r: R, stack: StackInfo): R {
  if (r.probe.sha256 && r.probe.sha256 !== stack.probe_sha256)
    throw new IsoprobeError('EPROBE', `the probe that ran in ${stack.target} has sha256 ${r.probe.sha256}, not ${stack.probe_sha256} of the probe isoprobe placed there`);
  return r;
}

/** A stderr line handler that tells the hooks step k's window marks. */
export function marksTo(hooks: StepHooks, k: number): (line: string) => void {
  return (line) => {
    const m = parseMark(line);
    if (m) hooks.mark?.(k, m.mark, m.tNs);
  };
}

/** Containers and the host: each step is one probe process started with the target's exec. */
class ExecRunner implements ProbeRunner {
  readonly wholeSuite = false;
  readonly dataPathInside?: string;
  readonly hostDataFile?: string;
  readonly dataIsDevice?: boolean;
  readonly link?: Link;
  readonly sameClock?: boolean;
  readonly startup?: Startup;
  readonly attribution?: boolean;
  readonly echoService?: number;
  readonly relay?: string;
  constructor(private readonly p: SessionParts) {
    ({ dataPathInside: this.dataPathInside, hostDataFile: this.hostDataFile, dataIsDevice: this.dataIsDevice, link: this.link, sameClock: this.sameClock, startup: this.startup, attribution: this.attribution, echoService: this.echoService,
      relay: this.relay } = p);
  }

  costScope(): CostScope | undefined {
    return this.p.scope;
  }

  get stack(): StackInfo {
    return this.p.stack;
  }

  async execute(steps: PlannedStep[], hooks: StepHooks, ctl: RunControl): Promise<StepOutcome[]> {
    const out: StepOutcome[] = [];
    for (const [k, s] of steps.entries()) {
      if (!s.args) {
        // The target's main process already serves on its address (server-inside).
        out.push({ hostResult: await hooks.measureFromPeer(k) });
        continue;
      }
      if (s.cold) hooks.before(k);
      const output = await this.p.execProbe(s.args, { timeoutMs: s.budgetMs + EXEC_MARGIN_MS, signal: ctl.signal, user: s.user, onStderrLine: marksTo(hooks, k), onSpawn: (pid) => hooks.spawned?.(k, pid) });
      if (s.cold) hooks.after(k);
      out.push({ output });
    }
    return out;
  }

  stop(): Promise<void> {
    return this.p.teardown();
  }
}

/** The session of a container or the host, from its parts. */
export function execSession(parts: SessionParts): ProbeSession {
  return new ProbeSession(new ExecRunner(parts));
}

/**
 * The one session type: plans each workload once (its options checked, the write rule, the
 * placement, the echo server it needs), has the runner execute the plan, holds the data file
 * from each eviction to its verdict, and assembles the results the same way for every target.
 */
export class ProbeSession implements Session {
  constructor(private readonly runner: ProbeRunner) {}

  get stack(): StackInfo {
    return this.runner.stack;
  }

  async run(w: Workload, ctl: RunControl = {}): Promise<TargetResult> {
    const [r] = await this.runSuite([w], ctl);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * Each workload its own result or error, in the order given. A runner that takes a whole suite
   * (a microVM: one boot) gets every workload but server-inside ones (the guest serves while the
   * host measures: a boot each); the others get one workload at a time.
   */
  async runSuite(ws: Workload[], ctl: RunControl = {}, onEach?: (i: number, r: TargetResult | Error) => void, onMeasured?: (i: number) => void): Promise<(TargetResult | Error)[]> {
    const out: (TargetResult | Error)[] = new Array(ws.length);
    const all = ws.map((_, i) => i);
    const alone = (i: number) => !this.runner.wholeSuite || this.placementOf(ws[i]!) === 'server-inside';
    const batches = [all.filter((i) => !alone(i)), ...all.filter(alone).map((i) => [i])].filter((b) => b.length);
    for (const b of batches) {
      let rs: (TargetResult | Error)[];
      try {
        rs = await this.runBatch(b.map((i) => ws[i]!), ctl, onMeasured && ((k) => onMeasured(b[k]!)));
      } catch (e) {
        throw this.cancelled(ctl, e);
      }
      // Whatever a cancelled run failed with (a probe killed before its own handler was in
      // place dies by the signal), it was cancelled: the caller keeps what it has and stops.
      if (ctl.signal?.aborted) throw this.cancelled(ctl, rs.find((r) => r instanceof Error));
      rs.forEach((r, k) => {
        out[b[k]!] = r;
        onEach?.(b[k]!, r);
      });
    }
    return out;
  }

  private cancelled(ctl: RunControl, cause: unknown): unknown {
    if (!ctl.signal?.aborted || (cause as IsoprobeError | undefined)?.code === 'ECANCELED') return cause;
    return new IsoprobeError('ECANCELED', `the run in ${this.stack.target} was cancelled`, { cause });
  }

  private placementOf(w: Workload): Placement | undefined {
    return w.kind === 'block' ? undefined : w.placement ?? (this.runner.link ? 'client-inside' : 'loopback');
  }

  /** One execution: echo servers for its client-inside steps, the plan, the lock, the results. */
  private async runBatch(ws: Workload[], ctl: RunControl, onMeasured?: (i: number) => void): Promise<(TargetResult | Error)[]> {
    const servers = new Map<string, Served>();
    let traces: StepTraces | undefined;
    let netTraces: NetStepTraces | undefined;
    try {
      const planned: (PlannedStep | Error)[] = [];
      for (const w of ws) planned.push(await this.plan(w, servers).catch((e: Error) => e));
      const steps = planned.filter((s): s is PlannedStep => !(s instanceof Error));
      const indexOf = steps.map((s) => planned.indexOf(s));
      const watches = steps.map((s) => (s.cold ? new CacheWatch(this.runner.hostDataFile!) : undefined));
      const verdicts: (HostPageCache | undefined)[] = [];
      const meter = new CostMeter(() => this.runner.costScope?.(), this.runner.sameClock);
      traces = steps.some((s) => s.trace)
        ? new StepTraces(this.runner.hostDataFile!, { scope: () => this.runner.costScope?.(), window: this.runner.wholeSuite ? 'relayed' : 'marks', spawnsProbe: !this.runner.wholeSuite })
        : undefined;
      netTraces = await this.netTraces(steps, servers);
      const hooks: StepHooks = {
        before: (k) => {
          watches[k]?.evict();
          if (steps[k]!.trace) traces!.begin(k, steps[k]!.trace!.budget);
        },
        after: (k) => {
          verdicts[k] = watches[k]?.verdict();
          traces?.end(k);
        },
        spawned: (k, pid) => {
          traces?.follow(k, pid);
          netTraces?.follow(pid);
        },
        measureFromPeer: (k) => this.measureFromPeer(steps[k]!.w as Extract<Workload, { kind: 'rr' | 'stream' }>, ctl, marksTo(hooks, k)),
        measured: (k) => onMeasured?.(indexOf[k]!),
        mark: (k, which, tNs) => {
          traces?.mark(k, which);
          netTraces?.mark(k, which, tNs);
          meter.mark(k, which, tNs);
        },
      };
      // Another run on the same file would be in this one's numbers and its cache verdict: held
      // from the eviction to the verdict (for a VM, the whole boot: its disk is attached throughout).
      const file = this.runner.hostDataFile;
      const hold = file && (this.runner.wholeSuite || steps.some((s) => s.cold));
      const outcomes = steps.length === 0 ? [] : hold
        ? await withLock(dataFileResource(file), { what: `the data file ${file}`, signal: ctl.signal }, () => this.runner.execute(steps, hooks, ctl))
        : await this.runner.execute(steps, hooks, ctl);
      await netTraces?.stop();
      let k = 0;
      return planned.map((s) => {
        if (s instanceof Error) return s;
        const i = k++;
        const attribution = traces && s.trace ? (r: BlockResult) => traces!.attribution(i, r) : undefined;
        const netAttribution = netTraces && (s.w.kind === 'rr') ? (r: NetResult) => netTraces!.attribution(i, r, s.placement) : undefined;
        return this.assemble(s, outcomes[i]!, verdicts[i], meter.of(i), attribution, netAttribution);
      });
    } finally {
      traces?.stopAll();
      await netTraces?.stop();
      for (const s of servers.values()) await s.stop();
    }
  }

  /**
   * RR steps of a traced session: one network trace for the batch, on the host's loopback (the host
   * target's loopback steps) or on the target's link into isoprobe's peer namespace (client-inside).
   */
  private async netTraces(steps: PlannedStep[], servers: Map<string, Served>): Promise<NetStepTraces | undefined> {
    const rr = steps.filter((s) => s.w.kind === 'rr');
    if (!this.runner.attribution || !rr.length) return undefined;
    const loopback = rr.some((s) => s.placement === 'loopback') && this.stack.kind === 'host';
    const link = this.runner.link;
    if (!loopback && !link) return undefined;
    const serverPids = [...servers.values()].map((h) => h.pid).filter((p): p is number => p !== undefined);
    // docker exec and ctr task exec start the probe below the container's shim, not below isoprobe.
    const probeParents = this.runner.costScope?.()?.processes.filter((p) => p.role === 'shim').map((p) => p.pid) ?? [];
    return NetStepTraces.begin({ kind: loopback ? 'loopback' : 'peer', peerNs: link?.peerNs, serverPids, probeParents, sameClock: this.runner.sameClock === true });
  }

  /** A workload's probe arguments, checked once; the echo server it needs, started once per batch. */
  private async plan(w: Workload, servers: Map<string, Served>): Promise<PlannedStep> {
    const { dataPathInside, hostDataFile, dataIsDevice, link } = this.runner;
    const target = this.stack.target;
    const budgetMs = workloadNs(w.options as { duration?: unknown; warmup?: unknown }) / 1e6;
    if (w.kind === 'block') {
      if (!dataPathInside || !hostDataFile) throw new IsoprobeError('EINVALOPT', `${target}: this session has no data file; start it with dataFile`, { option: 'file' });
      const input = { ...w.options, file: dataPathInside };
      // The file is isoprobe's own (ensureDataFile made it): inside, the probe cannot see the
      // ownership tag through every runtime (gVisor's gofer, a guest's disk), so it is told.
      if (writesData(w.options)) Object.assign(input, { destructive: true, force: dataIsDevice === true });
      // Traced: the probe logs its first operations, for matching them to the host's calls.
      const ownLog = this.runner.attribution === true && !w.options.op_log;
      if (ownLog) Object.assign(input, { op_log: ATTRIBUTION_SAMPLE });
      const o = checkBlockOptions(input);
      const trace = this.runner.attribution ? { budget: recordBudget(o.op_log, o.jobs || hostCpus().length), ownLog } : undefined;
      return { w, args: ['block', ...toProbeFlags(o), '--marks'], cold: true, budgetMs, trace };
    }
    const placement = this.placementOf(w)!;
    const base = { w, placement, cold: false, budgetMs };
    if (this.runner.relay && placement !== 'client-inside')
      throw new IsoprobeError('EINVALOPT', `${target}: relay "${this.runner.relay}" sits between a client-inside client and isoprobe's echo server; placement ${placement} has neither`, { option: 'placement' });
    if (placement !== 'loopback' && !link) throw new IsoprobeError('EINVALOPT', `${target}: placement ${placement} needs the session's network (start it with network: true)`, { option: 'placement' });
    // Client and server on different CPUs where they share a kernel (cpu-placement.ts).
    const cpus = cpuPlacement(w.options, placement === 'loopback' || this.stack.kind !== 'vm' ? 'shared' : 'client');
    const { cpu: _cpu, cpus: _cpus, server_cpus: _server, ...rest } = w.options;
    const client = { ...rest, ...(cpus.cpus ? { cpus: cpus.cpus } : {}) };  // --cpu N is --cpus N
    const placed = { ...client, ...(cpus.server_cpus ? { server_cpus: cpus.server_cpus } : {}) };
    if (placement === 'loopback') {
      const o = checkNetOptions(w.kind, placed, { loopback: true });
      return { ...base, args: ['net', w.kind, '--loopback', ...toNetProbeFlags(o), '--marks'], user: NOBODY };
    }
    if (placement === 'server-inside') return { ...base, serveS: Math.ceil(budgetMs / 1000) + 5 };
    // client-inside: the echo server in isoprobe's peer namespace, the client inside the target.
    const proto = w.options.proto ?? 'tcp';
    const key = `${proto} ${cpus.server_cpus ?? ''}`;
    if (!servers.has(key)) {
      const service = this.runner.echoService ? { service: `${this.runner.echoService}ns` } : {};
      servers.set(key, await spawnEchoServer({ bind: `${link!.peerAddr}:0`, proto, ...(cpus.server_cpus ? { cpus: cpus.server_cpus } : {}), ...service },
        { command: ['nsenter', `--net=/var/run/netns/${link!.peerNs}`, probeBinaryPath()], check: { allowRemote: true } }));
      // The user's relay in front of it (its pid traced with the server's: it queues the replies).
      if (this.runner.relay) servers.set(`relay ${key}`, await spawnRelay(this.runner.relay, proto, servers.get(key)!.address, link!.peerNs));
    }
    const to = servers.get(this.runner.relay ? `relay ${key}` : key)!.address;
    const o = checkNetOptions(w.kind, { ...client, connect: to }, { allowRemote: true });
    return { ...base, args: ['net', w.kind, ...toNetProbeFlags(o), '--marks'], user: NOBODY, server: { cpus: cpus.server_cpus, pinned: servers.get(key)!.cpus ?? [] } };
  }

  /** server-inside: the target serves on its address; isoprobe's own probe measures from the peer namespace. */
  private async measureFromPeer(w: Extract<Workload, { kind: 'rr' | 'stream' }>, ctl: RunControl, onStderrLine?: (l: string) => void): Promise<NetResult> {
    const link = this.runner.link!;
    const o = checkNetOptions(w.kind, { ...w.options, connect: `${link.targetAddr}:${SERVER_PORT}` }, { allowRemote: true });
    const r = await exec(['nsenter', `--net=/var/run/netns/${link.peerNs}`, probeBinaryPath(), 'net', w.kind, ...toNetProbeFlags(o), '--marks'],
      { timeoutMs: workloadNs(o) / 1e6 + EXEC_MARGIN_MS, signal: ctl.signal, onStderrLine });
    return parseProbeOutput<NetResult>(r, `isoprobe's client measuring ${this.stack.target}`);
  }

  /**
   * The result of a step, the same for every target: parsed, its probe checked, the stack, the
   * host cache verdict and the host cost attached (a VM's boot brings its own start-up in `extra`).
   */
  private assemble(s: PlannedStep, o: StepOutcome, verdict: HostPageCache | undefined, cost: StepCost, attribution?: (r: BlockResult) => AttributionField,
    netAttribution?: (r: NetResult) => NetAttributionField): TargetResult | Error {
    try {
      if ('error' in o) throw o.error;
      // server-inside: the measuring client is isoprobe's own, outside the target.
      const result = 'hostResult' in o ? o.hostResult
        : checkPlacedProbe(parseProbeOutput<BlockResult | NetResult>(o.output, `the probe in ${this.stack.target}`), this.stack);
      const traced = attribution && result.kind === 'block' ? { attribution: attribution(result) } : {};
      const netTraced = netAttribution && result.kind !== 'block' ? { attribution: netAttribution(result) } : {};
      // The log was the trace's to match, not asked for: the result keeps the attribution only.
      if (traced.attribution && s.trace?.ownLog && result.kind === 'block') {
        delete result.op_log;
        result.options.op_log = 0;
      }
      const startup = this.runner.startup ? { startup: this.runner.startup } : {};
      // client-inside: the echo server is isoprobe's, outside the probe: its CPUs recorded here.
      if (s.server && result.kind !== 'block') {
        if (s.server.cpus) result.options.server_cpus = s.server.cpus;
        if (result.cpu_placement && s.server.pinned.length) result.cpu_placement.server_pinned = s.server.pinned;
      }
      return { ...result, target: { ...this.stack }, workload: s.w, placement: s.placement, host_page_cache: verdict, ...cost, ...startup, ...o.extra, ...traced, ...netTraced };
    } catch (e) {
      return e as Error;
    }
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }
}

/** Shared start-up: the data file, a namespace pair when wanted. Undone by the returned cleanup. */
export async function prepareCommon(spec: SessionSpec, wantPair: boolean): Promise<{
  dataFile?: string; dataName?: string; pair?: NamespacePair; probe: string; sha: string; undo: () => Promise<void>;
}> {
  if (spec.relay) checkRelay(spec.relay, wantPair && spec.network !== false);
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
