// The network probe's timing on loopback, each bound taken from a reference measured in the same
// test: a stream's throughput against a round-trip loop's on the same loopback, and a closed loop
// that meets a server stall against the same loop with no stall. (What follows from the loops'
// rules and the injected stall stays in the main phase: test/probe/net.test.ts.)
import test from 'ava';

import { runNet, runNetLoopback, startEchoServer } from '../../lib/probe/net';
import type { NetResult } from '../../lib/probe/types';

const bytesPerS = (r: NetResult) => (r.bytes_sent * 1e9) / r.elapsed_ns;

// A round trip moves one 64-byte message and waits for its echo: two wake-ups per 64 bytes. A
// stream hands the socket 128 KiB per send and never waits for the peer's reply: three orders of
// magnitude more bytes per system call and per wake-up. At a tenth of that ratio, only a stream
// that waited for something per send (or sent tiny pieces) fails.
test.serial('a stream moves at least 10x the bytes per second of a 64-byte round-trip loop on the same loopback (interleaved pairs)', async (t) => {
  const ratios: number[] = [];
  for (let i = 0; i < 2; i++) {
    const rr = await runNetLoopback('rr', { size: 64, duration: '500ms', warmup: '100ms' });
    const stream = await runNetLoopback('stream', { duration: '500ms', warmup: '100ms' });
    ratios.push(bytesPerS(stream) / bytesPerS(rr));
    t.log(`pair ${i + 1}: rr ${(bytesPerS(rr) / 1e6).toFixed(2)} MB/s (${rr.transactions} transactions), stream ${(bytesPerS(stream) / 1e6).toFixed(0)} MB/s`);
  }
  for (const r of ratios) t.true(r >= 10, `stream / rr bytes per second: ${ratios.map((x) => x.toFixed(0)).join(', ')}`);
});

async function closedThrough(stall: { stall_after?: number; stall?: string }): Promise<NetResult> {
  const s = startEchoServer(stall);
  try {
    return await runNet('rr', { connect: s.address, size: 64, duration: '1s', warmup: '0ns' });
  } finally {
    await s.stop();
  }
}

// In a closed loop the stall holds one transaction; the others run as they would with no stall, so
// the stalled run's p90 is a round trip of this machine now. Reference: the same loop with no stall,
// just before and just after; the larger of the two, tripled plus 1 ms, bounds it (p90s of two
// 1 s runs on a shared machine differ by less; the stall itself would put p90 near 300 ms).
test.serial('closed loop hides a server stall from p90 (against the same loop with no stall); open loop shows it', async (t) => {
  const before = await closedThrough({});
  const stalled = await closedThrough({ stall_after: 100, stall: '300ms' });
  const after = await closedThrough({});
  const ref = Math.max(before.latency_ns!.percentiles['90']!, after.latency_ns!.percentiles['90']!);
  const p90 = stalled.latency_ns!.percentiles['90']!;
  const s = startEchoServer({ stall_after: 100, stall: '300ms' });
  let open: NetResult;
  try {
    open = await runNet('rr', { connect: s.address, rate: 1000, size: 64, duration: '1s', warmup: '0ns' });
  } finally {
    await s.stop();
  }
  const openP90 = open.latency_ns!.percentiles['90']!;
  t.log(`closed-loop p90: no stall ${before.latency_ns!.percentiles['90']} and ${after.latency_ns!.percentiles['90']} ns, with the stall ${p90} ns (max ${stalled.latency_ns!.max} ns); open-loop p90 with the stall ${openP90} ns`);
  t.true(stalled.latency_ns!.max >= 250e6, 'the stall was met');
  t.true(p90 <= 3 * ref + 1e6, `closed-loop p90 ${p90} ns with the stall, ${ref} ns without`);
  t.true(openP90 >= 5 * p90, `open-loop p90 ${openP90} ns against closed-loop ${p90} ns`);
});
