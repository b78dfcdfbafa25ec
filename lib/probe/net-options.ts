// Network options: their types here, their table from the core, shared by validation, the CLI and
// the probe's flags.
import { optionError } from '../errors';
import { type ClockSource, type OptionDef, coerce, flagOf, suggest } from './options';
import { coreOptionTable } from './option-table';

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
  spin: boolean;
  busy_poll: number;
  verify: boolean;
  timeout: number;
  seed: number;
  clock: ClockSource;
  cpu: number;
  /** Client thread i on the i-th CPU of this list ("0,2-3"); serve: the server's CPUs. */
  cpus: string;
  /** --loopback: the CPUs of the probe's own echo server. */
  server_cpus: string;
  stall_after: number;
  stall: number;
  /** serve: a planted service time before every reply, ns (detection-power checks). */
  service: number;
  /** serve, for tests: discard every Nth measured datagram of each UDP stream uncounted. */
  drop_every: number;
}

export type NetInput = { [K in keyof NetOptions]?: NetOptions[K] extends number ? number | string : NetOptions[K] };

/** Read from the core's table (native/core/net_options.cc): the one declaration of each option. */
export const NET_OPTIONS = coreOptionTable<NetOptions>('net');

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\]):\d+$/;

export function isLoopbackAddress(addr: string): boolean {
  return LOOPBACK.test(addr);
}

export interface NetCheck {
  /** Allow a --connect/--bind address off loopback (the user's explicit choice, or a namespace isoprobe made). */
  allowRemote?: boolean;
  /** The probe serves on loopback itself and measures against that (--loopback): no --connect. */
  loopback?: boolean;
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
    out[key] = v === undefined ? def.default : coerce(key, def, v);
  }
  // The defaults of what it measures (a stream's size), as the core's table declares them by kind
  // (its net_kind: the protocol and the mode, tcp_stream, udp_stream).
  const kind = `${String(out.proto)}_${mode}`;
  for (const [key, def] of Object.entries(NET_OPTIONS) as [string, OptionDef<unknown>][]) {
    const d = def.byKind?.[kind];
    if (d !== undefined && input[key] === undefined) out[key] = coerce(key, def, d);
  }
  const o = out as unknown as NetOptions & { mode: NetMode };
  if (check.loopback && o.connect) throw optionError('loopback', '--loopback starts its own server: give either --loopback or --connect');
  if (mode !== 'serve' && !o.connect && !check.loopback) throw optionError('connect', '--connect: expected the server\'s ADDR:PORT');
  for (const key of ['connect', 'bind'] as const) {
    if ((key === 'connect') === (mode === 'serve') || (key === 'connect' && check.loopback)) continue;
    if (!check.allowRemote && !isLoopbackAddress(o[key]))
      throw optionError(key, `${flagOf(key)} ${JSON.stringify(o[key])}: expected a loopback address (127.x.x.x, localhost or [::1]) with a port; ` +
        'isoprobe sends probe traffic only to loopback or into network namespaces it creates (pass --allow-remote to measure a network you own)');
  }
  return o;
}

export function toNetProbeFlags(o: NetOptions & { mode: NetMode }): string[] {
  return (Object.keys(NET_OPTIONS) as (keyof NetOptions)[])
    .filter((k) => !(o.mode === 'serve' ? k === 'connect' : k === 'bind' || k === 'stall' || k === 'stall_after' || k === 'service' || k === 'drop_every'))
    .filter((k) => !((k === 'connect' || k === 'cpus' || k === 'server_cpus') && o[k] === '') && !(k === 'server_cpus' && o.mode === 'serve'))
    .map((k) => `${flagOf(k)}=${NET_OPTIONS[k].kind === 'duration' ? `${o[k]}ns` : String(o[k])}`);
}
