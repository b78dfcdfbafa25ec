// The probe's per-operation log (--op-log): each job's first N measured operations with their
// offset, length, start and latency, checked against what is known without the log: the offsets a
// sequential run must visit, and the run's own exact histogram sums when every operation is logged.
import test from 'ava';
import { join } from 'node:path';

import { runBlock } from '../../lib/probe/block';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

for (const via of ['addon', 'binary'] as const) {
  test(`a sequential run logs the offsets it must visit, in order (${via})`, async (t) => {
    const r = await runBlock({ file: join(tmp.dir, `seq-${via}`), size: '1M', offset: '64k', bs: '4k', pattern: 'read', ops: 600, warmup: 0, op_log: 500 }, { via });
    const log = r.op_log!;
    t.is(log.ops, 500);
    t.is(log.per_job, 500);
    // 256 blocks from 64k, round and round: block i of the measured phase is i mod 256.
    t.deepEqual(log.offset, Array.from({ length: 500 }, (_, i) => 65536 + (i % 256) * 4096));
    t.true(log.len.every((l) => l === 4096));
    t.true(log.start_ns.every((s, i) => i === 0 || s >= log.start_ns[i - 1]!), 'started in order');
    t.is(log.job, undefined);
    t.is(log.write, undefined);
  });
}

test('when every operation is logged, the log holds exactly the run\'s latencies', async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'all'), size: '4M', ops: 3000, warmup: 0, op_log: 100000 });
  const log = r.op_log!;
  t.is(log.ops, r.ops);
  t.is(log.lat_ns.reduce((a, b) => a + b, 0), r.latency_ns.histogram.sum);
  t.is(Math.min(...log.lat_ns), r.latency_ns.min);
  t.is(Math.max(...log.lat_ns), r.latency_ns.max);
  t.true(log.offset.every((o) => o % 4096 === 0 && o < 4 * 2 ** 20));
});

test('jobs and mixed reads and writes say whose and which each logged operation is', async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'mix'), size: '4M', pattern: 'randrw', jobs: 2, split: true, ops: 400, warmup: 0, op_log: 400, destructive: true });
  const log = r.op_log!;
  t.is(log.ops, 800);
  t.deepEqual([...new Set(log.job)], [0, 1]);
  t.is(log.job!.filter((j) => j === 0).length, 400);
  // --split: job 1's slice is the region's second half.
  t.true(log.offset.every((o, i) => (log.job![i] === 0 ? o < 2 * 2 ** 20 : o >= 2 * 2 ** 20)));
  t.is(log.write!.filter((w) => w === 1).length, r.write!.ops);
});

test('without --op-log the result has no log', async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'none'), size: '1M', ops: 10, warmup: 0 });
  t.is(r.op_log, undefined);
  t.is(r.options.op_log, 0);
});
