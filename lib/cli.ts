// The isoprobe command line: parse argv, call the library, print, set the exit code. Nothing else.
import { releaseDaemons } from './targets/daemons';
import { seccompFor } from './image/seccomp';
import { IsoprobeError } from './errors';
import { parseArgs, type Table, usageLines } from './cli/args';
import { cmdAb, cmdCompare, cmdExport, cmdHistory, cmdReport } from './cli/compare-cmds';
import { runBlock } from './probe/block';
import { runNet, runNetLoopback, spawnEchoServer, startEchoServer } from './probe/net';
import { NET_MODES, NET_OPTIONS, type NetMode } from './probe/net-options';
import { formatNetResult } from './report/net-text';
import { isTargetName, makeTarget, TARGET_NAMES } from './targets';
import { defaultDataFile } from './targets/session';
import type { Placement, SessionSpec, TargetResult, Workload } from './targets/types';
import { debianCloudKernel, extractVmlinux, kernelOption, userKernel } from './image/kernel';
import { missingDrivers } from './image/guest';
import { formatTargetResult } from './report/target-text';
import { BLOCK_OPTIONS, type OptionDef } from './probe/options';
import type { ProgressEvent } from './probe/types';
import { formatBlockResult } from './report/block-text';
import { formatCount, formatNs } from './units';

const COMMON: Table = {
  json: { kind: 'bool', default: false, help: 'print the result as JSON' },
  via: { kind: 'enum', default: 'addon', choices: ['addon', 'binary'], help: 'run in this process (addon) or as the static probe binary' },
  help: { kind: 'bool', default: false, help: 'show this help' },
};

const VERSION = '0.1.0';

function usage(): string {
  return [
    `isoprobe ${VERSION}: what an isolation boundary costs in I/O`,
    '',
    'usage:',
    '  isoprobe block --file PATH [options]   time block I/O on a file or device (isoprobe block --help)',
    '  isoprobe net serve [options]           an echo server for rr and stream clients',
    '  isoprobe net rr (--connect ADDR:PORT | --loopback) [options]       request/response round trips',
    '  isoprobe net stream (--connect ADDR:PORT | --loopback) [options]   bulk throughput',
    '  isoprobe targets [--json]               which targets work on this machine, and why not',
    '  isoprobe run --target NAME block|net rr|net stream [options]   the same workload in a container or VM',
    '  isoprobe image build [--kernel PATH]    fetch/prepare the guest kernel; report what the VMMs need',
    '  isoprobe compare [--targets host,runc,runsc,qemu-microvm] [--suite quick|paper|FILE] [--reps 5]',
    '  isoprobe history | export --format json|csv RUN | report RUN [-o report.html]',
    '  isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [--metric p99] [--threshold 5%]   exits 1 on a regression',
    '  isoprobe version',
    '',
  ].join('\n');
}

function blockUsage(): string {
  return ['usage: isoprobe block --file PATH [options]', '', ...usageLines(BLOCK_OPTIONS as unknown as Record<string, OptionDef<unknown>>), ...usageLines(COMMON), '',
    'Sizes take k/M/G/T (powers of 1024); times take ns/us/ms/s/m/h. Booleans: --flag, --flag=false, --no-flag.', ''].join('\n');
}

function progressPrinter(enabled: boolean): ((p: ProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  return (p) => {
    const rate = p.phase === 'layout' ? `${formatCount(p.ops)} blocks written` : `${formatCount(p.iops)} IOPS`;
    process.stderr.write(`\r\x1b[K${p.phase} ${formatNs(p.elapsed_ns)}  ${rate}`);
  };
}

async function cmdBlock(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs(argv, { ...(BLOCK_OPTIONS as unknown as Table), ...COMMON }, 'block');
  if (values.help) {
    out(blockUsage());
    return 0;
  }
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, help: _help, ...opts } = values;
  const tty = !json && process.stderr.isTTY === true;
  const ctl: Parameters<typeof runBlock>[1] = { via: (via as 'addon' | 'binary') ?? 'addon', signal };
  const printer = progressPrinter(tty);
  if (printer) ctl.onProgress = printer;
  const r = await runBlock(opts as Record<string, unknown>, ctl);
  if (tty) process.stderr.write('\r\x1b[K');
  out(json ? JSON.stringify(r) : formatBlockResult(r));
  return 0;
}

const NET_EXTRA: Table = {
  loopback: { kind: 'bool', default: false, help: 'start an echo server on 127.0.0.1 in this process and measure against it' },
  allow_remote: { kind: 'bool', default: false, help: 'allow a --connect/--bind address off loopback (a network you own)' },
};

function netUsage(): string {
  return ['usage: isoprobe net serve|rr|stream [options]', '', ...usageLines(NET_OPTIONS as unknown as Table), ...usageLines(NET_EXTRA), ...usageLines(COMMON), '',
    'Latency is the full round trip (sockperf reports half of it by default). Sizes take k/M/G/T; times ns/us/ms/s/m/h.', ''].join('\n');
}

async function cmdNet(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode === undefined || mode === '--help' || mode === 'help') {
    out(netUsage());
    return mode === undefined ? 2 : 0;
  }
  if (!NET_MODES.includes(mode as NetMode)) throw new IsoprobeError('EINVALOPT', `isoprobe net "${mode}": expected one of serve, rr, stream`, { option: 'mode' });
  const { values, positionals } = parseArgs(rest, { ...(NET_OPTIONS as unknown as Table), ...NET_EXTRA, ...COMMON }, `net ${mode}`);
  if (values.help) {
    out(netUsage());
    return 0;
  }
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, help: _h, loopback, allow_remote, ...opts } = values;
  const check = { allowRemote: allow_remote === true };
  if (mode === 'serve') {
    const server = via === 'binary' ? await spawnEchoServer(opts, { check }) : startEchoServer(opts, check);
    out(json ? JSON.stringify({ listening: server.address }) : `isoprobe echo server listening on ${server.address} (${opts.proto ?? 'tcp'}); Ctrl-C stops it`);
    const ms = typeof opts.duration === 'number' && opts.duration > 0 ? opts.duration / 1e6 : undefined;
    await new Promise<void>((resolve) => {
      const t = ms ? setTimeout(resolve, ms) : undefined;
      signal.addEventListener('abort', () => { if (t) clearTimeout(t); resolve(); }, { once: true });
    });
    const stats = server.stats();
    await server.stop();
    out(json ? JSON.stringify({ served: stats }) : `served ${stats.connections} connections`);
    return 0;
  }
  if (loopback && opts.connect) throw new IsoprobeError('EINVALOPT', '--loopback starts its own server: give either --loopback or --connect', { option: 'loopback' });
  if (!loopback && !opts.connect) throw new IsoprobeError('EINVALOPT', '--connect: expected the server\'s ADDR:PORT, or --loopback for a self-contained run', { option: 'connect' });
  const ctl = { via: (via as 'addon' | 'binary') ?? 'addon', signal, check };
  const r = loopback ? await runNetLoopback(mode as 'rr' | 'stream', opts, ctl) : await runNet(mode as 'rr' | 'stream', opts, ctl);
  out(json ? JSON.stringify(r) : formatNetResult(r));
  return 0;
}

async function cmdTargets(argv: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs(argv, { json: COMMON.json!, help: COMMON.help! }, 'targets');
  const rows = [];
  for (const name of TARGET_NAMES) {
    const t = makeTarget(name);
    rows.push({ name, kind: t.kind, description: t.description, ...(await t.available()) });
  }
  if (values.json) out(JSON.stringify(rows, null, 2));
  else for (const r of rows) out(`${r.name.padEnd(12)} ${r.kind.padEnd(10)} ${r.ok ? `available   ${r.version ?? ''}` : `unavailable ${r.reason}`}`);
  return 0;
}

const RUN_OPTIONS: Table = {
  target: { kind: 'enum', default: 'host', choices: TARGET_NAMES, help: 'where the probe runs' },
  runtime: { kind: 'string', default: '', help: 'runtime of docker/podman/containerd (e.g. runsc for gVisor under Docker)' },
  storage: { kind: 'enum', default: 'bind', choices: ['bind', 'device'], help: 'block workloads: bind-mounted file, or a loop device (direct I/O) on it' },
  data_file: { kind: 'string', default: '', help: 'host file behind block workloads (default /var/tmp/isoprobe-data.dat, created when missing)' },
  data_size: { kind: 'size', default: 256 * 2 ** 20, help: 'its size when isoprobe creates it' },
  placement: { kind: 'enum', default: 'client-inside', choices: ['client-inside', 'server-inside', 'loopback'], help: 'net: client inside the target and server in a peer namespace, the reverse, or both inside on loopback' },
  kernel: { kind: 'string', default: '', help: 'microVMs: guest kernel bzImage (default Debian\'s cloud kernel)' },
  vcpus: { kind: 'uint', default: 2, min: 1, max: 64, help: 'microVMs: vCPUs' },
  mem: { kind: 'size', default: 512 * 2 ** 20, min: 64 * 2 ** 20, help: 'microVMs: guest memory' },
  host_cache: { kind: 'enum', default: '', choices: ['', 'none', 'writeback', 'unsafe'], help: 'microVMs: host cache of the data disk (QEMU cache=, Firecracker cache_type, Cloud Hypervisor direct=); default per VMM' },
  aio: { kind: 'enum', default: '', choices: ['', 'threads', 'native', 'io_uring', 'Sync', 'Async'], help: 'microVMs: QEMU aio= or Firecracker io_engine' },
  accel: { kind: 'enum', default: 'auto', choices: ['auto', 'kvm', 'tcg'], help: 'QEMU: KVM, TCG emulation, or KVM when it works' },
  seccomp: { kind: 'string', default: 'default', help: "containers: default (the runtime's own; runc, crun and runsc: the system's containers default /usr/share/containers/seccomp.json), unconfined, or a Docker-format profile file" },
};

async function cmdRun(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  // isoprobe run [run options] block|net rr|net stream [workload options]
  const kindAt = argv.findIndex((a) => a === 'block' || a === 'net');
  if (kindAt < 0) {
    if (argv.includes('--help')) {
      out(['usage: isoprobe run [options] block|net rr|net stream [workload options]', '', ...usageLines(RUN_OPTIONS), ...usageLines(COMMON)].join('\n'));
      return 0;
    }
    throw new IsoprobeError('EINVALOPT', 'isoprobe run: expected a workload: block, net rr or net stream (see isoprobe run --help)', { option: 'workload' });
  }
  const isNet = argv[kindAt] === 'net';
  const mode = isNet ? argv[kindAt + 1] : 'block';
  if (isNet && mode !== 'rr' && mode !== 'stream') throw new IsoprobeError('EINVALOPT', `isoprobe run net "${mode ?? ''}": expected rr or stream`, { option: 'mode' });
  const before = argv.slice(0, kindAt);
  const after = argv.slice(kindAt + (isNet ? 2 : 1));
  const table = { ...RUN_OPTIONS, ...(isNet ? (NET_OPTIONS as unknown as Table) : (BLOCK_OPTIONS as unknown as Table)), ...COMMON };
  const { values, positionals } = parseArgs([...before, ...after], table, `run ${isNet ? `net ${mode}` : 'block'}`);
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { target, runtime, storage, data_file, data_size, placement, json, via: _via, help: _h, kernel, vcpus, mem, host_cache, aio, accel, seccomp, ...opts } = values;
  if (seccomp !== undefined) seccompFor(seccomp as string);
  const name = (target as string | undefined) ?? 'host';
  if (!isTargetName(name)) throw new IsoprobeError('EINVALOPT', `--target "${name}": expected one of ${TARGET_NAMES.join(', ')}`, { option: 'target' });
  if (!isNet && opts.file !== undefined) throw new IsoprobeError('EINVALOPT', '--file: inside a target the data file is --data-file (on the host), mounted or passed in by isoprobe', { option: 'file' });
  if (isNet && opts.connect !== undefined) throw new IsoprobeError('EINVALOPT', '--connect: isoprobe run places the server itself (see --placement)', { option: 'connect' });
  let dataSize = data_size as number | undefined;
  if (!isNet) {
    const need = ((opts.size as number | undefined) ?? BLOCK_OPTIONS.size.default) + ((opts.offset as number | undefined) ?? 0);
    if (dataSize !== undefined && dataSize < need)
      throw new IsoprobeError('EINVALOPT', `--data-size ${dataSize}: smaller than --offset + --size (${need} bytes)`, { option: 'data_size' });
    dataSize = dataSize ?? need;
  }
  const t = makeTarget(name);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${name} is not available here: ${a.reason}`);
  const session = await t.start({
    dataFile: isNet ? undefined : ((data_file as string) || defaultDataFile()),
    dataSize,
    storage: storage as 'bind' | 'device' | undefined,
    network: isNet && placement !== 'loopback',
    runtime: (runtime as string) || undefined,
    kernel: (kernel as string) || undefined,
    vcpus: vcpus as number | undefined,
    memMiB: mem === undefined ? undefined : Math.floor((mem as number) / 2 ** 20),
    hostCache: (host_cache as string) || undefined,
    aio: (aio as string) || undefined,
    accel: accel as string | undefined,
    seccomp: seccomp as string | undefined,
  } as SessionSpec);
  let r: TargetResult;
  try {
    const w: Workload = isNet ? { kind: mode as 'rr' | 'stream', options: opts, placement: (placement as Placement | undefined) ?? 'client-inside' } : { kind: 'block', options: opts as never };
    r = await session.run(w, { signal });
  } finally {
    await session.stop();
  }
  out(json ? JSON.stringify(r) : formatTargetResult(r));
  return 0;
}

const IMAGE_OPTIONS: Table = {
  kernel: { kind: 'string', default: '', help: 'a bzImage of your own (default: Debian\'s cloud kernel, fetched with apt-get download)' },
  modules: { kind: 'string', default: '', help: 'with --kernel: its lib/modules/VERSION directory, when virtio is modular' },
  json: COMMON.json!,
  help: COMMON.help!,
};

async function cmdImage(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') {
    out(['usage: isoprobe image build [options]', '', ...usageLines(IMAGE_OPTIONS)].join('\n'));
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const { values } = parseArgs(rest, IMAGE_OPTIONS, 'image build');
  if (values.help) {
    out(['usage: isoprobe image build [options]', '', ...usageLines(IMAGE_OPTIONS)].join('\n'));
    return 0;
  }
  const k = values.kernel ? userKernel(values.kernel as string, (values.modules as string) || undefined) : debianCloudKernel();
  const missing = missingDrivers(k);
  const cmdlineDevices = kernelOption(k, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES');
  let vmlinux: string | undefined;
  let vmlinuxError: string | undefined;
  try {
    vmlinux = extractVmlinux(k.bzImage);
  } catch (e) {
    vmlinuxError = (e as Error).message;
  }
  const info = {
    kernel: k.version, source: k.source, bzImage: k.bzImage, vmlinux: vmlinux ?? null, vmlinux_error: vmlinuxError,
    modules: k.modules.map((m) => m.name), missing_drivers: missing,
    virtio_mmio_cmdline_devices: cmdlineDevices ?? (k.config ? 'not set' : 'unknown'),
  };
  if (values.json) out(JSON.stringify(info, null, 2));
  else {
    out(`guest kernel  ${info.kernel} (${info.source})`);
    out(`  bzImage     ${info.bzImage}   (QEMU microvm)`);
    out(`  vmlinux     ${info.vmlinux ?? `not extracted: ${vmlinuxError}`}   (Firecracker, Cloud Hypervisor)`);
    out(`  modules     ${info.modules.join(' -> ') || 'none (drivers built in)'}`);
    out(`  virtio-mmio devices from the command line (Firecracker): CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=${info.virtio_mmio_cmdline_devices}`);
    out(missing.length ? `  MISSING     ${missing.join(', ')}: this kernel cannot run the probe's workloads` : '  the initramfs (/init = the static probe) is built per run from these');
  }
  return missing.length ? 1 : 0;
}

/** Runs one command line; returns the exit code. Errors are printed, never thrown. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case 'block':
        return await cmdBlock(rest, out, ac.signal);
      case 'net':
        return await cmdNet(rest, out, ac.signal);
      case 'targets':
        return await cmdTargets(rest, out);
      case 'image':
        return await cmdImage(rest, out);
      case 'compare':
        return await cmdCompare(rest, out, ac.signal);
      case 'history':
        return await cmdHistory(rest, out);
      case 'export':
        return await cmdExport(rest, out);
      case 'report':
        return await cmdReport(rest, out);
      case 'ab':
        return await cmdAb(rest, out, ac.signal);
      case 'run':
        return await cmdRun(rest, out, ac.signal);
      case 'version':
      case '--version':
        out(VERSION);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(usage());
        return cmd === undefined ? 2 : 0;
      default:
        err(`isoprobe: unknown command "${cmd}"\n\n${usage()}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof IsoprobeError) {
      err(`isoprobe: ${e.message}`);
      return e.code === 'ECANCELED' ? 130 : e.code === 'EINVALOPT' || e.code === 'EREFUSED' ? 2 : e.code === 'EUNAVAILABLE' ? 3 : 1;
    }
    err(`isoprobe: internal error: ${(e as Error).stack ?? String(e)}`);
    return 70;
  } finally {
    // A daemon isoprobe started for this command is stopped again, unless another run still uses it.
    await releaseDaemons().catch((e: Error) => err(`isoprobe: stopping the daemons it started: ${e.message}`));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
