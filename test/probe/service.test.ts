// The planted service time of the echo server (--service; the variant setting service=) that the
// detection-power bench compares against: every reply waits at least that long, so a closed-loop
// client's every round trip does too (a lower bound that load can only raise), and without it the
// same client is faster than that. Refused where it means nothing.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { runNet, startEchoServer } from '../../lib/probe/net';
import { parseVariant } from '../../lib/targets/variant';

const CLI = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');

test('every reply of a server with --service 2ms waits 2 ms at least; the same server without it answers sooner', async (t) => {
  const rr = async (service?: string) => {
    const s = startEchoServer(service ? { service } : {});
    try {
      return await runNet('rr', { connect: s.address, size: 64, duration: '300ms', warmup: '0ns' });
    } finally {
      await s.stop();
    }
  };
  const planted = await rr('2ms');
  const plain = await rr();
  t.true(planted.latency_ns!.min >= 2e6, `min ${planted.latency_ns!.min} ns with a 2 ms service time`);
  t.true(planted.transactions <= 0.3 / 2e-3 + 1, `${planted.transactions} round trips in 300 ms at 2 ms each`);
  t.true(plain.latency_ns!.percentiles['50']! < planted.latency_ns!.min, 'the service time is what made it slower');
});

test('the variant setting: host[service=5us] gives the server 5000 ns; a target without that server refuses it', (t) => {
  t.is(parseVariant('host[service=5us]').spec.echoService, 5000);
  t.is(parseVariant('runc[service=1ms]').spec.echoService, 1e6);
  t.throws(() => parseVariant('qemu-microvm[service=1us]'), { message: /qemu-microvm has no setting "service"/ });
  const r = spawnSync(process.execPath, [CLI, 'net', 'rr', '--loopback', '--service', '1ms'], { encoding: 'utf8' });
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /--service: a server option \(net serve\)/);
});

test('run --target host[service=2ms] net rr: the echo server isoprobe starts takes the planted time', (t) => {
  const r = spawnSync(process.execPath, [CLI, 'run', '--target', 'host[service=2ms]', 'net', 'rr', '--duration', '300ms', '--warmup', '0ns', '--json'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { latency_ns: { min: number } };
  t.true(j.latency_ns.min >= 2e6, `min ${j.latency_ns.min} ns`);
});
