// The isoprobe command line: parse argv, call the library, print, set the exit code. Nothing else.
import { IsoprobeError } from './errors';
import { parseArgs, type Table, usageLines } from './cli/args';
import { runBlock } from './probe/block';
import { runNet, runNetLoopback, spawnEchoServer, startEchoServer } from './probe/net';
import { NET_MODES, NET_OPTIONS, type NetMode } from './probe/net-options';
import { formatNetResult } from './report/net-text';
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
      return e.code === 'ECANCELED' ? 130 : e.code === 'EINVALOPT' || e.code === 'EREFUSED' ? 2 : 1;
    }
    err(`isoprobe: internal error: ${(e as Error).stack ?? String(e)}`);
    return 70;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
