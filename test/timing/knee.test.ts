// The knee against a capacity the test sets: an echo server written here (plain node:net, in its
// own process) serves one request at a time with a 5 ms busy service time, so it answers at most
// 200 requests/s (a service time well above this VM's millisecond stalls, which near saturation
// otherwise queue a hundred requests behind them: with 2 ms the knee moved 400-475 between runs). An open-loop rate sweep of isoprobe's client against it must put the knee
// (stats/knee.ts: the highest throughput whose p99 stays within 2x of the lowest) within 15 %
// below that capacity, and the p99 must rise past it as requests queue. Each rate is measured three
// times, interleaved, and the medians taken, as isoprobe sweep does (a millisecond's stall of this
// VM near saturation is a queue that lasts a hundred requests: one run's p99 is noisy).
import test from 'ava';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

import { runNet } from '../../lib/probe/net';
import { kneeIndex } from '../../lib/stats/knee';

const SERVICE_US = 5000;
const CAPACITY = 1e6 / SERVICE_US;

// Messages are the probe's 64 bytes; each is answered SERVICE_US after its service began, in
// arrival order, one at a time (a busy wait: exact, and a server that is busy is the point).
const SERVER = `
const net = require('node:net');
const SIZE = 64, SERVICE = BigInt(process.argv[1]) * 1000n;
const s = net.createServer((c) => {
  c.setNoDelay(true);
  let buf = Buffer.alloc(0);
  c.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let at = 0;
    while (buf.length - at >= SIZE) {
      const until = process.hrtime.bigint() + SERVICE;
      while (process.hrtime.bigint() < until) {}
      c.write(buf.subarray(at, at + SIZE));
      at += SIZE;
    }
    buf = buf.subarray(at);
  });
  c.on('error', () => {});
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

const twoCpus = availableParallelism() >= 2;

test.serial(`an open-loop rate sweep against a server of ${CAPACITY} req/s capacity: the knee within 15 % below it, the p99 rising past it`, async (t) => {
  // The server busy-waits its service time: with V8's helper threads (GC, compilers) beside it on
  // one CPU, the scheduler hands them a slice mid-request (4 ms p99 at 150 req/s). --single-threaded
  // keeps V8 on the main thread; the client is pinned to the first CPU, the server left to the rest.
  const child = spawn(process.execPath, ['--single-threaded', '-e', SERVER, String(SERVICE_US)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    });
    const rates = [60, 120, 160, 180, 190, 220, 260];
    const runs = new Map<number, { served: number[]; p99: number[] }>(rates.map((r) => [r, { served: [], p99: [] }]));
    for (let rep = 0; rep < 3; rep++) {
      for (const rate of rep % 2 ? [...rates].reverse() : rates) {
        const r = await runNet('rr', { connect: `127.0.0.1:${port}`, size: 64, rate, duration: '3s', warmup: '300ms', timeout: '10s', ...(twoCpus ? { cpus: '0' } : {}) });
        t.is(r.errors.mismatches, 0);
        runs.get(rate)!.served.push(r.open_loop!.served_rate!);
        runs.get(rate)!.p99.push(r.latency_ns!.percentiles['99']!);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const points = rates.map((rate) => ({ rate, throughput: median(runs.get(rate)!.served), p99: median(runs.get(rate)!.p99) }));
    t.log(points.map((p) => `${p.rate}/s: served ${Math.round(p.throughput)}/s, p99 ${(p.p99 / 1e6).toFixed(2)} ms`).join('; '));
    const k = kneeIndex(points)!;
    const knee = points[k]!;
    // The capacity the server really had here: what it served when offered more than it can take
    // (its nominal 200/s where it has a CPU to itself; less beside other load on one CPU).
    const saturated = points.filter((p) => p.rate > CAPACITY).map((p) => p.throughput);
    const capacity = [...saturated].sort((a, b) => a - b)[saturated.length >> 1]!;
    t.log(`knee at ${Math.round(knee.throughput)} tx/s (offered ${knee.rate}/s); the server's capacity here ${Math.round(capacity)}/s (nominal ${CAPACITY})`);
    t.true(capacity <= 1.02 * CAPACITY && capacity >= 0.5 * CAPACITY, `the server served ${Math.round(capacity)}/s at saturation: at most its nominal ${CAPACITY}`);
    t.true(knee.throughput >= 0.85 * capacity && knee.throughput <= 1.02 * capacity, `knee ${Math.round(knee.throughput)} tx/s: within 15 % below the capacity ${Math.round(capacity)}/s`);
    t.true(knee.rate <= 1.02 * capacity, `the knee is a rate the server keeps up with (offered ${knee.rate}/s), not the most it served past saturation`);
    const past = points.filter((p) => p.rate > 1.05 * capacity);
    t.true(past.every((p) => p.p99 > 10 * knee.p99), `past capacity the p99 rises: ${past.map((p) => (p.p99 / 1e6).toFixed(1)).join(', ')} ms against ${(knee.p99 / 1e6).toFixed(2)} ms at the knee`);
    t.true(past.every((p) => p.throughput <= 1.05 * capacity && p.throughput >= 0.9 * capacity), `and what is served stays at the capacity: ${past.map((p) => Math.round(p.throughput)).join(', ')}/s`);
  } finally {
    child.kill('SIGKILL');
  }
});
