// MicroVM targets: the runner behind the one session type. A boot runs a whole plan (the suite
// in the session's order) with the probe as the guest's /init. The data file is a virtio-blk disk;
// the network is a tap in a namespace isoprobe made, where the VMM process and the host side of
// every network workload run. Cache honesty as for containers: before each block workload the
// guest stops at a gate while the host drops the file's pages; the verdict follows its result.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { diesWithParent } from '../child';
import { cgroupTimes, ownCgroup } from '../cost/cgroup';
import { type Startup, startupOf } from '../cost/meter';
import { monoNs } from '../cost/sample';
import { type CostScope, vmmScope } from '../cost/scope';
import { IsoprobeError } from '../errors';
import { writeInitramfs } from '../image/guest';
import { buildGuestKernel, isKernelSource } from '../image/kernel-build';
import { cacheDir, debianCloudKernel, type GuestKernel, userKernel } from '../image/kernel';
import { createTapNamespace, type TapNamespace } from '../net/netns';
import { type Arch, hostArch, probeBinaryPath } from '../paths';
import { fileSha256, type RunControl } from '../probe/block';
import type { NetResult } from '../probe/types';
import { threadAllowedCpus } from '../cost/proc';
import { which } from './exec';
import { type Frame, FrameReader } from './frames';
import { settingDefault } from './settings';
import { type GuestProfile, guestCommandLine, type Launch, type Vmm } from './vmm';
import { type PinLayout, pinLayout, pinnedArgv, pinText, VcpuPinner } from './vm-pin';
import { DEFAULT_DATA_SIZE, ensureDataFile, type Link, type PlannedStep, ProbeSession, type ProbeRunner, SERVER_PORT, type StepHooks, type StepOutcome, tempWorkDir, workDirPrefix } from './session';
export type { VmSpec } from './types';
// The contract a VMM target provides, re-exported for those that import it from here.
export { type GuestProfile, guestCommandLine, type Launch, type LaunchContext, notPackaged, type Vmm } from './vmm';
export { kvmUnavailable } from './kvm';
import type { Availability, BootTimes, GuestDevices, GuestQueues, Session, SessionSpec, StackInfo, Target } from './types';


/** A stable MAC in the locally administered range, from the session name. */
function macFor(name: string): string {
  const h = fileSha256Bytes(name);
  return ['02', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

function fileSha256Bytes(s: string): string {
  return require('node:crypto').createHash('sha256').update(s).digest('hex');
}

/** Why a guest of this architecture cannot boot the kernel asked for (a VMM's settings check says it before any session). */
export function guestKernelProblem(spec: SessionSpec, arch: Arch): string | undefined {
  if (spec.kernel && isKernelSource(spec.kernel) && arch !== 'x64')
    return `kernel=${spec.kernel}: guest kernels built from source are x86-64 only for now; for an ${arch} guest use kernel=cloud (Debian's ${arch} cloud kernel) or a kernel file`;
  return undefined;
}

/**
 * The guest kernel a session asks for: "6.1" / "6.12" (built from Debian's linux-source, on
 * demand and cached), "cloud" or nothing (Debian's cloud kernel), or a path of the user's.
 */
export async function guestKernel(spec: SessionSpec, onProgress?: (line: string) => void, arch: Arch = 'x64'): Promise<GuestKernel> {
  if (!spec.kernel || spec.kernel === 'cloud') return debianCloudKernel(arch);
  const bad = guestKernelProblem(spec, arch);
  if (bad) throw new IsoprobeError('EINVALOPT', bad, { option: 'kernel' });
  if (isKernelSource(spec.kernel))
    return buildGuestKernel(spec.kernel, { onProgress: onProgress ?? ((l) => process.stderr.write(`isoprobe: guest kernel ${spec.kernel}: ${l}\n`)) });
  return userKernel(spec.kernel, spec.modulesDir);
}

export class VmTarget implements Target {
  readonly kind = 'vm' as const;
  constructor(private readonly vmm: Vmm) {}
  get name(): string {
    return this.vmm.name;
  }
  get description(): string {
    return this.vmm.description;
  }

  /** Every microVM needs root (its tap device and namespace); then the VMM's own reasons. */
  available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return Promise.resolve({ ok: false, reason: 'microVM targets need root (tap devices, namespaces)' });
    return this.vmm.available();
  }

  async start(specIn: SessionSpec = {}): Promise<Session> {
    // A guest of another architecture gets that architecture's probe (arm64: cross-built).
    const spec = { ...specIn };
    if (spec.arch && spec.arch !== this.vmm.arch)
      throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name} runs ${this.vmm.arch} guests, not ${spec.arch}${spec.arch === 'arm64' ? ' (arm64 guests: --target qemu-virt)' : ' (x86-64 guests: --target qemu-microvm)'}`);
    if (!spec.probe && this.vmm.arch !== hostArch()) {
      spec.probe = probeBinaryPath(this.vmm.arch);
      if (!existsSync(spec.probe)) throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name}: no ${this.vmm.arch} probe at ${spec.probe} (scripts/setup.sh arm64 cross-builds it)`);
    }
    // pin=on with more vCPUs than host CPUs is refused before anything is made.
    // The VMM's declared defaults, once, for whatever was not set.
    spec.vcpus ??= settingDefault<number>(this.vmm.settings, 'vcpus');
    spec.memMiB ??= settingDefault<number>(this.vmm.settings, 'mem');
    const pin = spec.pin ? pinLayout(spec.vcpus, threadAllowedCpus(process.pid, process.pid) ?? []) : undefined;
    const kernel = await guestKernel(spec, undefined, this.vmm.arch);
    if (spec.dataFile) await ensureDataFile(spec.dataFile, spec.dataSize ?? DEFAULT_DATA_SIZE);
    const tap = spec.network === false ? undefined : await createTapNamespace(spec.queues ?? 1);
    const version = await this.vmm.version(spec);
    const bin = this.vmm.binary(spec);
    const vmmPath = bin.includes('/') ? bin : await which(bin);
    if (!vmmPath || !existsSync(vmmPath)) {
      await tap?.destroy();
      throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name}: the VMM binary ${bin} is not there`);
    }
    return new ProbeSession(new VmRunner(this.vmm, spec, kernel, tap, version, vmmPath, pin));
  }
}

/** Everything one boot produced: frames in order, timing, and how it ended. */
interface BootOutcome {
  results: string[];
  errors: string[];
  hostClient?: Promise<NetResult>;
  times: { t0: number; tReady: number; tFirst: number; tDone: number; tExit: number };
  endedByHost: boolean;
  timedOut: boolean;
  limitMs: number;
  code: number | null;
  serial: string;
  keepLog: () => string;
  launch: Launch;
  damaged: string[];
  /** The VMM's last stderr lines. */
  stderrTail: string;
  /** What the guest saw of its virtio devices (its DEVICES frame), and per result the requests
   * each hardware queue of the data disk took (QUEUES frames). */
  devices?: string;
  queues: Map<number, string>;
  startup?: Startup;
  vmmCpuNs?: number;
}

/** A VMM process as spawned for one boot. */
interface Spawned {
  child: ChildProcessWithoutNullStreams;
  cg: ReturnType<typeof ownCgroup>;
  t0: number;
  launchedNs: number;
  pinner?: VcpuPinner;
  exited: Promise<number | null>;
}

/** A boot's plan: the lines /init runs, and which RESULT frame (the k-th "run" line) is each step's. */
interface BootPlan {
  steps: PlannedStep[];
  lines: string[];
  resultOf: (number | undefined)[];
}

/**
 * The host's side of one boot: the VMM process's timers, and what its frames said. Until /init
 * reports, the boot limit; then each workload's own time plus the same margin; after DONE, a
 * short grace for the VMM to exit by itself.
 */
class BootWatch {
  results: string[] = [];
  devices?: string;
  queues = new Map<number, string>();
  errors: string[] = [];
  hostClient?: Promise<NetResult>;
  times: BootOutcome['times'];
  endedByHost = false;
  timedOut = false;
  limitMs: number;
  private timer?: NodeJS.Timeout;
  private grace?: NodeJS.Timeout;

  constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly plan: BootPlan, private readonly hooks: StepHooks,
    t0: number, private readonly marginMs: number, private readonly graceMs: number) {
    this.times = { t0, tReady: 0, tFirst: 0, tDone: 0, tExit: 0 };
    this.limitMs = marginMs;
    this.arm(marginMs);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.limitMs = performance.now() - this.times.t0 + ms;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.child.kill('SIGKILL');
    }, ms);
  }

  /** The step whose RESULT comes next. */
  private next(): number {
    return this.plan.resultOf.indexOf(this.results.length);
  }

  private armForNext(): void {
    const k = this.next();
    this.arm(k >= 0 ? this.plan.steps[k]!.budgetMs + this.marginMs : this.marginMs);
  }

  onFrame(f: Frame): void {
    if (f.kind === 'READY' && !this.times.tReady) {
      this.times.tReady = performance.now();
      this.armForNext();
    } else if (f.kind === 'GATE') {
      // Before a block workload: the host's cached pages of the backing file are dropped now.
      const n = (JSON.parse(f.payload) as { gate: number }).gate;
      if (this.plan.steps[n]?.cold) this.hooks.before(n);
      this.child.stdin.write(`GO ${n}\n`);
    } else if (f.kind === 'RESULT') {
      if (!this.times.tFirst) this.times.tFirst = performance.now();
      const k = this.next();
      if (this.plan.steps[k]?.cold) this.hooks.after(k);
      this.results.push(f.payload);
      this.hooks.measured?.(k);
      this.armForNext();
    } else if (f.kind === 'DEVICES') {
      this.devices = f.payload;
    } else if (f.kind === 'QUEUES') {
      // Follows the RESULT of the step it counted.
      this.queues.set(this.results.length - 1, f.payload);
    } else if (f.kind === 'MARK') {
      // The edge of the measured window of the step whose result comes next.
      const m = JSON.parse(f.payload) as { mark: 'measure-start' | 'measure-end'; uptime_ns?: number };
      this.hooks.mark?.(this.next(), m.mark, m.uptime_ns);
    } else if (f.kind === 'ERROR') {
      this.errors.push(f.payload);
    } else if (f.kind === 'SERVING' && !this.hostClient && this.plan.steps[0]?.placement === 'server-inside') {
      this.hostClient = this.hooks.measureFromPeer(0).then((r) => {
        if (!this.times.tFirst) this.times.tFirst = performance.now();
        this.hooks.measured?.(0);
        return r;
      });
      this.hostClient.catch(() => undefined);
    } else if (f.kind === 'DONE' && !this.times.tDone) {
      // The results are in: the run ends here whether or not the VMM can be powered off from
      // inside (Firecracker cannot; a halted guest would otherwise hold it forever).
      this.times.tDone = performance.now();
      clearTimeout(this.timer);
      this.grace = setTimeout(() => {
        this.endedByHost = true;
        this.child.kill('SIGKILL');
      }, this.graceMs);
    }
  }

  stopTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.grace);
  }
}

/** A microVM behind the one session type: each execute is a boot that runs the planned steps. */
class VmRunner implements ProbeRunner {
  readonly wholeSuite = true;
  readonly dataPathInside?: string;
  readonly hostDataFile?: string;
  /** /dev/vda is isoprobe's own file: writes are allowed without a signature check. */
  readonly dataIsDevice = true;
  readonly link?: Link;
  /** Block steps traced on the host (the VMM's calls on the disk image), marks relayed by frames. */
  readonly attribution?: boolean;
  stack: StackInfo;
  private boots = 0;
  /** The running boot's VMM, for the host-cost accounting. */
  private current?: { pid: number; cgroup?: string; scope?: CostScope };

  constructor(private readonly vmm: Vmm, private readonly spec: SessionSpec, private readonly kernel: GuestKernel,
    private readonly tap: TapNamespace | undefined, version: string, vmmPath: string, private readonly pin?: PinLayout) {
    this.dataPathInside = spec.dataFile ? '/dev/vda' : undefined;
    this.hostDataFile = spec.dataFile;
    this.attribution = spec.attribution;
    this.link = tap ? { targetAddr: tap.guestAddr, peerNs: tap.ns, peerAddr: tap.hostAddr } : undefined;
    this.stack = {
      resolved: {
        vmm_path: vmmPath, vmm_sha256: fileSha256(vmmPath),
        kernel_path: kernel.bzImage, kernel_sha256: fileSha256(kernel.bzImage), kernel_source: kernel.source,
      },
      target: vmm.name,
      kind: 'vm',
      runtime: vmm.name,
      runtime_version: version,
      storage: spec.dataFile ? `virtio-blk backed by ${spec.dataFile}` : 'none',
      network: tap ? `virtio-net on tap ${tap.tap} in a namespace isoprobe made (the VMM runs there)` : 'loopback inside the guest',
      cgroup_limits: 'none',
      probe_sha256: fileSha256(spec.probe ?? probeBinaryPath()),
      emulated: false,
      platform: `guest kernel ${kernel.version} (${kernel.source}), ${spec.vcpus} vCPUs, ${spec.memMiB} MiB${pin ? `; ${pinText(pin)}` : ''}`,
      ...(pin ? { pinned: pin } : {}),
    };
  }

  /** The running VMM's threads (named by the VMM) and its own cgroup, while a boot runs. */
  costScope(): CostScope | undefined {
    const c = this.current;
    if (!c) return undefined;
    return (c.scope ??= vmmScope(c.pid, this.vmm.threads, c.cgroup, this.spec.memMiB!));
  }

  /** A guest that never reaches /init (a rare early-boot hang seen under TCG) is booted once more. */
  async execute(steps: PlannedStep[], hooks: StepHooks, ctl: RunControl): Promise<StepOutcome[]> {
    try {
      return await this.boot(steps, hooks, ctl, 1);
    } catch (e) {
      const err = e as IsoprobeError;
      if (err.code !== 'ETIMEDOUT' || !/the probe never started/.test(err.message) || ctl.signal?.aborted) throw e;
      return this.boot(steps, hooks, ctl, 2, err.message);
    }
  }

  private async boot(steps: PlannedStep[], hooks: StepHooks, ctl: RunControl, attempt: number, firstAttempt?: string): Promise<StepOutcome[]> {
    const work = tempWorkDir(workDirPrefix(this.vmm.name));
    try {
      const p = this.plan(steps);
      const o = await this.launchAndWatch(p, hooks, work.dir, ctl);
      if (ctl.signal?.aborted) throw new IsoprobeError('ECANCELED', `the ${this.vmm.name} guest was stopped: the run was cancelled`);
      const whole = this.wholeBootError(o, p.resultOf.filter((r) => r !== undefined).length);
      // A guest that never started /init: the boot failed, not a workload (it is retried once).
      if (whole && !o.times.tReady && o.timedOut) throw whole;
      return await this.outcomes(p, o, whole, attempt, firstAttempt);
    } finally {
      work.remove();
    }
  }

  /**
   * The lines /init runs: the network, then per step a gate (block workloads), the step's deadline
   * and the probe's run. The deadline ends a hung workload inside the guest (its error, then the
   * next workload) before the host's own limit, its time plus the boot margin, ends the boot.
   */
  private plan(steps: PlannedStep[]): BootPlan {
    const lines: string[] = [...(this.spec.planPrefix ?? [])];
    if (this.link) lines.push(`net eth0 ${this.link.targetAddr}/30`);
    const guestMarginS = Math.max(5, (this.spec.bootTimeoutS ?? 60) - 15);
    let runs = 0;
    const resultOf = steps.map((s, k) => {
      if (!s.args) {
        lines.push(`serve 0.0.0.0:${SERVER_PORT} ${s.serveS}`);
        return undefined;
      }
      if (s.cold) lines.push(`gate ${k}`);
      lines.push(`deadline ${Math.ceil(s.budgetMs / 1000) + guestMarginS}`, `run ${s.args.join(' ')}`);
      return runs++;
    });
    return { steps, lines, resultOf };
  }

  /** Boots the VMM with the plan, answers its gates, and collects its frames until it ends. */
  private async launchAndWatch(p: BootPlan, hooks: StepHooks, dir: string, ctl: RunControl): Promise<BootOutcome> {
    const launch = await this.prepareLaunch(p, dir);
    const vmm = this.spawnVmm(launch);
    const watch = new BootWatch(vmm.child, p, hooks, vmm.t0, (this.spec.bootTimeoutS ?? 60) * 1000, this.spec.exitGraceMs ?? 2000);
    const out = this.collectOutput(vmm, watch);
    const code = await this.awaitExit(vmm, launch, watch, ctl);
    if (vmm.pinner?.error) throw vmm.pinner.error;
    const serialLog = join(dir, 'serial.log');
    const serial = Buffer.concat(out.log);
    writeFileSync(serialLog, serial);
    let kept: string | undefined;
    return { results: watch.results, devices: watch.devices, queues: watch.queues, errors: watch.errors, hostClient: watch.hostClient, times: watch.times, endedByHost: watch.endedByHost,
      timedOut: watch.timedOut, limitMs: watch.limitMs, code: code.code, startup: out.startup(), vmmCpuNs: code.vmmCpuNs, serial: serial.toString('latin1'),
      keepLog: () => (kept ??= this.keepLog(serialLog, out.stderr())), launch, damaged: out.reader.damaged, stderrTail: out.stderr().trim().split('\n').slice(-2).join(' | ') };
  }

  /** The boot's initramfs (the plan as /init's), then the VMM's launch for it, recorded in the stack. */
  private async prepareLaunch(p: BootPlan, dir: string): Promise<Launch> {
    const initramfs = join(dir, 'initramfs.cpio');
    const profile = this.vmm.guest(this.spec);
    writeInitramfs(initramfs, this.kernel, p.lines, this.spec.probe, profile.transport);
    const launch = await this.vmm.launch({
      kernel: this.kernel, initramfs, cmdline: guestCommandLine(profile, this.spec.queues ?? 1), dataFile: this.spec.dataFile, tap: this.tap?.tap,
      mac: macFor(`${this.tap?.tap ?? 'none'}${this.boots++}`), vcpus: this.spec.vcpus!, memMiB: this.spec.memMiB!, workDir: dir, spec: this.spec,
    });
    this.describe(launch, profile);
    return launch;
  }

  /** The VMM started: in the tap's namespace, pinned when asked, in a cgroup of isoprobe's own, dying with isoprobe. */
  private spawnVmm(launch: Launch): Spawned {
    const inNs = this.tap ? ['nsenter', `--net=/var/run/netns/${this.tap.ns}`, ...launch.argv] : launch.argv;
    const argv = this.pin ? pinnedArgv(this.pin, inNs) : inNs;
    const t0 = performance.now();
    // The VMM in a cgroup of isoprobe's own: its total counts threads that come and go.
    const cg = ownCgroup(`${this.vmm.name}-boot`);
    const launchedNs = monoNs();
    // The VMM dies with isoprobe: a killed run leaves no guest running on unsupervised.
    const [cmd, ...args] = diesWithParent(cg ? cg.wrap(argv) : argv);
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.current = child.pid ? { pid: child.pid, cgroup: cg?.path } : undefined;
    const pinner = this.pin && child.pid ? new VcpuPinner(child.pid, this.vmm.threads, this.pin, () => child.kill('SIGKILL')).start() : undefined;
    child.stdin.on('error', () => undefined);  // the VMM may be gone when a late answer is written
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, cg, t0, launchedNs, pinner, exited };
  }

  /** The serial console's frames to the watch (and the pinner, and start-up at READY); its bytes and stderr kept. */
  private collectOutput(vmm: Spawned, watch: BootWatch): { log: Buffer[]; reader: FrameReader; stderr: () => string; startup: () => Startup | undefined } {
    const reader = new FrameReader();
    const log: Buffer[] = [];
    let stderr = '';
    let startup: Startup | undefined;
    vmm.child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    vmm.child.stdout.on('data', (d: Buffer) => {
      log.push(d);
      for (const f of reader.push(d)) {
        if (f.kind === 'READY') vmm.pinner?.ready();
        if (f.kind === 'READY' && !startup)
          startup = startupOf(this.costScope(), vmm.launchedNs, monoNs(), 'VMM launch -> the probe runs as /init (kernel boot, init); host CPU: the VMM\'s cgroup');
        watch.onFrame(f);
      }
    });
    return { log, reader, stderr: () => stderr, startup: () => startup };
  }

  /** After the launch's own steps (Firecracker's API calls), the VMM's exit or its kill on cancel; its cgroup's CPU, then the cgroup gone. */
  private async awaitExit(vmm: Spawned, launch: Launch, watch: BootWatch, ctl: RunControl): Promise<{ code: number | null; vmmCpuNs?: number }> {
    const onAbort = () => vmm.child.kill('SIGKILL');
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (launch.afterSpawn) await launch.afterSpawn();
    } catch (e) {
      vmm.child.kill('SIGKILL');
      await vmm.exited;
      watch.stopTimers();
      vmm.pinner?.stop();
      throw e;
    }
    const code = await vmm.exited;
    this.current = undefined;
    vmm.pinner?.stop();
    // The VMM's whole life, boot and teardown included, as its cgroup counted it.
    const vmmCpuNs = vmm.cg ? cgroupTimes(vmm.cg.path)?.ns : undefined;
    vmm.cg?.remove();
    watch.stopTimers();
    ctl.signal?.removeEventListener('abort', onAbort);
    watch.times.tExit = performance.now();
    return { code, vmmCpuNs };
  }

  /** The stack as this launch made it: the accelerator, the devices' backends, the command. */
  private describe(launch: Launch, profile: GuestProfile): void {
    this.stack = { ...this.stack, emulated: launch.emulated, command: launch.argv,
      storage: this.spec.dataFile ? `virtio-blk (virtio-${profile.transport}) backed by ${this.spec.dataFile}, host cache: ${launch.diskCache}` : 'none',
      network: this.tap ? `virtio-net (virtio-${profile.transport}) on tap ${this.tap.tap} in a namespace isoprobe made (the VMM runs there); ${launch.netBackend ?? 'tap'}` : 'loopback inside the guest',
      platform: `${launch.accel}; ${this.stack.platform!.replace(/^.*?guest kernel/, 'guest kernel')}` };
  }

  /** Why the boot as a whole went wrong, if it did (applies to every workload it did not finish). */
  private wholeBootError(o: BootOutcome, n: number): IsoprobeError | undefined {
    const log = () => o.keepLog();
    const panic = /Kernel panic[^\n]*/.exec(o.serial)?.[0].trim();
    if (o.timedOut && !o.times.tDone && !panic)
      return new IsoprobeError('ETIMEDOUT', `the ${this.vmm.name} guest did not finish within ${Math.round(o.limitMs / 1000)} s and was killed${o.times.tReady ? ' (the probe had started)' : ' (the probe never started)'}; serial log kept at ${log()}`);
    if (panic) return new IsoprobeError('EGUEST', `the guest kernel panicked: ${panic}; serial log kept at ${log()}`);
    if (!o.times.tReady) {
      const vmmErr = o.stderrTail;
      return new IsoprobeError('EGUEST', `the guest never reported (no READY from /init within ${Math.round((o.times.tExit - o.times.t0) / 1000)} s, VMM exit code ${o.code}); ${vmmErr ? `VMM stderr: ${vmmErr}; ` : ''}serial log kept at ${log()}`);
    }
    if (o.errors.length) return new IsoprobeError('EGUEST', `the guest reported: ${o.errors.map((e) => JSON.parse(e).message).join('; ')}; serial log kept at ${log()}`);
    if (o.results.length < n && !o.hostClient)
      return new IsoprobeError('EGUEST', `the guest printed no result${o.damaged.length ? ` (${o.damaged.join('; ')})` : ''}${n > 1 ? ` for ${n - o.results.length} of its ${n} workloads` : ''}; serial log kept at ${log()}`);
    return undefined;
  }

  /** Per step: the guest's RESULT line (or the host client's result), with the boot's times. */
  private async outcomes(p: BootPlan, o: BootOutcome, whole: IsoprobeError | undefined, attempt: number, firstAttempt?: string): Promise<StepOutcome[]> {
    const { t0, tReady, tFirst, tExit } = o.times;
    const boot: Omit<BootTimes, 'position'> = {
      attempts: attempt,
      ...(firstAttempt ? { first_attempt: firstAttempt } : {}),
      vmm_start_to_probe_ns: Math.round((tReady - t0) * 1e6),
      vmm_start_to_first_result_ns: Math.round(((tFirst || tExit) - t0) * 1e6),
      vmm_start_to_exit_ns: Math.round((tExit - t0) * 1e6),
      ended_by: o.endedByHost ? 'isoprobe after DONE' : 'guest',
      ...(o.vmmCpuNs !== undefined ? { vmm_host_cpu_ns: o.vmmCpuNs } : {}),
      workloads_in_boot: p.steps.length,
    };
    const out: StepOutcome[] = [];
    for (const [k, s] of p.steps.entries()) {
      const queues = p.resultOf[k] !== undefined ? o.queues.get(p.resultOf[k]!) : undefined;
      const extra = { boot: { ...boot, position: k }, vmm_config: o.launch.config, ...(o.startup ? { startup: o.startup } : {}),
        ...(o.devices ? { guest_devices: JSON.parse(o.devices) as GuestDevices } : {}), ...(queues ? { guest_queues: JSON.parse(queues) as GuestQueues } : {}) };
      try {
        if (!s.args) {
          if (!o.hostClient) throw whole ?? new IsoprobeError('EGUEST', `the guest never served; serial log kept at ${o.keepLog()}`);
          out.push({ hostResult: await o.hostClient, extra });
          continue;
        }
        const payload = o.results[p.resultOf[k]!];
        if (payload === undefined) throw whole ?? new IsoprobeError('EGUEST', `the guest printed no result; serial log kept at ${o.keepLog()}`);
        out.push({ output: { code: 0, signal: null, stdout: payload, stderr: '' }, extra });
      } catch (e) {
        out.push({ error: e as Error });
      }
    }
    return out;
  }

  /** Copies a serial log (and the VMM's stderr) where it outlives the run; returns the path. */
  private keepLog(serialLog: string, stderr: string): string {
    const dir = join(cacheDir(), 'logs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const dest = join(dir, `${this.vmm.name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    copyFileSync(serialLog, dest);
    if (stderr) writeFileSync(`${dest}.stderr`, stderr, { mode: 0o600 });
    return dest;
  }

  async stop(): Promise<void> {
    await this.tap?.destroy();
  }
}
