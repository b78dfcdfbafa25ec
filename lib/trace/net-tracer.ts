// A host-side trace of one request/response step's packets on the boundary's host-side device and
// of the traced processes' send/receive calls: isoprobe-net-trace (native/trace/net_trace.cc), a
// process of its own, started before the step's probe and stopped after; its records read here.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { IsoprobeError } from '../errors';
import { packageRoot } from '../paths';
import { traceUnavailable } from './available';

/** One packet on the device, or one send/receive-family call of a traced thread (net_event.h). */
export interface NetPacket { t: number; dir: 'rx' | 'tx'; proto: number; sport: number; dport: number; payload: number; flags: number; tid: number; tgid: number }
/** `named`: its process was named (the probe, the echo server) or is below one, not only a child of this process (a VMM). */
export interface NetCall { t0: number; t1: number; tid: number; tgid: number; nr: number; ret: number; named: boolean }
export interface NetTraceWindow {
  packets: NetPacket[];
  calls: NetCall[];
  /** net_event.h's enum net_counter. */
  counters: { rx: number; tx: number; not_ipv4: number; records: number; ringbuf_full: number };
}

/** The host-side device whose packets are followed: its network namespace (an inode) and which device. */
export interface NetDeviceSpec { netnsInode: number; loopback: boolean; describe: string }

export function netTraceBinary(): string {
  return join(packageRoot(), 'build', 'Release', 'isoprobe-net-trace');
}

const RECORD_BYTES = 48;

/** net_event.h's struct net_record, little-endian, 48 bytes a record. */
export function parseNetRecords(buf: Buffer): { packets: NetPacket[]; calls: NetCall[] } {
  const packets: NetPacket[] = [];
  const calls: NetCall[] = [];
  for (let o = 0; o + RECORD_BYTES <= buf.length; o += RECORD_BYTES) {
    const kind = buf.readUInt32LE(o);
    const tid = buf.readUInt32LE(o + 4);
    const tgid = buf.readUInt32LE(o + 8);
    const nr = buf.readInt32LE(o + 12);
    const t0 = Number(buf.readBigUInt64LE(o + 16));
    const t1 = Number(buf.readBigUInt64LE(o + 24));
    const ret = Number(buf.readBigInt64LE(o + 32));
    if (kind === 1) {
      packets.push({ t: t0, dir: buf.readUInt8(o + 44) === 1 ? 'tx' : 'rx', proto: nr, sport: buf.readUInt16LE(o + 40), dport: buf.readUInt16LE(o + 42),
        payload: ret, flags: buf.readUInt8(o + 45), tid, tgid });
    } else if (kind === 2) calls.push({ t0, t1, tid, tgid, nr, ret, named: buf.readUInt16LE(o + 46) === 2 });
  }
  return { packets, calls };
}

/** Every process below `pid` (from /proc's children lists), itself included. */
export function processTree(pid: number, proc = '/proc'): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(join(proc, String(out[i]), 'task'));
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(join(proc, String(out[i]), 'task', t, 'children'), 'utf8').split(/\s+/).filter(Boolean)) out.push(Number(c));
      } catch {
        /* gone */
      }
    }
  }
  return [...new Set(out)];
}

/** The inode of a network namespace file (/var/run/netns/NAME, /proc/PID/ns/net). */
export function netnsInode(path: string): number {
  return statSync(path).ino;
}

export class NetTrace {
  private readonly exited: Promise<number | null>;
  private counters?: NetTraceWindow['counters'];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly dir: string) {
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.startsWith('{')) {
        const c = (JSON.parse(l) as { counters: number[] }).counters;
        this.counters = { rx: c[0]!, tx: c[1]!, not_ipv4: c[2]!, records: c[3]!, ringbuf_full: c[4]! };
      }
    });
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  /** Attached, or an IsoprobeError (EUNAVAILABLE) with the exact reason. */
  static async start(dev: NetDeviceSpec, budget = 2_000_000): Promise<NetTrace> {
    const why = traceUnavailable();
    if (why) throw new IsoprobeError('EUNAVAILABLE', why);
    const bin = netTraceBinary();
    if (!existsSync(bin)) throw new IsoprobeError('EUNAVAILABLE', `the network tracer ${bin} was not built (bash scripts/setup.sh builds it)`);
    const dir = mkdtempSync(join(tmpdir(), 'isoprobe-net-trace-'));
    const child = spawn(bin, ['--netns-inum', String(dev.netnsInode), ...(dev.loopback ? ['--loopback'] : []), '--budget', String(budget), '--out', join(dir, 'records')]);
    const t = new NetTrace(child, dir);
    const ready = await new Promise<boolean>((resolve) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().startsWith('ready')));
      child.once('close', () => resolve(false));
    });
    if (!ready) {
      await t.exited;
      rmSync(dir, { recursive: true, force: true });
      throw new IsoprobeError('EUNAVAILABLE', `the network tracer did not attach: ${t.stderr.trim() || 'it exited'}`);
    }
    return t;
  }

  /** These processes (and their children from now) have their send/receive calls traced. */
  addPids(pids: number[]): void {
    for (const p of pids) this.child.stdin.write(`pid ${p}\n`);
  }

  childrenOf(pids: number[], follow = true): void {
    for (const p of pids) this.child.stdin.write(`${follow ? 'parent' : 'unparent'} ${p}\n`);
  }

  /** Detaches; what it saw. */
  async stop(): Promise<NetTraceWindow> {
    this.child.stdin.end('stop\n');
    const code = await this.exited;
    try {
      if (code !== 0 || !this.counters) throw new IsoprobeError('EUNAVAILABLE', `the network tracer ended with code ${code}: ${this.stderr.trim()}`);
      return { ...parseNetRecords(readFileSync(join(this.dir, 'records'))), counters: this.counters };
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
