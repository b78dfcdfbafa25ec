// MicroVM targets: one boot per workload of a guest whose /init is the probe. The data file is a
// virtio-blk disk; the network is a tap in a namespace isoprobe made, where the VMM process and
// the host side of every network workload run. Cache honesty as for containers: the host's
// resident pages of the backing file after the guest ran.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { fromCoreError, IsoprobeError } from '../errors';
import { writeInitramfs } from '../image/guest';
import { cacheDir, debianCloudKernel, type GuestKernel, type Transport, userKernel } from '../image/kernel';
import { uniqueName } from '../net/netns';
import { probeBinaryPath } from '../paths';
import { checkBlockOptions, fileSha256 } from '../probe/block';
import { checkNetOptions, spawnEchoServer } from '../probe/net';
import { toNetProbeFlags } from '../probe/net-options';
import { toProbeFlags } from '../probe/options';
import { native } from '../probe/native';
import type { BlockResult, NetResult } from '../probe/types';
import { exec, must } from './exec';
import { FrameReader } from './frames';
import { dataFileResource, withLock } from '../lock';
import { CacheWatch, checkPlacedProbe, DEFAULT_DATA_SIZE, ensureDataFile, SERVER_PORT, tempWorkDir, workloadNs } from './session';
import type { Availability, Placement, Session, SessionSpec, StackInfo, Target, TargetResult, Workload } from './types';
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
}

/**
 * What a VMM shows the guest: how its virtio devices are found, and how the guest ends the VM
 * (Firecracker has no power-off device: the guest's reboot, through the i8042 reset line with
 * reboot=k, is what makes it exit).
 */
export interface GuestProfile {
  transport: Transport;
  exit: 'poweroff' | 'reboot';
}

/** The guest's kernel command line for a profile. */
export function guestCommandLine(p: GuestProfile): string {
  // No PCI on virtio-mmio machines: without pci=off the guest probes for it, and under TCG it has hung there.
  return `console=ttyS0 quiet panic=-1 ${p.exit === 'reboot' ? 'reboot=k' : 'reboot=t'}${p.transport === 'mmio' ? ' pci=off' : ''} isoprobe isoprobe.exit=${p.exit}`;
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
  readonly description: string;
  available(): Promise<Availability>;
  version(): Promise<string>;
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
    const spec = specIn as VmSpec;
    const kernel = spec.kernel ? userKernel(spec.kernel, spec.modulesDir) : debianCloudKernel();
    if (spec.dataFile) await ensureDataFile(spec.dataFile, spec.dataSize ?? DEFAULT_DATA_SIZE);
    const tap = spec.network === false ? undefined : await createTapNamespace();
    const version = await this.vmm.version();
    return new VmSession(this.vmm, spec, kernel, tap, version);
  }
}

function budgetMs(o: { duration?: unknown; warmup?: unknown }): number {
  return workloadNs(o) / 1e6;
}

class VmSession implements Session {
  private runs = 0;
  stack: StackInfo;

  constructor(private readonly vmm: Vmm, private readonly spec: VmSpec, private readonly kernel: GuestKernel,
    private readonly tap: Tap | undefined, version: string) {
    this.stack = {
      target: vmm.name,
      kind: 'vm',
      runtime: vmm.name,
      runtime_version: version,
      storage: spec.dataFile ? `virtio-blk (virtio-mmio) backed by ${spec.dataFile}` : 'none',
      network: tap ? `virtio-net on tap ${tap.tap} in a namespace isoprobe made (the VMM runs there)` : 'loopback inside the guest',
      cgroup_limits: 'none',
      probe_sha256: fileSha256(spec.probe ?? probeBinaryPath()),
      emulated: false,
      platform: `guest kernel ${kernel.version} (${kernel.source}), ${spec.vcpus ?? 2} vCPUs, ${spec.memMiB ?? 512} MiB`,
    };
  }

  /**
   * One boot per workload. A guest that never reaches /init (a rare early-boot hang seen under
   * TCG) is booted once more; the result says so (boot.attempts) and keeps the first error.
   */
  async run(w: Workload, ctl: RunControl = {}): Promise<TargetResult> {
    // Every boot attaches the data disk (a second VMM on it would be refused its image lock, and
    // another run's I/O would land in this one's numbers): the file is held for the whole run.
    if (!this.spec.dataFile) return this.runRetrying(w, ctl);
    return withLock(dataFileResource(this.spec.dataFile), { what: `the data file ${this.spec.dataFile}`, signal: ctl.signal }, () => this.runRetrying(w, ctl));
  }

  private async runRetrying(w: Workload, ctl: RunControl): Promise<TargetResult> {
    try {
      return await this.runOnce(w, ctl);
    } catch (e) {
      const err = e as IsoprobeError;
      if (err.code !== 'ETIMEDOUT' || !/the probe never started/.test(err.message) || ctl.signal?.aborted) throw e;
      const r = await this.runOnce(w, ctl);
      (r as unknown as { boot: Record<string, unknown> }).boot.attempts = 2;
      (r as unknown as { boot: Record<string, unknown> }).boot.first_attempt = err.message;
      return r;
    }
  }

  private async runOnce(w: Workload, ctl: RunControl): Promise<TargetResult> {
    const work = tempWorkDir(`isoprobe-${this.vmm.name}-`);
    const serialLog = join(work.dir, 'serial.log');
    let server: Awaited<ReturnType<typeof spawnEchoServer>> | undefined;
    let hostClient: Promise<NetResult> | undefined;
    const placement: Placement | undefined = w.kind === 'block' ? undefined : (w.placement ?? (this.tap ? 'client-inside' : 'loopback'));
    try {
      const plan: string[] = [...(this.spec.planPrefix ?? [])];
      if (this.tap) plan.push(`net eth0 ${this.tap.guestAddr}/30`);
      let watch: CacheWatch | undefined;
      if (w.kind === 'block') {
        if (!this.spec.dataFile) throw new IsoprobeError('EINVALOPT', `${this.vmm.name}: this session has no data disk; start it with dataFile`, { option: 'file' });
        const writes = /write|rw/.test(String(w.options.pattern ?? 'randread')) || w.options.verify === true;
        // /dev/vda is isoprobe's own file: writes are allowed without a signature check.
        const o = checkBlockOptions({ ...w.options, file: '/dev/vda', ...(writes ? { destructive: true, force: true } : {}) });
        plan.push(`run block ${toProbeFlags(o).join(' ')}`);
        watch = new CacheWatch(this.spec.dataFile);
      } else {
        if (placement !== 'loopback' && !this.tap) throw new IsoprobeError('EINVALOPT', `${this.vmm.name}: placement ${placement} needs the session's network`, { option: 'placement' });
        if (placement === 'loopback') {
          const o = checkNetOptions(w.kind, { ...w.options, connect: '127.0.0.1:1' });
          plan.push(`run net ${w.kind} --loopback ${toNetProbeFlags(o).filter((f) => !f.startsWith('--connect=')).join(' ')}`);
        } else if (placement === 'client-inside') {
          server = await spawnEchoServer({ bind: `${this.tap!.hostAddr}:0`, proto: w.options.proto ?? 'tcp' },
            { command: ['nsenter', `--net=/var/run/netns/${this.tap!.ns}`, probeBinaryPath()], check: { allowRemote: true } });
          const o = checkNetOptions(w.kind, { ...w.options, connect: server.address }, { allowRemote: true });
          plan.push(`run net ${w.kind} ${toNetProbeFlags(o).join(' ')}`);
        } else {
          const seconds = Math.ceil(budgetMs(w.options as never) / 1000) + 5;
          plan.push(`serve 0.0.0.0:${SERVER_PORT} ${seconds}`);
        }
      }
      const initramfs = join(work.dir, 'initramfs.cpio');
      const profile = this.vmm.guest(this.spec);
      writeInitramfs(initramfs, this.kernel, plan, this.spec.probe, profile.transport);
      const ctx = {
        kernel: this.kernel,
        initramfs,
        cmdline: guestCommandLine(profile),
        dataFile: this.spec.dataFile,
        tap: this.tap?.tap,
        mac: macFor(`${this.tap?.tap ?? 'none'}${this.runs++}`),
        vcpus: this.spec.vcpus ?? 2,
        memMiB: this.spec.memMiB ?? 512,
        workDir: work.dir,
        spec: this.spec,
      };
      const launch = await this.vmm.launch(ctx);
      this.stack = { ...this.stack, emulated: launch.emulated, command: launch.argv,
        storage: this.spec.dataFile ? `virtio-blk (virtio-${profile.transport}) backed by ${this.spec.dataFile}, host cache: ${launch.diskCache}` : 'none',
        network: this.tap ? `virtio-net on tap ${this.tap.tap} in a namespace isoprobe made (the VMM runs there); ${launch.netBackend ?? 'tap'}` : 'loopback inside the guest',
        platform: `${launch.accel}; ${this.stack.platform!.replace(/^.*?guest kernel/, 'guest kernel')}` };
      watch?.evict();
      const argv = this.tap ? ['nsenter', `--net=/var/run/netns/${this.tap.ns}`, ...launch.argv] : launch.argv;
      const t0 = performance.now();
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      const reader = new FrameReader();
      const log: Buffer[] = [];
      let stderr = '';
      const results: string[] = [];
      const errors: string[] = [];
      let tReady = 0;
      let tFirst = 0;
      let tDone = 0;
      let endedByHost = false;
      let graceTimer: NodeJS.Timeout | undefined;
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdout.on('data', (d: Buffer) => {
        log.push(d);
        for (const f of reader.push(d)) {
          if (f.kind === 'READY' && !tReady) tReady = performance.now();
          if (f.kind === 'RESULT') {
            if (!tFirst) tFirst = performance.now();
            results.push(f.payload);
          }
          if (f.kind === 'ERROR') errors.push(f.payload);
          if (f.kind === 'DONE' && !tDone) {
            // The results are in: the run ends here whether or not the VMM can be powered off
            // from inside (Firecracker cannot; a halted guest would otherwise hold it forever).
            tDone = performance.now();
            graceTimer = setTimeout(() => {
              endedByHost = true;
              child.kill('SIGKILL');
            }, this.spec.exitGraceMs ?? 2000);
          }
          if (f.kind === 'SERVING' && placement === 'server-inside') {
            const o = checkNetOptions(w.kind as 'rr' | 'stream', { ...(w.options as object), connect: `${this.tap!.guestAddr}:${SERVER_PORT}` }, { allowRemote: true });
            hostClient = exec(['nsenter', `--net=/var/run/netns/${this.tap!.ns}`, probeBinaryPath(), 'net', w.kind, ...toNetProbeFlags(o)], { timeoutMs: budgetMs(w.options as never) + 60_000 })
              .then((r) => {
                if (!tFirst) tFirst = performance.now();
                const j = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
                if (j.error) throw fromCoreError(j.error);
                return j as NetResult;
              });
          }
        }
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const onAbort = () => child.kill('SIGKILL');
      ctl.signal?.addEventListener('abort', onAbort, { once: true });
      const bootMs = (this.spec.bootTimeoutS ?? 60) * 1000;
      let limitMs = bootMs;
      let timedOut = false;
      const kill = () => {
        timedOut = true;
        child.kill('SIGKILL');
      };
      // Until /init reports, the boot limit; then the workload's own time plus the same margin.
      let timer = setTimeout(kill, bootMs);
      const onReady = setInterval(() => {
        if (!tReady) return;
        clearInterval(onReady);
        clearTimeout(timer);
        limitMs = (tReady - t0) + budgetMs(w.options as never) + bootMs;
        timer = setTimeout(kill, limitMs - (performance.now() - t0));
      }, 50);
      try {
        if (launch.afterSpawn) await launch.afterSpawn();
      } catch (e) {
        child.kill('SIGKILL');
        await exited;
        throw e;
      }
      const code = await exited;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearInterval(onReady);
      ctl.signal?.removeEventListener('abort', onAbort);
      const tExit = performance.now();
      writeFileSync(serialLog, Buffer.concat(log));
      const keepLog = () => this.keepLog(serialLog, stderr);
      if (ctl.signal?.aborted) throw new IsoprobeError('ECANCELED', `the ${this.vmm.name} guest was stopped: the run was cancelled`);
      const text = Buffer.concat(log).toString('latin1');
      if (timedOut && !tDone && !/Kernel panic/.test(text))
        throw new IsoprobeError('ETIMEDOUT', `the ${this.vmm.name} guest did not finish within ${Math.round(limitMs / 1000)} s and was killed${tReady ? ' (the probe had started)' : ' (the probe never started)'}; serial log kept at ${keepLog()}`);
      if (/Kernel panic/.test(text)) throw new IsoprobeError('EGUEST', `the guest kernel panicked: ${/Kernel panic[^\n]*/.exec(text)![0].trim()}; serial log kept at ${keepLog()}`);
      if (!tReady) throw new IsoprobeError('EGUEST', `the guest never reported (no READY from /init within ${Math.round((tExit - t0) / 1000)} s, VMM exit code ${code}); ${stderr.trim() ? `VMM stderr: ${stderr.trim().split('\n').slice(-2).join(' | ')}; ` : ''}serial log kept at ${keepLog()}`);
      if (errors.length) throw new IsoprobeError('EGUEST', `the guest reported: ${errors.map((e) => JSON.parse(e).message).join('; ')}; serial log kept at ${keepLog()}`);
      let result: BlockResult | NetResult;
      if (placement === 'server-inside') {
        if (!hostClient) throw new IsoprobeError('EGUEST', `the guest never served; serial log kept at ${keepLog()}`);
        result = await hostClient;
      } else {
        if (!results.length) throw new IsoprobeError('EGUEST', `the guest printed no result${reader.damaged.length ? ` (${reader.damaged.join('; ')})` : ''}; serial log kept at ${keepLog()}`);
        const j = JSON.parse(results[0]!);
        if (j.error) throw fromCoreError(j.error);
        result = checkPlacedProbe(j, this.stack);
      }
      const boot: BootTimes & { attempts: number } = {
        attempts: 1,
        vmm_start_to_probe_ns: Math.round((tReady - t0) * 1e6),
        vmm_start_to_first_result_ns: Math.round(((tFirst || tExit) - t0) * 1e6),
        vmm_start_to_exit_ns: Math.round((tExit - t0) * 1e6),
        ended_by: endedByHost ? 'isoprobe after DONE' : 'guest',
      };
      return { ...result, target: { ...this.stack }, workload: w, placement, host_page_cache: watch?.verdict(), boot, vmm_config: launch.config } as unknown as TargetResult;
    } finally {
      await server?.stop();
      work.remove();
    }
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
