// The isoprobe command line: parse argv, call the library, print, set the exit code. Nothing else.
import { releaseDaemons } from './targets/daemons';
import { IsoprobeError } from './errors';
import { parseCommand, type Table } from './cli/args';
import { SESSION_OPTIONS, sessionSpecFrom } from './cli/session-options';
import { SHIELD_OPTION } from './cli/shield-option';
import { shieldFromOption } from './system/shield';
import { cmdAb, cmdCompare, cmdExport, cmdHistory, cmdImport, cmdReport } from './cli/compare-cmds';
import { runBlock } from './probe/block';
import { runNet, runNetLoopback, spawnEchoServer, startEchoServer } from './probe/net';
import { NET_MODES, NET_OPTIONS, type NetMode } from './probe/net-options';
import { formatNetResult } from './report/net-text';
import { makeTarget, REGISTRY, TARGET_NAMES } from './targets';
import { sweepFirst } from './cli/sweep-first';
import { cmdSweep } from './cli/sweep-cmd';
import { cmdSystem } from './cli/system-cmd';
import { cmdFleet } from './cli/fleet-cmd';
import { parseVariant, settingsHelp } from './targets/variant';
import type { Placement, TargetResult, Workload } from './targets/types';
import { debianCloudKernel, extractVmlinux, type GuestKernel, kernelOption, userKernel } from './image/kernel';
import { buildGuestKernel, FRAGMENT, KERNEL_SOURCES, type KernelSource } from './image/kernel-build';
import { missingDrivers } from './image/guest';
import { formatTargetResult } from './report/target-text';
import { BLOCK_OPTIONS, normalizeBlockOptions } from './probe/options';
import { packageVersion } from './probe/version';
import { statSync } from 'node:fs';
import type { Arch } from './paths';
import type { BlockResult, ProgressEvent } from './probe/types';
import { formatBlockResult } from './report/block-text';
import { fioJson } from './formats/fio-json';
import { fioSuite } from './formats/fio-job';
import { formatCount, formatNs } from './units';

const COMMON: Table = {
  json: { kind: 'bool', default: false, help: 'print the result as JSON' },
  via: { kind: 'enum', default: 'addon', choices: ['addon', 'binary'], help: 'run in this process (addon) or as the static probe binary' },
};
const JSON_ONLY: Table = { json: COMMON.json! };
/** A block result in fio's json+ (lib/formats/fio-json.ts), for pipelines that read fio's output. */
const FIO_FORMAT: Table = { format: { kind: 'enum', default: 'text', choices: ['text', 'fio-json'], help: "fio-json: the result as fio's --output-format=json+ (block)" } };

const VERSION = packageVersion();

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
    '  isoprobe sweep [--targets host,runc] block --qd 1,2,4,8 | net rr --rate 500,1000,2000   load-latency curves and their knee',
    '  isoprobe fleet run --inventory nodes.ini [--limit edge] [--targets host,runc]    the suite on every node of an Ansible inventory, compared by node',
    '  isoprobe history | export --format json|csv|fio-json|openmetrics|bmf RUN | report RUN [-o report.html]',
    '  isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [--junit F] [--markdown F]   the suite-wide A/B gate: exit 0, 1 (regression), 125',
    '  isoprobe ab --run --baseline VARIANT --candidate VARIANT [--suite quick] [--reps 10]   measure both now, then judge',
    '  isoprobe report --trend [-o trend.html]   every stored run in time order, change points flagged',
    '  isoprobe import FILE.json|OTHER.db ...   runs from other machines, with their host identity',
    '  isoprobe system check [--cpus LIST]    what on this machine can disturb a measurement, and what to do',
    '  isoprobe version',
    '',
  ].join('\n');
}

const BLOCK_HEAD = ['usage: isoprobe block --file PATH [options]', '',
  'Sizes take k/M/G/T (powers of 1024); times take ns/us/ms/s/m/h. Booleans: --flag, --flag=false, --no-flag.'];

function progressPrinter(enabled: boolean): ((p: ProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  return (p) => {
    const rate = p.phase === 'layout' ? `${formatCount(p.ops)} blocks written` : `${formatCount(p.iops)} IOPS`;
    process.stderr.write(`\r\x1b[K${p.phase} ${formatNs(p.elapsed_ns)}  ${rate}`);
  };
}

async function cmdBlock(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, { ...(BLOCK_OPTIONS as unknown as Table), ...COMMON, ...FIO_FORMAT }, 'block', BLOCK_HEAD, out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, format, ...opts } = values;
  const tty = !json && process.stderr.isTTY === true;
  const ctl: Parameters<typeof runBlock>[1] = { via: (via as 'addon' | 'binary') ?? 'addon', signal };
  const printer = progressPrinter(tty);
  if (printer) ctl.onProgress = printer;
  const r = await runBlock(opts as Record<string, unknown>, ctl);
  if (tty) process.stderr.write('\r\x1b[K');
  if (format === 'fio-json') out(JSON.stringify(fioJson([{ name: 'isoprobe-block', result: r }]), null, 2));
  else out(json ? JSON.stringify(r) : formatBlockResult(r));
  return 0;
}

const NET_EXTRA: Table = {
  loopback: { kind: 'bool', default: false, help: 'start an echo server on 127.0.0.1 in this process and measure against it' },
  allow_remote: { kind: 'bool', default: false, help: 'allow a --connect/--bind address off loopback (a network you own)' },
};

/** `net udp-stream` is `net stream --proto udp`: the mode a UDP stream (kind udp_stream) runs in. */
const udpStream = (argv: string[], at: number) => (argv[at] === 'udp-stream' ? [...argv.slice(0, at), 'stream', ...argv.slice(at + 1), '--proto=udp'] : argv);

const NET_HEAD = ['usage: isoprobe net serve|rr|stream|udp-stream [options]', '',
  'Latency is the full round trip (sockperf reports half of it by default). Sizes take k/M/G/T; times ns/us/ms/s/m/h.'];

async function cmdNet(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const [mode, ...rest] = udpStream(argv, 0);
  const table = { ...(NET_OPTIONS as unknown as Table), ...NET_EXTRA, ...COMMON };
  if (mode === undefined || mode === '--help' || mode === 'help') {
    parseCommand(['--help'], table, 'net', NET_HEAD, out);
    return mode === undefined ? 2 : 0;
  }
  if (!NET_MODES.includes(mode as NetMode)) throw new IsoprobeError('EINVALOPT', `isoprobe net "${mode}": expected one of serve, rr, stream, udp-stream`, { option: 'mode' });
  const p = parseCommand(rest, table, `net ${mode}`, NET_HEAD, out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, loopback, allow_remote, ...opts } = values;
  const check = { allowRemote: allow_remote === true };
  if (mode === 'serve') return serve(opts, via === 'binary', json === true, check, out, signal);
  if (loopback && opts.connect) throw new IsoprobeError('EINVALOPT', '--loopback starts its own server: give either --loopback or --connect', { option: 'loopback' });
  if (!loopback && !opts.connect) throw new IsoprobeError('EINVALOPT', '--connect: expected the server\'s ADDR:PORT, or --loopback for a self-contained run', { option: 'connect' });
  const ctl = { via: (via as 'addon' | 'binary') ?? 'addon', signal, check };
  const r = loopback ? await runNetLoopback(mode as 'rr' | 'stream', opts, ctl) : await runNet(mode as 'rr' | 'stream', opts, ctl);
  out(json ? JSON.stringify(r) : formatNetResult(r));
  return 0;
}

/**
 * `net serve`: serves until Ctrl-C or SIGTERM (or --duration, when given), then prints what it
 * served. The in-process server's threads do not keep Node's event loop alive: a timer does.
 */
async function serve(opts: Record<string, unknown>, binary: boolean, json: boolean, check: { allowRemote: boolean }, out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const server = binary ? await spawnEchoServer(opts, { check }) : startEchoServer(opts, check);
  out(json ? JSON.stringify({ listening: server.address }) : `isoprobe echo server listening on ${server.address} (${opts.proto ?? 'tcp'}); Ctrl-C stops it`);
  const ms = typeof opts.duration === 'number' && opts.duration > 0 ? opts.duration / 1e6 : undefined;
  await new Promise<void>((resolve) => {
    const alive = setInterval(() => undefined, 1 << 30);
    const t = ms ? setTimeout(done, ms) : undefined;
    function done() {
      clearInterval(alive);
      if (t) clearTimeout(t);
      resolve();
    }
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
  const stats = await server.stop();
  out(json ? JSON.stringify({ served: stats }) : `served ${stats.connections} connections, ${stats.echoed} echoes`);
  return 0;
}

async function cmdTargets(argv: string[], out: (s: string) => void): Promise<number> {
  const p = parseCommand(argv, JSON_ONLY, 'targets', ['usage: isoprobe targets [--json]', '', 'Every target, and whether it works on this machine; the exact reason when it does not.', '', ...settingsHelp()], out);
  if (!p) return 0;
  const { values } = p;
  await sweepFirst();
  const rows: { name: string; kind: string; description: string; ok: boolean; reason?: string; version?: string; error?: string }[] = [];
  for (const name of TARGET_NAMES) {
    const { kind, description } = REGISTRY[name];
    try {
      rows.push({ name, kind, description, ...(await makeTarget(name).available()) });
    } catch (e) {
      // isoprobe's own step failed (an image build, a daemon start): not "unavailable", an error.
      rows.push({ name, kind, description, ok: false, error: (e as Error).message });
    }
  }
  if (values.json) out(JSON.stringify(rows, null, 2));
  else for (const r of rows) out(`${r.name.padEnd(16)} ${r.kind.padEnd(10)} ${r.ok ? `available   ${r.version ?? ''}` : r.error ? `ERROR       isoprobe failed checking it: ${r.error}` : `unavailable ${r.reason}`}`);
  return rows.some((r) => r.error) ? 1 : 0;
}

const RUN_OPTIONS: Table = {
  target: { kind: 'string', default: 'host', help: `where the probe runs: one of ${TARGET_NAMES.join('|')}, optionally with settings, e.g. qemu-microvm[kernel=6.12,aio=threads]` },
  placement: { kind: 'enum', default: 'client-inside', choices: ['client-inside', 'server-inside', 'loopback'], help: 'net: client inside the target and server in a peer namespace, the reverse, or both inside on loopback' },
  where: { kind: 'bool', default: false, help: 'block workloads, every target: trace the run with eBPF and split each operation into device, host kernel and boundary, with mechanism counts per operation (docs/attribution.md)' },
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
};
const RUN_HEAD = ['usage: isoprobe run [options] block|net rr|net stream [workload options]', '       isoprobe run [options] --fio JOB.fio [--format fio-json]', '',
  'The workload options are those of isoprobe block and isoprobe net (see their --help); --fio runs a fio job file\'s block jobs.'];

/** A block workload's region in a target: without --size it covers the data file, when its size is given or known. */
function blockRegion(opts: Record<string, unknown>, dataFile: string, dataSize: number | undefined): number {
  const offset = (opts.offset as number | undefined) ?? 0;
  if (opts.size !== undefined) {
    const need = (opts.size as number) + offset;
    if (dataSize !== undefined && dataSize < need) throw new IsoprobeError('EINVALOPT', `--data-size ${dataSize}: smaller than --offset + --size (${need} bytes)`, { option: 'data_size' });
    return dataSize ?? need;
  }
  let known = dataSize;
  if (known === undefined) {
    try {
      const st = statSync(dataFile);
      if (st.isFile() && st.size > 0) known = st.size;
    } catch {
      /* created by isoprobe at the default size */
    }
  }
  if (known === undefined) known = BLOCK_OPTIONS.size.default + offset;
  if (known <= offset) throw new IsoprobeError('EINVALOPT', `--offset ${offset}: at or past the end of the data file (${known} bytes)`, { option: 'offset' });
  opts.size = known - offset;
  return known;
}

/** isoprobe run --target T --fio JOB.fio: each job of a fio job file, one after another, in one session of the target. */
const FIO_RUN: Table = { ...FIO_FORMAT, fio: { kind: 'string', default: '', help: "a fio job file: run its block jobs (rw, bs, iodepth, ioengine, ...; other keys refused)", defaultText: 'none' } };

async function cmdRunFio(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run --fio', RUN_HEAD, out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `run --fio: unexpected argument "${positionals[0]}" (the workloads are the job file's)`, { option: 'fio' });
  const { suite, notes } = fioSuite(values.fio as string);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  const session: Record<string, unknown> = {};
  for (const k of Object.keys(SESSION_OPTIONS)) session[k] = values[k];
  const spec = sessionSpecFrom(session);
  const variant = parseVariant((values.target as string | undefined) ?? 'host', 'target');
  Object.assign(spec, variant.spec);
  const sizes = suite.workloads.map((w) => normalizeBlockOptions({ ...w.workload.options, file: '/fio-size' }).size);
  spec.dataSize = blockRegion({ size: Math.max(...sizes) }, spec.dataFile!, spec.dataSize);
  await sweepFirst();
  const t = makeTarget(variant.target);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${variant.label} is not available here: ${a.reason}`);
  const s = await t.start(spec);
  const results: { name: string; result: TargetResult }[] = [];
  let shield: ReturnType<typeof shieldFromOption>;
  try {
    shield = shieldFromOption(values.shield);
    for (const w of suite.workloads) results.push({ name: w.name, result: await s.run(w.workload, { signal }) });
  } finally {
    shield?.restore();
    await s.stop();
  }
  if (values.format === 'fio-json') out(JSON.stringify(fioJson(results.map((r) => ({ name: r.name, result: r.result as unknown as BlockResult }))), null, 2));
  else if (values.json) out(JSON.stringify(results));
  else for (const r of results) out(`[${r.name}]\n${formatTargetResult(r.result)}`);
  return 0;
}

async function cmdRun(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  if (argv.some((a) => a === '--fio' || a.startsWith('--fio='))) return cmdRunFio(argv, out, signal);
  // isoprobe run [run options] block|net rr|net stream [workload options]
  const kindAt = argv.findIndex((a) => a === 'block' || a === 'net');
  if (kindAt < 0) {
    if (parseCommand(argv.filter((a) => a === '--help'), { ...RUN_OPTIONS, ...COMMON, ...FIO_RUN }, 'run', RUN_HEAD, out) === undefined) return 0;
    throw new IsoprobeError('EINVALOPT', 'isoprobe run: expected a workload: block, net rr or net stream (see isoprobe run --help)', { option: 'workload' });
  }
  const isNet = argv[kindAt] === 'net';
  if (isNet) argv = udpStream(argv, kindAt + 1);
  const mode = isNet ? argv[kindAt + 1] : 'block';
  if (isNet && mode !== 'rr' && mode !== 'stream') throw new IsoprobeError('EINVALOPT', `isoprobe run net "${mode ?? ''}": expected rr or stream`, { option: 'mode' });
  const before = argv.slice(0, kindAt);
  const after = argv.slice(kindAt + (isNet ? 2 : 1));
  const table = { ...RUN_OPTIONS, ...(isNet ? (NET_OPTIONS as unknown as Table) : (BLOCK_OPTIONS as unknown as Table)), ...COMMON, ...(isNet ? {} : FIO_FORMAT) };
  const p = parseCommand([...before, ...after], table, `run ${isNet ? `net ${mode}` : 'block'}`, RUN_HEAD, out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const session: Record<string, unknown> = {};
  for (const k of Object.keys(SESSION_OPTIONS)) session[k] = values[k];
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (!(k in RUN_OPTIONS) && !(k in COMMON) && !(k in FIO_FORMAT)) opts[k] = v;
  const spec = sessionSpecFrom(session);
  const variant = parseVariant((values.target as string | undefined) ?? 'host', 'target');
  const name = variant.target;
  Object.assign(spec, variant.spec);
  if (values.where) {
    // Built for block workloads: for network ones it would be silently absent, so it is refused.
    if (isNet) throw new IsoprobeError('EINVALOPT', `--where: the split by layer is built for block workloads so far, not net ${mode}`, { option: 'where' });
    spec.attribution = true;
  }
  if (!isNet && opts.file !== undefined) throw new IsoprobeError('EINVALOPT', '--file: inside a target the data file is --data-file (on the host), mounted or passed in by isoprobe', { option: 'file' });
  if (isNet && opts.connect !== undefined) throw new IsoprobeError('EINVALOPT', '--connect: isoprobe run places the server itself (see --placement)', { option: 'connect' });
  const placement = values.placement as Placement | undefined;
  if (isNet) {
    delete spec.dataFile;
    delete spec.dataSize;
    spec.network = placement !== 'loopback';
  } else spec.dataSize = blockRegion(opts, spec.dataFile!, spec.dataSize);
  await sweepFirst();
  const t = makeTarget(name);
  const a = await t.available();
  if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${variant.label} is not available here: ${a.reason}`);
  const s = await t.start(spec);
  let r: TargetResult;
  let shield: ReturnType<typeof shieldFromOption>;
  try {
    shield = shieldFromOption(values.shield);
    const w: Workload = isNet ? { kind: mode as 'rr' | 'stream', options: opts, placement: placement ?? 'client-inside' } : { kind: 'block', options: opts as never };
    r = await s.run(w, { signal });
  } finally {
    shield?.restore();
    await s.stop();
  }
  if (values.format === 'fio-json' && r.kind === 'block') out(JSON.stringify(fioJson([{ name: `block-${variant.label}`, result: r as unknown as BlockResult }]), null, 2));
  else out(values.json ? JSON.stringify(r) : formatTargetResult(r));
  return 0;
}

const IMAGE_OPTIONS: Table = {
  kernel: { kind: 'string', default: '', help: 'a guest kernel of your own, bzImage or vmlinux', defaultText: "Debian's cloud kernel, fetched with apt-get download" },
  kernel_source: { kind: 'enum', default: '', choices: ['', ...KERNEL_SOURCES], help: `build a minimal guest kernel from Debian's linux-source-X with ${FRAGMENT} (minutes; cached)` },
  modules: { kind: 'string', default: '', help: 'with --kernel: its lib/modules/VERSION directory, when virtio is modular' },
  arch: { kind: 'enum', default: '', choices: ['', 'x64', 'arm64'], help: "the guest's architecture (arm64: Debian's arm64 cloud kernel, for qemu-virt)", defaultText: 'x64' },
  json: COMMON.json!,
};
const IMAGE_HEAD = ['usage: isoprobe image build [options]', '', 'Prepares the guest kernel and says what each VMM needs of it.'];

async function cmdImage(argv: string[], out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') {
    parseCommand(['--help'], IMAGE_OPTIONS, 'image build', IMAGE_HEAD, out);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const p = parseCommand(rest, IMAGE_OPTIONS, 'image build', IMAGE_HEAD, out);
  if (!p) return 0;
  const { values } = p;
  if (values.kernel && values.kernel_source) throw new IsoprobeError('EINVALOPT', '--kernel-source: give either --kernel (a file of yours) or --kernel-source (one built here)', { option: 'kernel_source' });
  const arch = ((values.arch as string) || 'x64') as Arch;
  if (arch === 'arm64' && values.kernel_source) throw new IsoprobeError('EINVALOPT', '--kernel-source with --arch arm64: guest kernels built from source are x86-64 only for now; an arm64 guest boots Debian\'s arm64 cloud kernel', { option: 'kernel_source' });
  let k: GuestKernel;
  let built: { cached: boolean } | undefined;
  await sweepFirst();
  if (values.kernel_source) {
    const tty = process.stderr.isTTY === true;
    const b = await buildGuestKernel(values.kernel_source as KernelSource, {
      signal, onProgress: (l) => process.stderr.write(tty ? `\r\x1b[K${l}` : `${l}\n`), progressEveryMs: tty ? 1000 : 10_000,
    });
    if (tty) process.stderr.write('\r\x1b[K');
    built = b;
    k = b;
  } else k = values.kernel ? userKernel(values.kernel as string, (values.modules as string) || undefined) : debianCloudKernel(arch);
  const missing = missingDrivers(k);
  const cmdlineDevices = kernelOption(k, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES');
  let vmlinux: string | undefined;
  let vmlinuxError: string | undefined;
  try {
    // arm64 kernels are booted as their Image by QEMU virt, Firecracker and Cloud Hypervisor alike.
    vmlinux = arch === 'arm64' ? k.bzImage : extractVmlinux(k.bzImage);
  } catch (e) {
    vmlinuxError = (e as Error).message;
  }
  const info = {
    arch,
    kernel: k.version, source: k.source, bzImage: k.bzImage, vmlinux: vmlinux ?? null, vmlinux_error: vmlinuxError,
    ...(built ? { cached: built.cached } : {}),
    modules: k.modules.map((m) => m.name), missing_drivers: missing,
    virtio_mmio_cmdline_devices: cmdlineDevices ?? (k.config ? 'not set' : 'unknown'),
  };
  if (values.json) out(JSON.stringify(info, null, 2));
  else {
    out(`guest kernel  ${info.kernel} (${info.source})${built ? (built.cached ? ', from the cache' : ', built now') : ''}`);
    if (arch === 'arm64') out(`  Image       ${info.bzImage}   (QEMU virt, Firecracker and Cloud Hypervisor on arm64)`);
    else {
      out(`  bzImage     ${info.bzImage}   (QEMU microvm)`);
      out(`  vmlinux     ${info.vmlinux ?? `not extracted: ${vmlinuxError}`}   (Firecracker, Cloud Hypervisor)`);
    }
    out(`  modules     ${info.modules.join(' -> ') || 'none (drivers built in)'}`);
    out(`  virtio-mmio devices from the command line (Firecracker): CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=${info.virtio_mmio_cmdline_devices}`);
    out(missing.length ? `  MISSING     ${missing.join(', ')}: this kernel cannot run the probe's workloads` : '  the initramfs (/init = the static probe) is built per run from these');
  }
  return missing.length ? 1 : 0;
}

type Handler = (argv: string[], out: (s: string) => void, signal: AbortSignal) => Promise<number>;

/** Every command, by name: the one place a new command is added. */
const COMMANDS: Record<string, Handler> = {
  block: cmdBlock,
  net: cmdNet,
  targets: (a, o) => cmdTargets(a, o),
  image: cmdImage,
  run: cmdRun,
  compare: cmdCompare,
  history: (a, o) => cmdHistory(a, o),
  export: (a, o) => cmdExport(a, o),
  report: (a, o) => cmdReport(a, o),
  ab: cmdAb,
  sweep: cmdSweep,
  fleet: cmdFleet,
  import: (a, o) => cmdImport(a, o),
  system: (a, o) => cmdSystem(a, o),
};

/** Runs one command line; returns the exit code. Errors are printed, never thrown. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const [cmd, ...rest] = argv;
    const handler = cmd === undefined ? undefined : COMMANDS[cmd];
    if (handler) return await handler(rest, out, ac.signal);
    switch (cmd) {
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
