// MicroVM targets: one boot per workload of a guest whose /init is the probe. The data file is a
// virtio-blk disk; the network is a tap in a namespace isoprobe made, where the VMM process and
// the host side of every network workload run. Cache honesty as for containers: the host's
// resident pages of the backing file after the guest ran.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { fromCoreError, IsoprobeError } from '../errors';
import { writeInitramfs } from '../image/guest';
import { buildGuestKernel, isKernelSource } from '../image/kernel-build';
import { cacheDir, debianCloudKernel, type GuestKernel, type Transport, userKernel } from '../image/kernel';
import { uniqueName } from '../net/netns';
import { type Arch, hostArch, probeBinaryPath } from '../paths';
import { checkBlockOptions, fileSha256 } from '../probe/block';
import { checkNetOptions, type EchoServerHandle, spawnEchoServer } from '../probe/net';
import { toNetProbeFlags } from '../probe/net-options';
import { toProbeFlags } from '../probe/options';
import { native } from '../probe/native';
import type { BlockResult, NetResult } from '../probe/types';
import { exec, must, which } from './exec';
import { type Frame, FrameReader } from './frames';
import { dataFileResource, withLock } from '../lock';
import { CacheWatch, checkPlacedProbe, DEFAULT_DATA_SIZE, ensureDataFile, SERVER_PORT, tempWorkDir, workDirPrefix, workloadNs, writesData } from './session';
import type { Availability, HostPageCache, Placement, Session, SessionSpec, StackInfo, Target, TargetResult, Workload } from './types';
import type { RunControl } from '../probe/block';

export interface VmSpec extends SessionSpec {
  /** Guest kernel (bzImage; Firecracker gets its ELF vmlinux extracted); default Debian's cloud kernel. */
  kernel?: string;
  modulesDir?: string;
  vcpus?: number;
  memMiB?: number;
  /** Host cache of the data disk: QEMU cache=, Firecracker cache_type, Cloud Hypervisor direct=. */
  hostCache?: 'none' | 'writeback' | 'unsafe';
  /** QEMU aio= (threads | native | io_uring); Firecracker io_engine (Sync | Async). */
  aio?: 'threads' | 'native' | 'io_uring' | 'Sync' | 'Async';
  /** QEMU: kvm, tcg or auto (kvm when it works). */
  accel?: 'kvm' | 'tcg' | 'auto';
  /** Seconds a guest may take to start /init (default 60), and beyond its workload's own time after that. */
  bootTimeoutS?: number;
  /** Plan lines run before the workload's (fault tests: "exit" makes PID 1 leave, "hold N" hangs). */
  planPrefix?: string[];
  /** QEMU only, to show the guest what other VMMs show it: virtio over PCI (Cloud Hypervisor's
   * transport) instead of virtio-mmio, and no ACPI (no power-off handler, as in Firecracker). */
  transport?: Transport;
  acpi?: boolean;
  /** How long a VMM may take to exit by itself after the guest's DONE frame before isoprobe ends it (ms). */
  exitGraceMs?: number;
  /** The VMM's executable (a variant's qemu=...), instead of the one on PATH. */
  vmmBinary?: string;
}

/**
 * What a VMM shows the guest: how its virtio devices are found, and how the guest ends the VM
 * (Firecracker has no power-off device: the guest's reboot, through the i8042 reset line with
 * reboot=k, is what makes it exit).
 */
export interface GuestProfile {
  transport: Transport;
  exit: 'poweroff' | 'reboot';
  /** The serial console's device (ttyS0: the 8250 of x86 machines; ttyAMA0: arm64 virt's PL011). */
  console?: string;
}

/** The guest's kernel command line for a profile. */
export function guestCommandLine(p: GuestProfile): string {
  // No PCI on virtio-mmio machines: without pci=off the guest probes for it, and under TCG it has hung there.
  const reboot = p.console === 'ttyAMA0' ? '' : p.exit === 'reboot' ? ' reboot=k' : ' reboot=t';  // x86 reboot methods
  return `console=${p.console ?? 'ttyS0'} quiet panic=-1${reboot}${p.transport === 'mmio' ? ' pci=off' : ''} isoprobe isoprobe.exit=${p.exit}`;
}

export interface LaunchContext {
  kernel: GuestKernel;
  initramfs: string;
  cmdline: string;
  dataFile?: string;
  tap?: string;
  mac: string;
  vcpus: number;
  memMiB: number;
  workDir: string;
  spec: VmSpec;
}

export interface Launch {
  argv: string[];
  /** After spawning: e.g. Firecracker's API calls and InstanceStart. */
  afterSpawn?: () => Promise<void>;
  /** The data disk's host cache mode as configured (for the record). */
  diskCache: string;
  /** How guest network traffic reaches the host side. */
  netBackend?: string;
  emulated: boolean;
  accel: string;
  config?: unknown;
}

export interface Vmm {
  readonly name: string;
  /** The guest's architecture: which probe goes into the initramfs, which kernel boots. */
  readonly arch: Arch;
  readonly description: string;
  available(): Promise<Availability>;
  version(spec?: VmSpec): Promise<string>;
  /** The executable it runs (for the record: its path and SHA-256 go into every result's stack). */
  binary(spec: VmSpec): string;
  launch(ctx: LaunchContext): Promise<Launch>;
  guest(spec: VmSpec): GuestProfile;
}

export function kvmUnavailable(): string | undefined {
  const why = native().kvmUnavailable();
  return why === '' ? undefined : why;
}

/** A stable MAC in the locally administered range, from the session name. */
function macFor(name: string): string {
  const h = fileSha256Bytes(name);
  return ['02', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

function fileSha256Bytes(s: string): string {
  return require('node:crypto').createHash('sha256').update(s).digest('hex');
}

interface Tap {
  ns: string;
  tap: string;
  hostAddr: string;
  guestAddr: string;
  destroy(): Promise<void>;
}

async function createTapNamespace(): Promise<Tap> {
  const ns = uniqueName('isoprobe-vm', 64);
  const tap = uniqueName('iso-tap');
  const subnet = 60 + Math.floor(Math.random() * 15);
  const third = Math.floor(Math.random() * 250);
  const hostAddr = `10.${subnet}.${third}.1`;
  const guestAddr = `10.${subnet}.${third}.2`;
  const destroy = async () => {
    await exec(['ip', 'netns', 'delete', ns]).catch(() => undefined);
  };
  try {
    await must(['ip', 'netns', 'add', ns], 'creating the VM network namespace');
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up'], 'bringing up loopback');
    await must(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap'], 'creating the tap device');
    await must(['ip', '-n', ns, 'addr', 'add', `${hostAddr}/30`, 'dev', tap], 'addressing the tap device');
    await must(['ip', '-n', ns, 'link', 'set', tap, 'up'], 'bringing the tap device up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return { ns, tap, hostAddr, guestAddr, destroy };
}

export interface BootTimes {
  /** VMM started -> the probe runs as /init in the guest. */
  vmm_start_to_probe_ns: number;
  /** VMM started -> first result received. */
  vmm_start_to_first_result_ns: number;
  /** VMM started -> VMM exited. */
  vmm_start_to_exit_ns: number;
  /** Who ended the VM: the guest (power-off or reboot the VMM honoured), or isoprobe once the
   * guest's DONE frame was in and the VMM did not exit by itself within exitGraceMs. */
  ended_by: 'guest' | 'isoprobe after DONE';
}

/**
 * The guest kernel a session asks for: "6.1" / "6.12" (built from Debian's linux-source, on
 * demand and cached), "cloud" or nothing (Debian's cloud kernel), or a path of the user's.
 */
export async function guestKernel(spec: VmSpec, onProgress?: (line: string) => void, arch: Arch = 'x64'): Promise<GuestKernel> {
  if (!spec.kernel || spec.kernel === 'cloud') return debianCloudKernel(arch);
  if (isKernelSource(spec.kernel) && arch !== 'x64')
    throw new IsoprobeError('EINVALOPT', `kernel=${spec.kernel}: guest kernels built from source are x86-64 only for now; for an ${arch} guest use kernel=cloud (Debian's ${arch} cloud kernel) or a kernel file`, { option: 'kernel' });
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

  available(): Promise<Availability> {
    return this.vmm.available();
  }

  async start(specIn: SessionSpec = {}): Promise<Session> {
    // A guest of another architecture gets that architecture's probe (arm64: cross-built).
    const spec = { ...(specIn as VmSpec) };
    if (spec.arch && spec.arch !== this.vmm.arch)
      throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name} runs ${this.vmm.arch} guests, not ${spec.arch}${spec.arch === 'arm64' ? ' (arm64 guests: --target qemu-virt)' : ' (x86-64 guests: --target qemu-microvm)'}`);
    if (!spec.probe && this.vmm.arch !== hostArch()) {
      spec.probe = probeBinaryPath(this.vmm.arch);
      if (!existsSync(spec.probe)) throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name}: no ${this.vmm.arch} probe at ${spec.probe} (scripts/setup.sh arm64 cross-builds it)`);
    }
    const kernel = await guestKernel(spec, undefined, this.vmm.arch);
    if (spec.dataFile) await ensureDataFile(spec.dataFile, spec.dataSize ?? DEFAULT_DATA_SIZE);
    const tap = spec.network === false ? undefined : await createTapNamespace();
    const version = await this.vmm.version(spec);
    const bin = this.vmm.binary(spec);
    const vmmPath = bin.includes('/') ? bin : await which(bin);
    if (!vmmPath || !existsSync(vmmPath)) {
      await tap?.destroy();
      throw new IsoprobeError('EUNAVAILABLE', `${this.vmm.name}: the VMM binary ${bin} is not there`);
    }
    return new VmSession(this.vmm, spec, kernel, tap, version, vmmPath);
  }
}

function budgetMs(o: { duration?: unknown; warmup?: unknown }): number {
  return workloadNs(o) / 1e6;
}

/** One step of a boot's plan: the workload, its plan lines, and what the host keeps for it. */
interface Step {
  w: Workload;
  placement?: Placement;
  watch?: CacheWatch;
  /** Refused before the boot (its options): it has no plan lines and fails alone. */
  error?: Error;
  /** Which RESULT frame is its own (the k-th "run" line of the plan). */
  result?: number;
}

/** Everything one boot produced: frames in order, timing, and how it ended. */
interface BootOutcome {
  results: string[];
  verdicts: (HostPageCache | undefined)[];
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
}

/**
 * The host's side of one boot: the VMM process's timers, and what its frames said. Until /init
 * reports, the boot limit; then each workload's own time plus the same margin; after DONE, a
 * short grace for the VMM to exit by itself.
 */
class BootWatch {
  results: string[] = [];
  verdicts: (HostPageCache | undefined)[] = [];
  errors: string[] = [];
  hostClient?: Promise<NetResult>;
  times: BootOutcome['times'];
  endedByHost = false;
  timedOut = false;
  limitMs: number;
  private timer?: NodeJS.Timeout;
  private grace?: NodeJS.Timeout;

  constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly steps: Step[], t0: number, private readonly marginMs: number,
    private readonly graceMs: number, private readonly measureFromHost: (w: Extract<Workload, { kind: 'rr' | 'stream' }>) => Promise<NetResult>) {
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
  private next(): Step | undefined {
    return this.steps.find((s) => s.result === this.results.length);
  }

  private armForNext(): void {
    const next = this.next();
    this.arm(next ? budgetMs(next.w.options as never) + this.marginMs : this.marginMs);
  }

  onFrame(f: Frame): void {
    if (f.kind === 'READY' && !this.times.tReady) {
      this.times.tReady = performance.now();
      this.armForNext();
    } else if (f.kind === 'GATE') {
      // Before a block workload: the host's cached pages of the backing file are dropped now.
      const n = (JSON.parse(f.payload) as { gate: number }).gate;
      this.steps[n]?.watch?.evict();
      this.child.stdin.write(`GO ${n}\n`);
    } else if (f.kind === 'RESULT') {
      if (!this.times.tFirst) this.times.tFirst = performance.now();
      this.verdicts.push(this.next()?.watch?.verdict());
      this.results.push(f.payload);
      this.armForNext();
    } else if (f.kind === 'ERROR') {
      this.errors.push(f.payload);
    } else if (f.kind === 'SERVING' && this.steps[0]?.placement === 'server-inside') {
      this.hostClient = this.measureFromHost(this.steps[0].w as Extract<Workload, { kind: 'rr' | 'stream' }>).then((r) => {
        if (!this.times.tFirst) this.times.tFirst = performance.now();
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

class VmSession implements Session {
  private runs = 0;
  stack: StackInfo;

  constructor(private readonly vmm: Vmm, private readonly spec: VmSpec, private readonly kernel: GuestKernel,
    private readonly tap: Tap | undefined, version: string, vmmPath: string) {
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
      platform: `guest kernel ${kernel.version} (${kernel.source}), ${spec.vcpus ?? 2} vCPUs, ${spec.memMiB ?? 512} MiB`,
    };
  }

  async run(w: Workload, ctl: RunControl = {}): Promise<TargetResult> {
    const [r] = await this.runSuite([w], ctl);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * Every workload in one boot, in the order given: block workloads behind a gate at which the
   * host drops its cached pages of the backing file (and the guest its own), so each is measured
   * cold and gets its own cache verdict. A workload that fails fails alone; a guest that dies
   * fails the workloads it had not finished. Placement server-inside needs a boot of its own (the
   * guest serves while the host measures). Every boot attaches the data disk, so the file is held
   * for the whole boot (a second VMM on it would be refused its image lock).
   */
  async runSuite(ws: Workload[], ctl: RunControl = {}, onEach?: (i: number, r: TargetResult | Error) => void): Promise<(TargetResult | Error)[]> {
    const out: (TargetResult | Error)[] = new Array(ws.length);
    const serverInside = (w: Workload) => w.kind !== 'block' && (w.placement ?? (this.tap ? 'client-inside' : 'loopback')) === 'server-inside';
    const groups = [ws.map((_, i) => i).filter((i) => !serverInside(ws[i]!)), ...ws.map((_, i) => i).filter((i) => serverInside(ws[i]!)).map((i) => [i])];
    for (const g of groups.filter((x) => x.length)) {
      const rs = this.spec.dataFile
        ? await withLock(dataFileResource(this.spec.dataFile), { what: `the data file ${this.spec.dataFile}`, signal: ctl.signal }, () => this.bootRetrying(g.map((i) => ws[i]!), ctl))
        : await this.bootRetrying(g.map((i) => ws[i]!), ctl);
      rs.forEach((r, k) => {
        out[g[k]!] = r;
        onEach?.(g[k]!, r);
      });
    }
    return out;
  }

  /** A guest that never reaches /init (a rare early-boot hang seen under TCG) is booted once more. */
  private async bootRetrying(ws: Workload[], ctl: RunControl): Promise<(TargetResult | Error)[]> {
    try {
      return await this.boot(ws, ctl, 1);
    } catch (e) {
      const err = e as IsoprobeError;
      if (err.code !== 'ETIMEDOUT' || !/the probe never started/.test(err.message) || ctl.signal?.aborted) throw e;
      return this.boot(ws, ctl, 2, err.message);
    }
  }

  private async boot(ws: Workload[], ctl: RunControl, attempt: number, firstAttempt?: string): Promise<(TargetResult | Error)[]> {
    const work = tempWorkDir(workDirPrefix(this.vmm.name));
    const servers = new Map<string, EchoServerHandle>();
    try {
      const p = await this.plan(ws, servers);
      const o = await this.launchAndWatch(p, work.dir, ctl);
      if (ctl.signal?.aborted) throw new IsoprobeError('ECANCELED', `the ${this.vmm.name} guest was stopped: the run was cancelled`);
      const whole = this.wholeBootError(o, p.steps.filter((s) => s.result !== undefined).length);
      // A guest that never started /init: the boot failed, not a workload (it is retried once).
      if (whole && !o.times.tReady && o.timedOut) throw whole;
      return await this.assemble(p, o, whole, attempt, firstAttempt);
    } finally {
      for (const s of servers.values()) await s.stop();
      work.remove();
    }
  }

  /** The plan lines for the workloads, and the echo servers the host runs for them. */
  private async plan(ws: Workload[], servers: Map<string, EchoServerHandle>): Promise<{ steps: Step[]; lines: string[] }> {
    const lines: string[] = [...(this.spec.planPrefix ?? [])];
    if (this.tap) lines.push(`net eth0 ${this.tap.guestAddr}/30`);
    const steps: Step[] = [];
    let runs = 0;
    for (const [i, w] of ws.entries()) {
      try {
        steps.push(await this.planStep(i, w, lines, servers));
        if (steps[i]!.placement !== 'server-inside') steps[i]!.result = runs++;
      } catch (e) {
        steps.push({ w, error: e as Error });
      }
    }
    return { steps, lines };
  }

  private async planStep(i: number, w: Workload, lines: string[], servers: Map<string, EchoServerHandle>): Promise<Step> {
    if (w.kind === 'block') {
      if (!this.spec.dataFile) throw new IsoprobeError('EINVALOPT', `${this.vmm.name}: this session has no data disk; start it with dataFile`, { option: 'file' });
      // /dev/vda is isoprobe's own file: writes are allowed without a signature check.
      const o = checkBlockOptions({ ...w.options, file: '/dev/vda', ...(writesData(w.options) ? { destructive: true, force: true } : {}) });
      lines.push(`gate ${i}`, `run block ${toProbeFlags(o).join(' ')}`);
      return { w, watch: new CacheWatch(this.spec.dataFile) };
    }
    const placement: Placement = w.placement ?? (this.tap ? 'client-inside' : 'loopback');
    if (placement !== 'loopback' && !this.tap) throw new IsoprobeError('EINVALOPT', `${this.vmm.name}: placement ${placement} needs the session's network`, { option: 'placement' });
    if (placement === 'loopback') {
      const o = checkNetOptions(w.kind, { ...w.options, connect: '127.0.0.1:1' });
      lines.push(`run net ${w.kind} --loopback ${toNetProbeFlags(o).filter((f) => !f.startsWith('--connect=')).join(' ')}`);
    } else if (placement === 'client-inside') {
      const proto = w.options.proto ?? 'tcp';
      if (!servers.has(proto)) {
        servers.set(proto, await spawnEchoServer({ bind: `${this.tap!.hostAddr}:0`, proto },
          { command: ['nsenter', `--net=/var/run/netns/${this.tap!.ns}`, probeBinaryPath()], check: { allowRemote: true } }));
      }
      const o = checkNetOptions(w.kind, { ...w.options, connect: servers.get(proto)!.address }, { allowRemote: true });
      lines.push(`run net ${w.kind} ${toNetProbeFlags(o).join(' ')}`);
    } else {
      lines.push(`serve 0.0.0.0:${SERVER_PORT} ${Math.ceil(budgetMs(w.options as never) / 1000) + 5}`);
    }
    return { w, placement };
  }

  /** Boots the VMM with the plan, answers its gates, and collects its frames until it ends. */
  private async launchAndWatch(p: { steps: Step[]; lines: string[] }, dir: string, ctl: RunControl): Promise<BootOutcome> {
    const { steps } = p;
    const initramfs = join(dir, 'initramfs.cpio');
    const profile = this.vmm.guest(this.spec);
    writeInitramfs(initramfs, this.kernel, p.lines, this.spec.probe, profile.transport);
    const launch = await this.vmm.launch({
      kernel: this.kernel, initramfs, cmdline: guestCommandLine(profile), dataFile: this.spec.dataFile, tap: this.tap?.tap,
      mac: macFor(`${this.tap?.tap ?? 'none'}${this.runs++}`), vcpus: this.spec.vcpus ?? 2, memMiB: this.spec.memMiB ?? 512, workDir: dir, spec: this.spec,
    });
    this.stack = { ...this.stack, emulated: launch.emulated, command: launch.argv,
      storage: this.spec.dataFile ? `virtio-blk (virtio-${profile.transport}) backed by ${this.spec.dataFile}, host cache: ${launch.diskCache}` : 'none',
      network: this.tap ? `virtio-net (virtio-${profile.transport}) on tap ${this.tap.tap} in a namespace isoprobe made (the VMM runs there); ${launch.netBackend ?? 'tap'}` : 'loopback inside the guest',
      platform: `${launch.accel}; ${this.stack.platform!.replace(/^.*?guest kernel/, 'guest kernel')}` };
    const argv = this.tap ? ['nsenter', `--net=/var/run/netns/${this.tap.ns}`, ...launch.argv] : launch.argv;
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined);  // the VMM may be gone when a late answer is written
    const watch = new BootWatch(child, steps, t0, (this.spec.bootTimeoutS ?? 60) * 1000, this.spec.exitGraceMs ?? 2000,
      (w) => this.measureFromHost(w));
    const reader = new FrameReader();
    const log: Buffer[] = [];
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      log.push(d);
      for (const f of reader.push(d)) watch.onFrame(f);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const onAbort = () => child.kill('SIGKILL');
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (launch.afterSpawn) await launch.afterSpawn();
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      watch.stopTimers();
      throw e;
    }
    const code = await exited;
    watch.stopTimers();
    ctl.signal?.removeEventListener('abort', onAbort);
    watch.times.tExit = performance.now();
    const serialLog = join(dir, 'serial.log');
    writeFileSync(serialLog, Buffer.concat(log));
    let kept: string | undefined;
    return { results: watch.results, verdicts: watch.verdicts, errors: watch.errors, hostClient: watch.hostClient, times: watch.times, endedByHost: watch.endedByHost,
      timedOut: watch.timedOut, limitMs: watch.limitMs, code, serial: Buffer.concat(log).toString('latin1'), keepLog: () => (kept ??= this.keepLog(serialLog, stderr)), launch,
      damaged: reader.damaged, stderrTail: stderr.trim().split('\n').slice(-2).join(' | ') };
  }

  /** Placement server-inside: the guest serves, isoprobe's own client measures from the tap's namespace. */
  private async measureFromHost(w: Extract<Workload, { kind: 'rr' | 'stream' }>): Promise<NetResult> {
    const o = checkNetOptions(w.kind, { ...w.options, connect: `${this.tap!.guestAddr}:${SERVER_PORT}` }, { allowRemote: true });
    const r = await exec(['nsenter', `--net=/var/run/netns/${this.tap!.ns}`, probeBinaryPath(), 'net', w.kind, ...toNetProbeFlags(o)], { timeoutMs: budgetMs(w.options as never) + 60_000 });
    const j = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
    if (j.error) throw fromCoreError(j.error);
    return j as NetResult;
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

  /** One result or error per workload, with the stack, the cache verdict and the boot's times. */
  private async assemble(p: { steps: Step[] }, o: BootOutcome, whole: IsoprobeError | undefined, attempt: number, firstAttempt?: string): Promise<(TargetResult | Error)[]> {
    const { t0, tReady, tFirst, tExit } = o.times;
    const boot: BootTimes & Record<string, unknown> = {
      attempts: attempt,
      ...(firstAttempt ? { first_attempt: firstAttempt } : {}),
      vmm_start_to_probe_ns: Math.round((tReady - t0) * 1e6),
      vmm_start_to_first_result_ns: Math.round(((tFirst || tExit) - t0) * 1e6),
      vmm_start_to_exit_ns: Math.round((tExit - t0) * 1e6),
      ended_by: o.endedByHost ? 'isoprobe after DONE' : 'guest',
      workloads_in_boot: p.steps.length,
    };
    const out: (TargetResult | Error)[] = [];
    for (const [k, s] of p.steps.entries()) {
      try {
        let result: BlockResult | NetResult;
        if (s.error) throw s.error;
        if (s.placement === 'server-inside') {
          if (!o.hostClient) throw whole ?? new IsoprobeError('EGUEST', `the guest never served; serial log kept at ${o.keepLog()}`);
          result = await o.hostClient;
        } else {
          const payload = o.results[s.result!];
          if (payload === undefined) throw whole ?? new IsoprobeError('EGUEST', `the guest printed no result; serial log kept at ${o.keepLog()}`);
          const j = JSON.parse(payload);
          if (j.error) throw fromCoreError(j.error);
          result = checkPlacedProbe(j, this.stack);
        }
        out.push({ ...result, target: { ...this.stack }, workload: s.w, placement: s.placement, host_page_cache: o.verdicts[s.result ?? -1],
          boot: { ...boot, position: k }, vmm_config: o.launch.config } as unknown as TargetResult);
      } catch (e) {
        out.push(e as Error);
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
