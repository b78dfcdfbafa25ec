// The knee against a capacity the test sets: an echo server written here (plain node:net, in its
// own process) serves one request at a time with a 1 ms busy service time, so it answers at most
// 1,000 requests/s. An open-loop rate sweep of isoprobe's client against it must put the knee
// (stats/knee.ts: the highest throughput whose p99 stays within 2x of the lowest) within 15 %
// below that capacity, and the p99 must rise past it as requests queue.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';

import { runNet } from '../../lib/probe/net';
import { kneeIndex } from '../../lib/stats/knee';

const SERVICE_US = 1000;
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
    buf = Buffer.concat([buf, d]);
    while (buf.length >= SIZE) {
      const m = buf.subarray(0, SIZE);
      buf = buf.subarray(SIZE);
      const until = process.hrtime.bigint() + SERVICE;
      while (process.hrtime.bigint() < until) {}
      c.write(Buffer.from(m));
    }
  });
  c.on('error', () => {});
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

const taskset = spawnSync('taskset', ['--version']).status === 0;

test.serial(`an open-loop rate sweep against a server of ${CAPACITY} req/s capacity: the knee within 15 % below it, the p99 rising past it`, async (t) => {
  // The server on the last CPU, the client on the first, where taskset can place them.
  const cmd = taskset ? ['taskset', '-c', '1', process.execPath] : [process.execPath];
  const child = spawn(cmd[0]!, [...cmd.slice(1), '-e', SERVER, String(SERVICE_US)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    });
    const rates = [300, 600, 800, 900, 950, 1100, 1300];
    const points: { rate: number; throughput: number; p99: number }[] = [];
    for (const rate of rates) {
      const r = await runNet('rr', { connect: `127.0.0.1:${port}`, size: 64, rate, duration: '2s', warmup: '300ms', timeout: '10s', ...(taskset ? { cpus: '0' } : {}) });
      t.is(r.errors.mismatches, 0);
      points.push({ rate, throughput: r.tps!, p99: r.latency_ns!.percentiles['99']! });
    }
    t.log(points.map((p) => `${p.rate}/s: ${Math.round(p.throughput)} tx/s, p99 ${(p.p99 / 1e6).toFixed(2)} ms`).join('; '));
    const k = kneeIndex(points)!;
    const knee = points[k]!;
    t.log(`knee at ${Math.round(knee.throughput)} tx/s (offered ${knee.rate}/s)`);
    t.true(knee.throughput >= 0.85 * CAPACITY && knee.throughput <= CAPACITY, `knee ${Math.round(knee.throughput)} tx/s: within 15 % below ${CAPACITY}`);
    const past = points.filter((p) => p.rate > CAPACITY);
    t.true(past.every((p) => p.p99 > 10 * knee.p99), `past capacity the p99 rises: ${past.map((p) => (p.p99 / 1e6).toFixed(1)).join(', ')} ms against ${(knee.p99 / 1e6).toFixed(2)} ms at the knee`);
    t.true(past.every((p) => p.throughput <= 1.02 * CAPACITY), 'and the throughput stays at the capacity');
  } finally {
    child.kill('SIGKILL');
  }
});
