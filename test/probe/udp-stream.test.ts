// UDP streams (net udp-stream, kind udp_stream): the receiver's counts of a paced stream, a loss the
// test injects at the receiver, RFC 3550 jitter on a known arrival sequence, and the refusals.
import test from 'ava';

import { IsoprobeError } from '../../lib/errors';
import { checkNetOptions, runNet, runNetLoopback, spawnEchoServer } from '../../lib/probe/net';
import { native } from '../../lib/probe/native';
import type { NetResult } from '../../lib/probe/types';

// A paced stream's window holds rate x duration datagrams: a count the schedule fixes, not a time.
// 1000/s of 64 bytes: the receiver's default socket buffer holds a quarter second of them, so a
// server thread kept off its CPU for a while on a busy machine still loses none on loopback.
const PACED = { proto: 'udp', rate: 1000, size: 64, duration: '500ms', warmup: '100ms' } as const;
const SCHEDULED = 500;

function udp(r: NetResult) {
  if (!r.udp_stream) throw new Error(`a ${r.kind} result without udp_stream counts`);
  return r.udp_stream;
}

test('a paced UDP stream on loopback: the window\'s scheduled datagrams are all received, none lost', async (t) => {
  const r = await runNetLoopback('stream', PACED);
  t.is(r.kind, 'udp_stream');
  const u = udp(r);
  t.true(Math.abs(u.sent - SCHEDULED) <= 1, `the window's schedule: ${u.sent} sent of ${SCHEDULED}`);
  t.is(u.received, u.sent);
  t.is(u.lost, 0);
  t.is(u.loss, 0);
  t.is(u.out_of_order, 0);
  t.is(u.pps, u.received / 0.5, 'received per second of the window');
  t.is(r.bytes_sent, u.sent * 64);
  t.true(u.warmup_sent > 0 && u.warmup_sent <= 101, `warm-up datagrams are sent but not counted: ${u.warmup_sent}`);
  t.true(Number.isFinite(u.jitter_ns) && u.jitter_ns >= 0);
});

test('a receiver that discards every 4th datagram shows a quarter lost; the static probe serves and counts as the addon does', async (t) => {
  // The static probe is the server a target's client-inside workload measures against.
  const server = await spawnEchoServer({ proto: 'udp', drop_every: 4 });
  try {
    for (const via of ['addon', 'binary'] as const) {
      const u = udp(await runNet('stream', { ...PACED, connect: server.address }, { via }));
      t.true(Math.abs(u.sent - SCHEDULED) <= 1, `${via}: ${u.sent} sent`);
      t.is(u.dropped_by_test_hook, Math.floor(u.sent / 4), `${via}: every 4th of ${u.sent} arrivals discarded`);
      t.is(u.lost, u.dropped_by_test_hook, `${via}: what the receiver discarded is lost`);
      t.is(u.received, u.sent - u.lost);
      t.is(u.loss, u.lost / u.sent);
    }
  } finally {
    await server.stop();
  }
});

test('RFC 3550 jitter on a known arrival sequence: J += (|D| - J) / 16 over transit-time changes in arrival order', (t) => {
  const ms = 1e6;
  // Transit times 5, 7, 4, 10 ms: D = 2, 3, 6 ms.
  const send = Float64Array.from([0, 20, 40, 60].map((x) => x * ms));
  const arrival = Float64Array.from([5, 27, 44, 70].map((x) => x * ms));
  let j = 0;
  for (const d of [2, 3, 6]) j += (d * ms - j) / 16;
  t.is(j, 660644.53125, 'the RFC\'s recurrence, worked by hand: 0.125, 0.3046875, 0.66064453125 ms');
  t.is(native().rfc3550Jitter(send, arrival), j);
  // Constant transit (any offset between the clocks): no jitter.
  t.is(native().rfc3550Jitter(Float64Array.from([0, 1e6, 2e6]), Float64Array.from([7e9, 7e9 + 1e6, 7e9 + 2e6])), 0);
  // A datagram overtaken on the way, taken in arrival order: transits 1, 2, 13 ms, D = 1, 11 ms.
  t.is(native().rfc3550Jitter(Float64Array.from([0, 20 * ms, 10 * ms]), Float64Array.from([1 * ms, 22 * ms, 23 * ms])), (1 * ms) / 16 + (11 * ms - (1 * ms) / 16) / 16);
});

test('a UDP stream\'s refusals name the option: a datagram shorter than its header, --reverse, a server option on the client', (t) => {
  const refused = (o: Record<string, unknown>) => {
    try {
      checkNetOptions('stream', { proto: 'udp', connect: '127.0.0.1:9', ...o });
    } catch (e) {
      return e as IsoprobeError;
    }
    return undefined;
  };
  t.like(refused({ size: 31 }), { option: 'size', message: '--size 31: UDP stream datagrams carry a 32-byte header; expected at least 32' });
  t.like(refused({ reverse: true }), { option: 'reverse' });
  t.like(refused({ drop_every: 2 }), { option: 'drop_every', message: '--drop-every: a server option (net serve)' });
  t.is(refused({ size: 32 }), undefined, 'exactly the header is a datagram');
  t.is(checkNetOptions('stream', { proto: 'udp', connect: '127.0.0.1:9' }).size, 1472, 'a UDP stream\'s size: a 1500-byte MTU\'s payload');
  t.is(checkNetOptions('stream', { connect: '127.0.0.1:9' }).size, 128 * 1024, 'a TCP stream\'s: 128k');
  t.is(checkNetOptions('serve', { proto: 'udp', drop_every: 3 }).drop_every, 3, 'the server takes it');
});
