// The RR split against a service time planted in an echo server that is not isoprobe's: a plain
// Node.js server on loopback that spins a known time before each reply and measures its own
// service time; the split's server layer must move by what that server measured, the host path
// and the boundary not (bounds: a tenth of the planted time, the same test's own reference).
import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { probeBinaryPath } from '../../lib/paths';
import type { NetResult } from '../../lib/probe/types';
import { traceUnavailable } from '../../lib/trace/available';
import { attributeNet, type NetAttribution } from '../../lib/trace/net-attribution';
import { NetTrace, netnsInode } from '../../lib/trace/net-tracer';
import { isRoot, testIf, why } from '../helpers';

// Echoes each 64-byte request after spinning SPIN_NS; prints its port, then, when stdin ends, the
// mean of its own service times (the data's arrival in JS to the write's call).
const SERVER = `const spin = BigInt(process.argv[1]); let n = 0, sum = 0n;
const s = require('node:net').createServer((c) => { let buf = Buffer.alloc(0);
  c.setNoDelay(true); c.on('error', () => {});
  c.on('data', (d) => { buf = Buffer.concat([buf, d]);
    while (buf.length >= 64) { const t0 = process.hrtime.bigint(); while (process.hrtime.bigint() - t0 < spin);
      const req = buf.subarray(0, 64); buf = buf.subarray(64); sum += process.hrtime.bigint() - t0; n++; c.write(req); } }); });
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));
process.stdin.on('end', () => { process.stdout.write(JSON.stringify({ mean_ns: n ? Number(sum) / n : 0, n }) + '\\n'); process.exit(0); });
process.stdin.resume();`;

async function tracedAgainst(spinNs: number): Promise<{ a: NetAttribution; ownMeanNs: number }> {
  const trace = await NetTrace.start({ netnsInode: netnsInode('/proc/self/ns/net'), loopback: true, describe: 'lo' });
  const server = spawn(process.execPath, ['-e', SERVER, String(spinNs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  const it = lines[Symbol.asyncIterator]();
  const port = Number((await it.next()).value);
  trace.addPids([server.pid!]);
  const marks: Record<string, number> = {};
  let out = '';
  const probe = spawn(probeBinaryPath(), ['net', 'rr', '--connect', `127.0.0.1:${port}`, '--size', '64', '--duration', '1s', '--warmup', '200ms', '--marks']);
  trace.addPids([probe.pid!]);
  probe.stdout.on('data', (d) => (out += d));
  createInterface({ input: probe.stderr }).on('line', (l) => {
    if (l.startsWith('{"mark"')) {
      const m = JSON.parse(l) as { mark: string; t_ns: number };
      marks[m.mark] = m.t_ns;
    }
  });
  await new Promise((resolve) => probe.once('close', resolve));
  server.stdin.end();
  const own = JSON.parse(String((await it.next()).value)) as { mean_ns: number };
  const w = await trace.stop();
  const r = JSON.parse(out) as NetResult;
  const a = attributeNet(w, r, { window: { open: marks['measure-start']!, close: marks['measure-end']!, source: 'probe marks' }, device: 'lo', loopback: true });
  if ('unavailable' in a) throw new Error(a.unavailable);
  return { a, ownMeanNs: own.mean_ns };
}

const skip = isRoot ? traceUnavailable() : 'tracing needs root';
const PLANTED_NS = 500_000;

testIf(skip, test)('a service time planted in an echo server moves the server layer by what that server measured (± 10 %), not the host path nor the boundary' + why(skip), async (t) => {
  const base = await tracedAgainst(0);
  const slow = await tracedAgainst(PLANTED_NS);
  const planted = slow.ownMeanNs - base.ownMeanNs;
  t.true(planted > PLANTED_NS * 0.9, `the server's own service time rose by ${planted} ns`);
  const moved = slow.a.layers.server_ns.mean - base.a.layers.server_ns.mean;
  t.true(Math.abs(moved - planted) <= 0.1 * planted, `server layer +${moved.toFixed(0)} ns, the server's own +${planted.toFixed(0)} ns`);
  const hostPath = slow.a.layers.host_path_ns.p50 - base.a.layers.host_path_ns.p50;
  const boundary = slow.a.layers.boundary_ns.p50 - base.a.layers.boundary_ns.p50;
  t.true(Math.abs(hostPath) <= 0.1 * planted, `host path p50 moved ${hostPath} ns`);
  t.true(Math.abs(boundary) <= 0.1 * planted, `boundary p50 moved ${boundary} ns`);
  t.true(base.a.matched > 0 && slow.a.matched > 0);
  t.log(`planted +${planted.toFixed(0)} ns (server's own), server layer +${moved.toFixed(0)} ns, host path p50 ${hostPath} ns, boundary p50 ${boundary} ns`);
});
