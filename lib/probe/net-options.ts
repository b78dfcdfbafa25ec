// Network options: the typed table shared by validation, the CLI and the probe's flags.
import { optionError } from '../errors';
import { CLOCKS, type ClockSource, type OptionDef, coerce, flagOf, suggest } from './options';

export const NET_MODES = ['serve', 'rr', 'stream'] as const;
export type NetMode = (typeof NET_MODES)[number];

export interface NetOptions {
  proto: 'tcp' | 'udp';
  connect: string;
  bind: string;
  size: number;
  duration: number;
  warmup: number;
  conns: number;
  streams: number;
  reverse: boolean;
  rate: number;
  arrival: 'uniform' | 'poisson';
  backend: 'blocking' | 'io_uring';
  busy_poll: number;
  verify: boolean;
  timeout: number;
  seed: number;
  clock: ClockSource;
  cpu: number;
  stall_after: number;
  stall: number;
}

export type NetInput = { [K in keyof NetOptions]?: NetOptions[K] extends number ? number | string : NetOptions[K] };

export const NET_OPTIONS: { [K in keyof NetOptions]-?: OptionDef<NetOptions[K]> } = {
  proto: { kind: 'enum', default: 'tcp', choices: ['tcp', 'udp'], help: 'transport' },
  connect: { kind: 'string', default: '', help: 'server ADDR:PORT (rr, stream)' },
  bind: { kind: 'string', default: '127.0.0.1:0', help: 'serve: listen on ADDR:PORT; port 0 picks a free one' },
  size: { kind: 'size', default: 64, min: 1, max: 16 * 2 ** 20, help: 'message size (stream default 128k)' },
  duration: { kind: 'duration', default: 5e9, help: 'measured time; serve: how long to serve, 0 until stopped' },
  warmup: { kind: 'duration', default: 1e9, help: 'warm-up, excluded from results' },
  conns: { kind: 'uint', default: 1, min: 1, max: 256, help: 'rr: connections, one thread each' },
  streams: { kind: 'uint', default: 1, min: 1, max: 256, help: 'stream: parallel streams' },
  reverse: { kind: 'bool', default: false, help: 'stream: the server sends, the client receives' },
  rate: { kind: 'uint', default: 0, max: 10_000_000, help: 'rr: open loop at this many requests/s in all (latency from the intended send time); 0 = closed loop' },
  arrival: { kind: 'enum', default: 'uniform', choices: ['uniform', 'poisson'], help: 'open loop: spacing of requests' },
  backend: { kind: 'enum', default: 'blocking', choices: ['blocking', 'io_uring'], help: 'socket I/O: blocking system calls or io_uring' },
  busy_poll: { kind: 'uint', default: 0, max: 2 ** 31 - 1, help: 'SO_BUSY_POLL microseconds on each socket, 0 off' },
  verify: { kind: 'bool', default: true, help: 'rr: compare every echoed byte with what was sent' },
  timeout: { kind: 'duration', default: 5e9, min: 1e6, help: 'connect and per-message timeout' },
  seed: { kind: 'uint', default: 1, help: 'seed of payloads and Poisson arrivals' },
  clock: { kind: 'enum', default: 'monotonic', choices: CLOCKS, help: 'timestamp source' },
  cpu: { kind: 'int', default: -1, min: -1, max: 4095, help: 'pin the measuring thread(s) to this CPU (-1: no pinning)' },
  stall_after: { kind: 'uint', default: 0, help: 'serve, for tests: stall once after this many echoes, 0 never' },
  stall: { kind: 'duration', default: 0, help: 'serve, for tests: length of that stall' },
};

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\]):\d+$/;

export function isLoopbackAddress(addr: string): boolean {
  return LOOPBACK.test(addr);
}

export interface NetCheck {
  /** Allow a --connect/--bind address off loopback (the user's explicit choice, or a namespace isoprobe made). */
  allowRemote?: boolean;
}

/**
 * Validates and completes net options for a mode. Addresses must be loopback unless allowRemote:
 * isoprobe sends probe traffic only to loopback or into network namespaces it created itself.
 */
export function normalizeNetOptions(mode: NetMode, input: Record<string, unknown>, check: NetCheck = {}): NetOptions & { mode: NetMode } {
  if (!NET_MODES.includes(mode)) throw optionError('mode', `net mode "${mode}": expected one of ${NET_MODES.join(', ')}`);
  const known = Object.keys(NET_OPTIONS);
  for (const key of Object.keys(input)) {
    if (!(key in NET_OPTIONS)) {
      const s = suggest(key.replace(/-/g, '_'), known);
      throw optionError(key, `unknown option "${key}"${s ? `; did you mean "${s}" (${flagOf(s)})?` : ''}`);
    }
  }
  const out: Record<string, unknown> = { mode };
  for (const [key, def] of Object.entries(NET_OPTIONS) as [string, OptionDef<unknown>][]) {
    const v = input[key];
    out[key] = v === undefined ? (key === 'size' && mode === 'stream' ? 128 * 1024 : def.default) : coerce(key, def, v);
  }
  const o = out as unknown as NetOptions & { mode: NetMode };
  if (mode !== 'serve' && !o.connect) throw optionError('connect', '--connect: expected the server\'s ADDR:PORT');
  for (const key of ['connect', 'bind'] as const) {
    if ((key === 'connect') === (mode === 'serve')) continue;
    if (!check.allowRemote && !isLoopbackAddress(o[key]))
      throw optionError(key, `${flagOf(key)} ${JSON.stringify(o[key])}: expected a loopback address (127.x.x.x, localhost or [::1]) with a port; ` +
        'isoprobe sends probe traffic only to loopback or into network namespaces it creates (pass --allow-remote to measure a network you own)');
  }
  return o;
}

export function toNetProbeFlags(o: NetOptions & { mode: NetMode }): string[] {
  return (Object.keys(NET_OPTIONS) as (keyof NetOptions)[])
    .filter((k) => !(o.mode === 'serve' ? k === 'connect' : k === 'bind' || k === 'stall' || k === 'stall_after'))
    .filter((k) => !(k === 'connect' && o.connect === ''))
    .map((k) => `${flagOf(k)}=${NET_OPTIONS[k].kind === 'duration' ? `${o[k]}ns` : String(o[k])}`);
}
