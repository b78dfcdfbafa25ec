// Network request/response attribution: the pairing of a connection's requests and replies on the
// boundary's host-side device (made-up packets, as the product reads them), the split's layers,
// and traced RR runs on the host's loopback and across runc's veth, checked against the probe's
// own transaction count and what TCP and UDP put on the wire for small messages.
import test from 'ava';

import type { NetResult } from '../../lib/probe/types';
import { makeTarget, type TargetName } from '../../lib/targets';
import { traceUnavailable } from '../../lib/trace/available';
import { attributeNet, type NetAttribution, type NetAttributionField, timesOf, transactions } from '../../lib/trace/net-attribution';
import type { NetCall, NetPacket, NetTraceWindow } from '../../lib/trace/net-tracer';
import { syscallNumber } from '../../lib/trace/syscalls';
import { targetSkips, testIf, why } from '../helpers';

const SERVER = 5000;
const SYN = 2;
const ACK = 16;

/** A packet on the device: to the server (rx on a veth) or from it (tx). */
function pkt(t: number, client: number, toServer: boolean, payload: number, o: { flags?: number; tid?: number; dir?: 'rx' | 'tx'; proto?: number } = {}): NetPacket {
  return { t, dir: o.dir ?? (toServer ? 'rx' : 'tx'), proto: o.proto ?? 6, sport: toServer ? client : SERVER, dport: toServer ? SERVER : client, payload,
    flags: o.flags ?? ACK, tid: o.tid ?? 0, tgid: 1 };
}

function call(name: string, tid: number, t0: number, t1: number, ret = 64): NetCall {
  return { t0, t1, tid, tgid: 1, nr: syscallNumber(name)!, ret, named: true };
}

test('a connection\'s transactions: from the request\'s arrival to its reply\'s leaving, the handshake left out, acks counted with the transaction they follow', (t) => {
  const ps = [
    pkt(0, 40000, true, 0, { flags: SYN }), pkt(1, 40000, false, 0, { flags: SYN | ACK }), pkt(2, 40000, true, 0),
    pkt(10, 40000, true, 64), pkt(15, 40000, false, 64),
    pkt(20, 40000, true, 64), pkt(21, 40000, true, 0), pkt(28, 40000, false, 64),
  ];
  const txs = transactions(ps);
  t.deepEqual(txs.map((x) => [x.tIn, x.tOut, x.toServer + x.fromServer, x.empty]), [[10, 15, 2, 0], [20, 28, 3, 1]]);
});

test('a request or reply in several segments is one transaction, from its first segment in to its last out', (t) => {
  const ps = [pkt(0, 40000, true, 1448), pkt(1, 40000, true, 552), pkt(5, 40000, false, 1448), pkt(6, 40000, false, 552), pkt(10, 40000, true, 2000), pkt(14, 40000, false, 2000)];
  t.deepEqual(transactions(ps).map((x) => [x.tIn, x.tOutFirst, x.tOut]), [[0, 5, 6], [10, 14, 14]]);
});

test('connections in flight together are paired within each connection, not by the order on the device', (t) => {
  // A's request, then B's; B is answered first.
  const ps = [pkt(0, 40001, true, 64), pkt(1, 40002, true, 64), pkt(2, 40002, false, 64), pkt(3, 40001, false, 64)];
  const byFlow = Object.fromEntries(transactions(ps).map((x) => [x.flow, x.tOut - x.tIn]));
  t.deepEqual(byFlow, { '6 5000-40001': 3, '6 5000-40002': 1 });
});

test('on the loopback device each packet shows queued and received: the request\'s arrival and the reply\'s leaving are kept, each packet counted once', (t) => {
  const both = (p: NetPacket, dt: number): NetPacket[] => [{ ...p, dir: 'tx' }, { ...p, t: p.t + dt, dir: 'rx' }];
  const ps = [...both(pkt(0, 40000, true, 0, { flags: SYN }), 1), ...both(pkt(10, 40000, true, 64), 2), ...both(pkt(20, 40000, false, 64), 3), ...both(pkt(30, 40000, true, 64), 2),
    ...both(pkt(40, 40000, false, 64), 3)];
  t.deepEqual(transactions(ps).map((x) => [x.tIn, x.tOut, x.toServer + x.fromServer]), [[12, 20, 2], [32, 40, 2]]);
});

test('a UDP flow\'s server is the port its first datagram went to', (t) => {
  const ps = [pkt(0, 40000, true, 64, { proto: 17, flags: 0 }), pkt(4, 40000, false, 64, { proto: 17, flags: 0 })];
  t.deepEqual(transactions(ps).map((x) => [x.tIn, x.tOut]), [[0, 4]]);
});

// Server thread 7, client thread 9: the client's send at 5, the request in at 10, the server's
// receive returns at 13 and its send enters at 16, the reply out at 20, the client's receive
// returns at 26.
const CLIENT = 9;
const SERVER_TID = 7;
function oneRoundTrip(at: number, service: number): { ps: NetPacket[]; calls: NetCall[] } {
  return {
    ps: [pkt(at + 10, 40000, true, 64, { tid: CLIENT }), pkt(at + 20 + service, 40000, false, 64, { tid: SERVER_TID })],
    calls: [call('sendto', CLIENT, at + 5, at + 11), call('recvfrom', SERVER_TID, at + 2, at + 13), call('sendto', SERVER_TID, at + 16 + service, at + 21 + service),
      call('recvfrom', CLIENT, at + 12, at + 26 + service)],
  };
}

test('per transaction: the server is its receive\'s return to its send\'s entry, the round trip the client\'s send\'s entry to its receive\'s return', (t) => {
  const { ps, calls } = oneRoundTrip(0, 0);
  t.deepEqual(timesOf(transactions(ps), calls), [{ rtt: 21, hostPath: 10, server: 3 }]);
});

test('a service time planted in the server moves the server layer by it, and neither the host path nor the boundary', (t) => {
  const [a] = timesOf(transactions(oneRoundTrip(0, 0).ps), oneRoundTrip(0, 0).calls);
  const [b] = timesOf(transactions(oneRoundTrip(0, 100).ps), oneRoundTrip(0, 100).calls);
  t.is(b!.server - a!.server, 100);
  t.is(b!.hostPath - b!.server, a!.hostPath - a!.server);
  t.is(b!.rtt - b!.hostPath, a!.rtt - a!.hostPath);
});

test('the layers of every band add up to its round trip: host path + server + boundary', (t) => {
  const ps: NetPacket[] = [];
  const calls: NetCall[] = [];
  for (let i = 0; i < 200; i++) {
    const r = oneRoundTrip(i * 1000, i % 7);
    ps.push(...r.ps);
    calls.push(...r.calls);
  }
  const w: NetTraceWindow = { packets: ps, calls, counters: { rx: 200, tx: 200, not_ipv4: 0, records: 1000, ringbuf_full: 0 } };
  const a = attributeNet(w, { transactions: 200 } as NetResult, { window: { open: 0, close: 1e9, source: 'probe marks' }, device: 'veth', loopback: false });
  if ('unavailable' in a) return t.fail(a.unavailable);
  t.is(a.matched, 200);
  for (const s of Object.values(a.split)) t.true(Math.abs(s.host_path_ns + s.server_ns + s.boundary_ns - s.latency_ns) < 1e-6, JSON.stringify(s));
  t.is(a.split.p50.host_path_ns, 7);
  t.is(a.split.p50.boundary_ns, 11);
});

test('a client thread whose process was not named to the tracer (a VMM writing the guest\'s frames to the tap) is no round trip: no split, the device\'s own layers and packets kept', (t) => {
  const { ps, calls } = oneRoundTrip(0, 0);
  const vmm = calls.map((c) => (c.tid === CLIENT ? { ...c, named: false } : c));
  const w: NetTraceWindow = { packets: ps, calls: vmm, counters: { rx: 1, tx: 1, not_ipv4: 0, records: 6, ringbuf_full: 0 } };
  const a = attributeNet(w, { transactions: 1 } as NetResult, { window: { open: 0, close: 1e9, source: 'relayed marks' }, device: 'tap', loopback: false });
  if (!('unavailable' in a)) return t.fail('split with a VMM thread as the client');
  t.regex(a.unavailable, /^the client's and the echo server's calls around the transactions that crossed tap were not seen/);
  t.notRegex(a.unavailable, /\d/, 'no count in the reason: the same words in every repetition');
  t.is(a.counts!.per_op.packets, 2);
  t.is(a.counts!.server_ns.p50, 3);
  t.is(a.counts!.host_path_ns.p50, 7);
});

test('the window opens at the probe\'s own start of measuring (its first request + warm-up) where its start mark came later', (t) => {
  const ps: NetPacket[] = [];
  const calls: NetCall[] = [];
  for (let i = 0; i < 10; i++) {
    const r = oneRoundTrip(i * 100, 0);
    ps.push(...r.ps);
    calls.push(...r.calls);
  }
  const w: NetTraceWindow = { packets: ps, calls, counters: { rx: 10, tx: 10, not_ipv4: 0, records: 60, ringbuf_full: 0 } };
  // First request in at 10; warm-up 250: measuring from 260, the mark written at 420 (late).
  const r = { transactions: 7, options: { warmup: 250 } } as unknown as NetResult;
  const a = attributeNet(w, r, { window: { open: 420, close: 1e9, source: 'probe marks' }, device: 'veth', loopback: false });
  if ('unavailable' in a) return t.fail(a.unavailable);
  t.is(a.transactions_seen, 7);
  t.is(a.window.opened_by, 'first request + warm-up');
  t.is(a.window.start_mark_late_ns, 160);
  const early = attributeNet(w, r, { window: { open: 200, close: 1e9, source: 'probe marks' }, device: 'veth', loopback: false });
  t.is((early as NetAttribution).window.opened_by, 'start mark');
});

// On the machine: traced RR runs.
const unavailable = traceUnavailable();
const skips = targetSkips(['host', 'runc']);
const skipOf = (name: string) => unavailable ?? skips.get(name);

async function tracedRr(name: TargetName, proto: 'tcp' | 'udp'): Promise<{ r: NetResult; a: NetAttribution }> {
  const s = await makeTarget(name).start({ network: name !== 'host', attribution: true });
  try {
    const r = (await s.run({ kind: 'rr', options: { proto, duration: '1s', warmup: '200ms' } })) as NetResult & { attribution?: NetAttributionField };
    const a = r.attribution!;
    if (!a || 'unavailable' in a) throw new Error(`${name}: ${a ? a.unavailable : 'no attribution'}`);
    return { r, a };
  } finally {
    await s.stop();
  }
}

/**
 * What the wire implies for small messages, one in flight: TCP, a request segment and a reply
 * segment, the acks carried by them (an empty segment only when a delayed ack fires, or a quick
 * ack early in the connection): at least 2, 2 for most; UDP, exactly one datagram each way.
 */
function packetsAsTheWireImplies(t: import('ava').ExecutionContext, a: NetAttribution, proto: 'tcp' | 'udp'): void {
  const hist = Object.entries(a.packets_histogram).map(([k, v]) => [Number(k), v] as const);
  t.true(hist.every(([k]) => k >= 2), JSON.stringify(a.packets_histogram));
  if (proto === 'udp') t.deepEqual(hist.map(([k]) => k), [2]);
  else t.true((a.packets_histogram['2'] ?? 0) > a.transactions_seen / 2, JSON.stringify(a.packets_histogram));
  t.true(a.per_op.packets_to_server >= 1 && a.per_op.packets_from_server >= 1);
}

/**
 * Every transaction the probe counted crossed the device in its window, and each is split: aside
 * from those in flight at each edge of the window (one per connection at each), which the probe
 * and the device may place on either side of it.
 */
function everyTransactionMatched(t: import('ava').ExecutionContext, r: NetResult, a: NetAttribution): void {
  const edges = 2 * Number(r.options.conns ?? 1);
  t.true(Math.abs(a.transactions_seen - r.transactions) <= edges, `${a.transactions_seen} seen on the device, ${r.transactions} counted by the probe`);
  t.true(a.matched >= a.transactions_seen - edges, `${a.matched} of ${a.transactions_seen} matched`);
  // One request in flight: the server receives and sends at least once each per transaction, and so does the client.
  t.true(a.per_op.server_calls >= 2 - 2 / a.transactions_seen && a.per_op.client_calls >= 2 - 2 / a.transactions_seen, JSON.stringify(a.per_op));
}

for (const proto of ['tcp', 'udp'] as const) {
  testIf(skipOf('host'), test.serial)(`host ${proto}_rr on loopback: the probe's transactions each crossed the loopback device, with the packets the wire implies${why(skipOf('host'))}`, async (t) => {
    const { r, a } = await tracedRr('host', proto);
    everyTransactionMatched(t, r, a);
    packetsAsTheWireImplies(t, a, proto);
    // The host path (loopback stack and server) lies inside the client's round trip.
    for (const s of Object.values(a.split)) t.true(s.boundary_ns > 0 && s.host_path_ns > 0 && s.server_ns >= 0, JSON.stringify(s));
  });
}

testIf(skipOf('runc'), test.serial)(`runc tcp_rr client-inside: the veth carries each transaction's request and reply, and the boundary (the container's stack) has a share${why(skipOf('runc'))}`, async (t) => {
  const { r, a } = await tracedRr('runc', 'tcp');
  everyTransactionMatched(t, r, a);
  packetsAsTheWireImplies(t, a, 'tcp');
  t.true(a.split.p50.boundary_ns > 0 && a.layers.boundary_ns.p50 > 0, JSON.stringify(a.split.p50));
  t.is(a.window.source, 'probe marks');
});
