// Parallel block jobs (--jobs, --split, --cpus): each job its own slice and CPU, the merged
// histogram exactly the sum of the jobs' own, verification per slice, and bad combinations
// refused with the option named. (The IOPS of two jobs against one: test/timing/jobs.test.ts.)
import test from 'ava';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { runBlock } from '../../lib/probe/block';
import { tempDir, testIf, why } from '../helpers';
import { allowedCpus, ioUringSkip } from '../machine';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** Bucket counts as a map, summed over histograms: the union of the jobs' samples as buckets. */
function bucketSum(hs: { buckets: [number, number][] }[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const h of hs) for (const [i, c] of h.buckets) m.set(i, (m.get(i) ?? 0) + c);
  return m;
}

/** Nearest-rank percentile over bucket counts, as the index of the bucket holding that rank. */
function rankBucket(m: Map<number, number>, p: number): number {
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [i, c] of [...m.entries()].sort((a, b) => a[0] - b[0])) {
    seen += c;
    if (seen >= rank) return i;
  }
  return -1;
}

test('two jobs on split slices: the merged histogram is the sum of both jobs\' buckets, its percentiles those of the union', async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'jobs.dat'), engine: 'psync', size: '8M', jobs: 2, split: true, duration: '300ms', warmup: '50ms' });
  const jobs = r.jobs!;
  t.is(jobs.length, 2);
  t.deepEqual(jobs.map((j) => [j.offset, j.size]), [[0, 4 << 20], [4 << 20, 4 << 20]], 'each job its own half');
  t.true(jobs.every((j) => j.ops > 0), `ops per job ${jobs.map((j) => j.ops)}`);
  t.is(r.ops, jobs[0]!.ops + jobs[1]!.ops);
  t.is(r.latency_ns.count, jobs[0]!.latency_ns.count + jobs[1]!.latency_ns.count);
  const union = bucketSum(jobs.map((j) => j.latency_ns.histogram!));
  t.deepEqual(r.latency_ns.histogram!.buckets, [...union.entries()].sort((a, b) => a[0] - b[0]), 'bucket by bucket');
  t.is(r.latency_ns.min, Math.min(...jobs.map((j) => j.latency_ns.min)));
  t.is(r.latency_ns.max, Math.max(...jobs.map((j) => j.latency_ns.max)));
  for (const p of ['50', '99', '99.9'] as const) {
    const v = r.latency_ns.percentiles[p]!;
    t.is(bucketOf(v), rankBucket(union, Number(p)), `p${p} ${v} ns: in the bucket of the union's nearest rank`);
  }
  t.is(r.series.reduce((s, p) => s + p.ops, 0), r.ops, 'the merged series adds up');
  t.deepEqual(r.cpu_placement!.pinned, []);
  t.true(r.cpu_placement!.ran_on.length >= 1);
});

/** The bucket of a value under the scheme each histogram states (log-linear, 7 sub-bucket bits). */
function bucketOf(v: number): number {
  if (v < 128) return v;
  const e = Math.floor(Math.log2(v));
  return 128 + (e - 7) * 128 + (Math.floor(v / 2 ** (e - 7)) - 128);
}

// Two CPUs this process may use, the second first (so the list's order shows), or the one it may
// use for both jobs: the list is taken round robin (a machine of one CPU, taskset -c N, a cpuset).
const mine = allowedCpus();
const pinList = mine.length >= 2 ? [mine[1]!, mine[0]!] : [mine[0]!];
const perJob = [pinList[0]!, pinList[1 % pinList.length]!];
test(`--cpus pins job i to the i-th CPU of the list, round robin, and each job ran where it was pinned (sched_getcpu): --cpus ${pinList.join(',')} of the CPUs this process may use, ${mine.join(',')}`, async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'pin.dat'), engine: 'null', size: '1M', jobs: 2, cpus: pinList.join(','), duration: '200ms', warmup: '0ns' }, { via: 'binary' });
  t.deepEqual(r.jobs!.map((j) => j.pinned), perJob);
  t.deepEqual(r.jobs!.map((j) => j.ran_on), perJob.map((c) => [c]));
  t.deepEqual(r.cpu_placement, { pinned: pinList, ran_on: pinList, samples: r.cpu_placement!.samples, changes_seen: 0 });
  t.true(r.cpu_placement!.samples >= 4, 'each job sampled at the start and the end of its window');
});

const uring = ioUringSkip();
testIf(uring, test)('--verify over split slices: every block of both slices read back and checked, none mismatched' + why(uring), async (t) => {
  const r = await runBlock({ file: join(tmp.dir, 'vsplit.dat'), engine: 'io_uring', qd: 4, pattern: 'randrw', verify: true, size: '2M', jobs: 2, split: true, duration: '200ms', warmup: '20ms' });
  t.is(r.verify.mismatches, 0);
  t.true(r.verify.blocks_checked >= 512, `checked ${r.verify.blocks_checked} (the read-back alone is 512)`);
  t.true(r.jobs!.every((j) => j.ops > 0));
});

const refusals: [string, Record<string, unknown>, string, RegExp][] = [
  ['verify without split', { verify: true, jobs: 2 }, 'verify', /needs --split/],
  ['a split slice under one block', { size: '8k', bs: '4k', jobs: 3, split: true }, 'split', /each job needs at least one/],
  ['--cpu and --cpus', { cpu: 0, cpus: '1' }, 'cpus', /give one of them/],
  ['a malformed list', { cpus: '0,,1' }, 'cpus', /expected CPU numbers/],
  ['a reversed range', { cpus: '3-1' }, 'cpus', /LOW <= HIGH/],
  ['a CPU this process may not use', { cpus: '4095' }, 'cpus', /may run on CPUs/],
];
for (const [what, o, option, message] of refusals) {
  test(`refused, naming --${option}: ${what}`, async (t) => {
    const e = await t.throwsAsync(runBlock({ file: join(tmp.dir, 'bad.dat'), engine: 'psync', size: '1M', duration: '50ms', warmup: '0ns', ...o }));
    t.is((e as IsoprobeError).option, option);
    t.regex(e!.message, message);
  });
}

test('jobs: vcpus (the core\'s --jobs 0) runs one job per CPU the probe may use', async (t) => {
  // The addon runs in this process: its affinity mask is the probe's (nproc would do, but for
  // OMP_NUM_THREADS, which it obeys).
  const allowed = allowedCpus();
  const r = await runBlock({ file: join(tmp.dir, 'vcpus.dat'), engine: 'null', size: '1M', jobs: 'vcpus' as never, duration: '100ms', warmup: '0ns' });
  t.is(r.options.jobs, 0);
  t.is(r.jobs?.length ?? 1, allowed.length, `this process may use CPUs ${allowed.join(',')}`);
});
