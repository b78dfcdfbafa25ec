// The probe's latencies against independent references, with upper and lower bounds:
// - network: an echo server written here, in its own process, that busy-waits a known time
//   before each reply; the probe's p50 must rise by that time (within a stated band);
// - block: fio's clat p50 on the same file, in interleaved pairs, so the machine's drift falls on
//   both tools and the tolerance can stay tight.
// Timing tests run in a phase of their own (npm test: ava, then ava.timing.config.cjs), with no
// other test file competing for this machine's two CPUs.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { runBlock } from '../../lib/probe/block';
import { runNet } from '../../lib/probe/net';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

// A TCP echo server that holds every reply `delayUs` after the request arrived: it sleeps (a
// futex wait, not the event loop's timers and their slack) until 1 ms before the deadline (its wake-up
// can be a few hundred us late on a VM) and
// busy-waits the rest, so it is exact without holding a CPU for the whole delay. Not isoprobe's
// code: plain node:net.
const DELAY_SERVER = `
const net = require('node:net');
const delayNs = BigInt(process.argv[1]) * 1000n;
const cell = new Int32Array(new SharedArrayBuffer(4));
const s = net.createServer((c) => {
  c.setNoDelay(true);
  c.on('data', (d) => {
    const until = process.hrtime.bigint() + delayNs;
    const sleepMs = Number(delayNs - 1000000n) / 1e6;
    if (sleepMs > 0) Atomics.wait(cell, 0, 0, sleepMs);
    while (process.hrtime.bigint() < until) {}
    c.write(d);
  });
  c.on('error', () => {});
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

async function withDelayServer<T>(delayUs: number, fn: (port: number) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['-e', DELAY_SERVER, String(delayUs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      child.once('exit', (code) => reject(new Error(`the delay server exited with ${code}`)));
    });
    return await fn(port);
  } finally {
    child.kill('SIGKILL');
  }
}

async function p50Through(delayUs: number): Promise<number> {
  return withDelayServer(delayUs, async (port) => {
    const r = await runNet('rr', { connect: `127.0.0.1:${port}`, size: 64, duration: '1s', warmup: '200ms' });
    if (r.errors.mismatches !== 0) throw new Error('echo mismatches');
    return r.latency_ns!.percentiles['50']!;
  });
}

test.serial('TCP RR p50 rises by exactly the delay a server of our own adds: within 10 % + 25 us of it, never below', async (t) => {
  // The server's own round trip with no delay, then with two delays; pairs alternate the order.
  const base: number[] = [];
  for (const delayUs of [300, 2000]) {
    const [first, second] = delayUs === 300 ? [0, delayUs] : [delayUs, 0];
    const a = await p50Through(first);
    const b = await p50Through(second);
    const zero = first === 0 ? a : b;
    const delayed = first === 0 ? b : a;
    base.push(zero);
    const added = delayed - zero;
    const d = delayUs * 1000;
    t.true(delayed >= d, `p50 ${delayed} ns with a ${delayUs} us delay: below the delay itself`);
    t.true(added >= 0.9 * d - 25_000 && added <= 1.1 * d + 25_000,
      `a ${delayUs} us delay added ${(added / 1000).toFixed(1)} us to the p50 (${(zero / 1000).toFixed(1)} -> ${(delayed / 1000).toFixed(1)} us)`);
    t.log(`delay ${delayUs} us: p50 ${(zero / 1000).toFixed(1)} -> ${(delayed / 1000).toFixed(1)} us, added ${(added / 1000).toFixed(1)} us`);
  }
  // The undelayed server answers in tens of microseconds here: a p50 of 0 or of milliseconds would be a broken clock.
  for (const b of base) t.true(b > 1_000 && b < 1_000_000, `undelayed p50 ${b} ns`);
});

const fioMissing = spawnSync('fio', ['--version']).status === 0 ? undefined : 'fio is not installed (Debian package fio; scripts/setup.sh bench installs it)';

(fioMissing ? test.serial.skip : test.serial)(`4 KiB O_DIRECT QD1 randread p50 agrees with fio's clat p50 on the same file: median of 4 interleaved pair ratios within 0.85-1.15${fioMissing ? ` [skipped: ${fioMissing}]` : ''}`, async (t) => {
  const file = join(tmp.dir, 'fio.dat');
  const size = '256M';
  await runBlock({ file, size, engine: 'null', ops: 1, warmup: '0ns' });
  const iso = async () => (await runBlock({ file, size, pattern: 'randread', bs: '4k', direct: true, duration: '1s', warmup: '200ms' }, { via: 'binary' })).latency_ns.percentiles['50']!;
  const fio = async () => {
    const r = spawnSync('fio', ['--name=ref', `--filename=${file}`, `--size=${size}`, '--rw=randread', '--bs=4k', '--direct=1', '--ioengine=psync', '--iodepth=1',
      '--runtime=1', '--time_based', '--ramp_time=200ms', '--output-format=json', '--norandommap', '--randrepeat=0', '--invalidate=1'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`fio failed: ${r.stderr}`);
    const read = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0].read;
    return read.clat_ns.percentile['50.000000'] as number;
  };
  const ratios: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [a, b] = i % 2 ? [await fio(), await iso()] : [await iso(), await fio()];
    const [ours, theirs] = i % 2 ? [b, a] : [a, b];
    ratios.push(ours / theirs);
    t.log(`pair ${i + 1}: isoprobe p50 ${(ours / 1000).toFixed(1)} us, fio clat p50 ${(theirs / 1000).toFixed(1)} us`);
  }
  ratios.sort((x, y) => x - y);
  const med = (ratios[1]! + ratios[2]!) / 2;
  t.true(med >= 0.85 && med <= 1.15, `median ratio isoprobe/fio ${med.toFixed(3)} (pairs ${ratios.map((r) => r.toFixed(3)).join(', ')})`);
});
