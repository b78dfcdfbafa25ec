// Side-by-side with sockperf (TCP ping-pong, full RTT) and iperf3 (TCP stream; UDP stream with -u)
// on loopback, interleaved in one process tree. `npm run bench:net` (BENCH_REPS, BENCH_SECONDS to
// change; BENCH_ONLY=udp runs the UDP stream pairs alone, BENCH_UDP_RATE its datagrams/s).
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

// A UDP stream at one rate and size, counted by the receiver: datagrams/s received and the share
// of those sent that arrived (1 - loss), so a loss-free run of each is a ratio of 1.
interface Udp { pps: number; delivered: number; jitter_ns: number; sent_pps: number }
const UDP_SIZE = 1024;
const UDP_RATE = Number(process.env.BENCH_UDP_RATE || 20000);

async function iperf3Udp(): Promise<Udp> {
  const p = ++port;
  return withServer('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(p)], async () => {
    // -b is payload bits/s: the same datagrams/s as isoprobe's --rate at this size.
    const r = await run('iperf3', ['-c', '127.0.0.1', '-p', String(p), '-u', '-b', String(UDP_RATE * UDP_SIZE * 8), '-l', String(UDP_SIZE), '-t', String(SECONDS), '-O', '1', '-J']);
    const s = JSON.parse(r.stdout).end.sum_received as { seconds: number; packets: number; lost_packets: number; jitter_ms: number };
    const received = s.packets - s.lost_packets;
    return { pps: received / s.seconds, delivered: s.packets ? received / s.packets : 0, jitter_ns: s.jitter_ms * 1e6, sent_pps: s.packets / s.seconds };
  });
}

async function isoUdp(): Promise<Udp> {
  const server = await spawnEchoServer({ proto: 'udp' });
  try {
    const r = await runNet('stream', { connect: server.address, proto: 'udp', rate: UDP_RATE, size: UDP_SIZE, duration: `${SECONDS}s`, warmup: '1s' }, { via: 'binary' });
    const u = r.udp_stream!;
    return { pps: u.pps, delivered: 1 - u.loss, jitter_ns: u.jitter_ns, sent_pps: u.sent_pps };
  } finally {
    await server.stop();
  }
}

async function udpLines(): Promise<{ lines: string[]; samples: { a: Udp[]; b: Udp[] } }> {
  const u = await interleave(REPS, isoUdp, iperf3Udp);
  const m = (xs: Udp[], k: keyof Udp) => median(xs.map((x) => x[k]));
  const what = `UDP stream ${UDP_SIZE} B at ${UDP_RATE}/s`;
  const lines = [
    ratioLine(`${what}: received datagrams/s (isoprobe / iperf3 -u)`, m(u.a, 'pps'), m(u.b, 'pps'), '>= 0.97', m(u.a, 'pps') / m(u.b, 'pps') >= 0.97),
    ratioLine(`${what}: share delivered, 1 - loss`, m(u.a, 'delivered'), m(u.b, 'delivered'), '>= 0.97', m(u.a, 'delivered') / m(u.b, 'delivered') >= 0.97),
    `${`${what}: sent datagrams/s (reported, no goal)`.padEnd(52)} ${m(u.a, 'sent_pps').toFixed(1).padStart(12)} ${m(u.b, 'sent_pps').toFixed(1).padStart(12)} ${(m(u.a, 'sent_pps') / m(u.b, 'sent_pps')).toFixed(3).padStart(7)}`,
    `${`${what}: RFC 3550 jitter ns (reported, no goal)`.padEnd(52)} ${m(u.a, 'jitter_ns').toFixed(1).padStart(12)} ${m(u.b, 'jitter_ns').toFixed(1).padStart(12)} ${(m(u.a, 'jitter_ns') / m(u.b, 'jitter_ns')).toFixed(3).padStart(7)}`,
  ];
  return { lines, samples: u };
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'udp') {
    console.log(`isoprobe vs iperf3 -u on loopback, ${REPS} interleaved pairs of ${SECONDS} s\nmachine: ${machine()}\n`);
    const udp = await udpLines();
    udp.lines.forEach((l) => console.log(l));
    console.log(`\nraw samples: ${saveResults('net-udp', { machine: machine(), reps: REPS, seconds: SECONDS, size: UDP_SIZE, rate: UDP_RATE, udp: udp.samples, lines: udp.lines })}`);
    return;
  }
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
  const udp = await udpLines();
  udp.lines.forEach((x) => console.log(x));
  lines.push(...udp.lines);
  console.log(`\nraw samples: ${saveResults('net', { machine: machine(), reps: REPS, seconds: SECONDS, rr, stream: st, udp: udp.samples, lines })}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
