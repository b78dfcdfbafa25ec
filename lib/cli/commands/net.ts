// isoprobe net serve|rr|stream: the echo server, and its request/response and stream clients.
import { expandKindWord, netWords } from '../../compare/kinds';
import { IsoprobeError } from '../../errors';
import { runNet, runNetLoopback, spawnEchoServer, startEchoServer } from '../../probe/net';
import { NET_MODES, NET_OPTIONS, type NetInput } from '../../probe/net-options';
import { formatNetResult } from '../../report/net-text';
import { parseCommand, type Table } from '../args';
import { COMMON } from '../common';
import type { Reporter } from '../reporter';

const NET_EXTRA = {
  loopback: { kind: 'bool', default: false, help: 'start an echo server on 127.0.0.1 in this process and measure against it' },
  allow_remote: { kind: 'bool', default: false, help: 'allow a --connect/--bind address off loopback (a network you own)' },
} satisfies Table;

const NET_HEAD = [`usage: isoprobe net ${['serve', ...netWords()].join('|')} [options]`, '',
  'Latency is the full round trip (sockperf reports half of it by default). Sizes take k/M/G/T; times ns/us/ms/s/m/h.'];

export async function cmdNet(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const [mode, ...rest] = expandKindWord(argv, 0);  // a kind's own word (udp-stream) as its mode and flags
  const table = { ...NET_OPTIONS, ...NET_EXTRA, ...COMMON };
  if (mode === undefined || mode === '--help' || mode === 'help') {
    parseCommand(['--help'], table, 'net', NET_HEAD, io.out);
    return mode === undefined ? 2 : 0;
  }
  const m = NET_MODES.find((x) => x === mode);
  if (m === undefined) throw new IsoprobeError('EINVALOPT', `isoprobe net "${argv[0]}": expected one of ${['serve', ...netWords()].join(', ')}`, { option: 'mode' });
  const p = parseCommand(rest, table, `net ${mode}`, NET_HEAD, io.out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, loopback, allow_remote, ...opts } = values;
  const check = { allowRemote: allow_remote === true };
  if (m === 'serve') return serve(opts, via === 'binary', json === true, check, io, signal);
  if (loopback && opts.connect) throw new IsoprobeError('EINVALOPT', '--loopback starts its own server: give either --loopback or --connect', { option: 'loopback' });
  if (!loopback && !opts.connect) throw new IsoprobeError('EINVALOPT', '--connect: expected the server\'s ADDR:PORT, or --loopback for a self-contained run', { option: 'connect' });
  const ctl = { via: via ?? 'addon', signal, check };
  const r = loopback ? await runNetLoopback(m, opts, ctl) : await runNet(m, opts, ctl);
  io.out(json ? JSON.stringify(r) : formatNetResult(r));
  return 0;
}

/**
 * `net serve`: serves until Ctrl-C or SIGTERM (or --duration, when given), then prints what it
 * served. The in-process server's threads do not keep Node's event loop alive: a timer does.
 */
async function serve(opts: NetInput, binary: boolean, json: boolean, check: { allowRemote: boolean }, io: Reporter, signal: AbortSignal): Promise<number> {
  const server = binary ? await spawnEchoServer(opts, { check }) : startEchoServer(opts, check);
  io.out(json ? JSON.stringify({ listening: server.address }) : `isoprobe echo server listening on ${server.address} (${opts.proto ?? 'tcp'}); Ctrl-C stops it`);
  const ms = typeof opts.duration === 'number' && opts.duration > 0 ? opts.duration / 1e6 : undefined;  // parsed: ns
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
  io.out(json ? JSON.stringify({ served: stats }) : `served ${stats.connections} connections, ${stats.echoed} echoes`);
  return 0;
}
