// Side-by-side with sockperf (TCP ping-pong, full RTT) and iperf3 (TCP stream) on loopback,
// interleaved in one process tree. `npm run bench:net` (BENCH_REPS, BENCH_SECONDS to change).
import { spawn } from 'node:child_process';

import { runNet, spawnEchoServer } from '../lib/probe/net';
import { interleave, machine, median, ratioLine, run, saveResults } from './common';

const REPS = Number(process.env.BENCH_REPS || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
let port = 21000 + (process.pid % 5000);

interface Rr { tps: number; mean: number; p50: number; p99: number; cpu?: number }

async function withServer<T>(cmd: string, args: string[], f: () => Promise<T>): Promise<T> {
  const srv = spawn(cmd, args, { stdio: 'ignore' });
  const closed = new Promise((r) => srv.once('close', r));  // iperf3 -s -1 may exit on its own
  await new Promise((r) => setTimeout(r, 400));
  try {
    return await f();
  } finally {
    srv.kill('SIGTERM');
    await closed;
  }
}

async function sockperf(): Promise<Rr> {
  const p = ++port;
  return withServer('sockperf', ['sr', '--tcp', '-i', '127.0.0.1', '-p', String(p)], async () => {
    const r = await run('sockperf', ['pp', '--tcp', '-i', '127.0.0.1', '-p', String(p), '-m', '64', '-t', String(SECONDS + 1), '--full-rtt']);
    const text = r.stdout + r.stderr;
    const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=\d+; ReceivedMessages=(\d+)/.exec(text);
    const pct = (q: string) => Number(new RegExp(`percentile ${q} =\\s+([\\d.]+)`).exec(text)![1]) * 1000;
    if (!valid) throw new Error(`sockperf printed no result:\n${text}`);
    return { tps: Number(valid[2]) / Number(valid[1]), mean: Number(/avg-rtt=([\d.]+)/.exec(text)![1]) * 1000, p50: pct('50.000'), p99: pct('99.000') };
  });
}

async function isoRr(): Promise<Rr> {
  const server = await spawnEchoServer({});
  try {
    const r = await runNet('rr', { connect: server.address, size: 64, duration: `${SECONDS}s`, warmup: '1s' }, { via: 'binary' });
    return { tps: r.tps!, mean: r.latency_ns!.mean, p50: r.latency_ns!.percentiles['50']!, p99: r.latency_ns!.percentiles['99']!, cpu: r.cpu.per_transaction_ns! };
  } finally {
    await server.stop();
  }
}

async function iperf3(): Promise<number> {
  const p = ++port;
  return withServer('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(p)], async () => {
    const r = await run('iperf3', ['-c', '127.0.0.1', '-p', String(p), '-t', String(SECONDS), '-O', '1', '-l', '128K', '-J']);
    return JSON.parse(r.stdout).end.sum_sent.bits_per_second as number;
  });
}

async function isoStream(): Promise<number> {
  const server = await spawnEchoServer({});
  try {
    const r = await runNet('stream', { connect: server.address, size: '128k', duration: `${SECONDS}s`, warmup: '1s' }, { via: 'binary' });
    return r.bits_per_s!;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`isoprobe vs sockperf / iperf3 on loopback, ${REPS} interleaved pairs of ${SECONDS} s`);
  console.log(`machine: ${machine()}\n`);
  console.log(`${'metric'.padEnd(52)} ${'isoprobe'.padStart(12)} ${'peer'.padStart(12)} ${'ratio'.padStart(7)}  goal`);
  const rr = await interleave(REPS, isoRr, sockperf);
  const m = (xs: Rr[], k: keyof Rr) => median(xs.map((x) => x[k] as number));
  const lines = [
    ratioLine('TCP RR 64 B full RTT mean ns (isoprobe / sockperf)', m(rr.a, 'mean'), m(rr.b, 'mean'), '<= 1.00', m(rr.a, 'mean') <= m(rr.b, 'mean')),
    ratioLine('TCP RR 64 B full RTT p50 ns', m(rr.a, 'p50'), m(rr.b, 'p50'), '<= 1.00', m(rr.a, 'p50') <= m(rr.b, 'p50')),
    ratioLine('TCP RR 64 B transactions/s', m(rr.a, 'tps'), m(rr.b, 'tps'), '>= 1.00', m(rr.a, 'tps') >= m(rr.b, 'tps')),
    `${'TCP RR 64 B p99 ns (reported, no goal)'.padEnd(52)} ${m(rr.a, 'p99').toFixed(1).padStart(12)} ${m(rr.b, 'p99').toFixed(1).padStart(12)} ${(m(rr.a, 'p99') / m(rr.b, 'p99')).toFixed(3).padStart(7)}`,
    `${'probe CPU per transaction, ns (client)'.padEnd(52)} ${m(rr.a, 'cpu').toFixed(1).padStart(12)}`,
  ];
  lines.forEach((l) => console.log(l));
  const st = await interleave(REPS, isoStream, iperf3);
  const a = median(st.a) / 1e9;
  const b = median(st.b) / 1e9;
  const l = ratioLine('TCP stream 128 KiB, 1 stream, Gbit/s (isoprobe / iperf3)', a, b, '>= 1.00', a >= b);
  console.log(l);
  lines.push(l);
  console.log(`\nraw samples: ${saveResults('net', { machine: machine(), reps: REPS, seconds: SECONDS, rr, stream: st, lines })}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
