// A batch's network trace: one isoprobe-net-trace over the batch's request/response steps, on the
// host side of the boundary their packets cross (the peer namespace's veth or tap, or the host's
// loopback), each step's window taken from its marks. Whatever fails is the steps' exact reason;
// the measurement itself never fails for it.
import type { NetResult } from '../probe/types';
import { attributeNet, type NetAttributionField } from './net-attribution';
import { NetTrace, type NetTraceWindow, netnsInode, processTree } from './net-tracer';

/** Where a batch's RR steps cross into the host, as the session knows it. */
export interface NetStepPlace {
  /** 'loopback': client and server on the host's loopback; 'peer': the target's link into isoprobe's peer namespace. */
  kind: 'loopback' | 'peer';
  /** The peer namespace's name (/var/run/netns/NAME), for 'peer'. */
  peerNs?: string;
  /** The echo server isoprobe runs there (its process and everything below it are traced). */
  serverPids?: number[];
  /**
   * Processes whose children from now on are the steps' probes, where those are not below isoprobe:
   * a container engine's exec (docker, ctr) starts the probe below the container's shim.
   */
  probeParents?: number[];
  /** The probe's marks are on the host's monotonic clock (else their receipt here is used). */
  sameClock: boolean;
}

export class NetStepTraces {
  private trace?: NetTrace;
  private why?: string;
  private result?: NetTraceWindow;
  private readonly windows = new Map<number, { open?: number; close?: number }>();
  private readonly device: string;

  private constructor(private readonly place: NetStepPlace) {
    this.device = place.kind === 'loopback' ? 'the host\'s loopback device' : `the host-side device of namespace ${place.peerNs}`;
  }

  /** Started (or with its reason kept) before the batch's first probe. */
  static async begin(place: NetStepPlace): Promise<NetStepTraces> {
    const s = new NetStepTraces(place);
    try {
      const ns = place.kind === 'loopback' ? '/proc/self/ns/net' : `/var/run/netns/${place.peerNs}`;
      s.trace = await NetTrace.start({ netnsInode: netnsInode(ns), loopback: place.kind === 'loopback', describe: s.device });
      s.trace.childrenOf([process.pid]);
      for (const p of place.serverPids ?? []) s.trace.addPids(processTree(p));
      // Named itself (not its present children: the container's own processes), so what it starts is a named client.
      s.trace.addPids(place.probeParents ?? []);
    } catch (e) {
      s.why = (e as Error).message;
    }
    return s;
  }

  /** Step k's probe (or what starts it) is this child: traced since its fork. */
  follow(pid: number): void {
    this.trace?.addPids([pid]);
  }

  mark(k: number, which: 'measure-start' | 'measure-end', tNs?: number): void {
    const t = this.place.sameClock && tNs !== undefined ? tNs : Number(process.hrtime.bigint());
    const w = this.windows.get(k) ?? {};
    if (which === 'measure-start') w.open = t;
    else w.close = t;
    this.windows.set(k, w);
  }

  /** After the batch's last probe. */
  async stop(): Promise<void> {
    const t = this.trace;
    this.trace = undefined;
    if (!t) return;
    try {
      this.result = await t.stop();
    } catch (e) {
      this.why = (e as Error).message;
    }
  }

  attribution(k: number, r: NetResult, placement: string | undefined): NetAttributionField {
    if (this.why) return { unavailable: this.why };
    if (!this.result) return { unavailable: 'no network trace was taken of this step' };
    if (r.kind === 'tcp_stream') return { unavailable: 'a stream has no request and reply to split; RR workloads only' };
    if (placement === 'server-inside') return { unavailable: 'server-inside: the echo server runs inside the boundary, so the host sees no host path; the split covers client-inside and loopback' };
    if ((placement === 'loopback') !== (this.place.kind === 'loopback')) return { unavailable: `this batch traced ${this.device}, not this step's (${placement})` };
    const w = this.windows.get(k);
    if (w?.open === undefined || w.close === undefined) return { unavailable: 'the step\'s window marks were not received' };
    return attributeNet(this.result, r, { window: { open: w.open, close: w.close, source: this.place.sameClock ? 'probe marks' : 'relayed marks' }, device: this.device,
      loopback: this.place.kind === 'loopback' });
  }
}
