// `ab --run --where` as users run it: QEMU's aio=threads against aio=io_uring, traced on both sides,
// must flag the change in host system calls per operation of the roles that serve the disk (the I/O
// pool's pread and eventfd write against the vCPU's io_uring_enter) at the fewest repetitions the
// gate accepts, --unpaired (5 a side) and in ABBA pairs; an
// A/A (aio=threads both sides, labelled apart by a setting equal to its default) flags nothing.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Store } from '../../lib/store/db';
import type { AttributionField } from '../../lib/trace/attribution';
import { traceUnavailable } from '../../lib/trace/available';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = traceUnavailable() ?? targetSkips(['qemu-microvm']).get('qemu-microvm');

// QEMU runs under TCG here: short blocks of a small file, direct 4 KiB reads at QD1.
const suite = join(tmp.dir, 'qemu-block.yaml');
writeFileSync(suite, 'workloads:\n  - name: randread-4k\n    kind: block\n    options: { engine: psync, direct: true, size: 16M, duration: 1s, warmup: 200ms }\n');

interface Cell { workload: string; metric: string; verdict: string; baseline: number[]; candidate: number[]; change: { estimate: number } }
interface Gate { verdict: string; cells: Cell[]; notComparable: string[]; regressions: number; improvements: number; pairs?: number }

/**
 * Per side, the median over its stored results of one role's I/O calls and system calls per
 * operation (what the roles that serve the disk did: QEMU's pool workers with aio=threads).
 */
function roleCounts(name: string, role: string): Map<string, { io: number; syscalls: number }> {
  const store = new Store(join(tmp.dir, `${name}.db`));
  try {
    const id = store.runs(1)[0]!.id;
    const by = new Map<string, { io: number[]; syscalls: number[] }>();
    for (const row of store.results(id)) {
      const a = (JSON.parse(row.json) as { attribution?: AttributionField }).attribution;
      const rc = a && 'by_role' in a ? a.by_role[role as keyof typeof a.by_role] : undefined;
      const e = by.get(row.target) ?? { io: [], syscalls: [] };
      e.io.push(rc ? rc.io_calls + rc.uring_reqs : 0);
      e.syscalls.push(rc?.syscalls ?? 0);
      by.set(row.target, e);
    }
    return new Map([...by].map(([k, v]) => [k, { io: median(v.io), syscalls: median(v.syscalls) }]));
  } finally {
    store.close();
  }
}

/** aio=threads: QEMU's pool workers make the I/O calls (one a operation) and system calls around them; aio=io_uring: none. */
function poolServesDisk(t: import('ava').ExecutionContext, name: string): void {
  const pool = roleCounts(name, 'io-pool');
  t.log(`io-pool per op: ${[...pool].map(([k, v]) => `${k}: ${v.io.toFixed(2)} I/O calls, ${v.syscalls.toFixed(2)} syscalls`).join('; ')}`);
  t.true(Math.abs(pool.get(B)!.io - 1) <= 0.05, `${B}: the pool's I/O calls per op ${pool.get(B)!.io}`);
  t.true(pool.get(B)!.syscalls >= 2, `${B}: the pool's system calls per op ${pool.get(B)!.syscalls} (its pread and the completion's wake-up at least)`);
  t.true((pool.get(C)?.io ?? 0) < 0.05, `${C}: the pool's I/O calls per op ${pool.get(C)?.io}`);
}

function ab(name: string, baseline: string, candidate: string, mode: string[]): { g: Gate; code: number | null } {
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'ab', '--run', '--where', '--baseline', baseline, '--candidate', candidate,
    '--suite', suite, '--data-size', '16M', ...mode, '--json', '--db', join(tmp.dir, `${name}.db`)],
  { encoding: 'utf8', timeout: 600_000, env: { ...process.env, ISOPROBE_DATA_FILE: join(tmp.dir, `${name}.dat`) } });
  if (!r.stdout.trim().startsWith('{')) throw new Error(`ab ${name}: exit ${r.status}: ${r.stderr.slice(-2000)}`);
  return { g: JSON.parse(r.stdout) as Gate, code: r.status };
}

const median = (xs: number[]) => { const s = xs.filter(Number.isFinite).sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };
const cellOf = (g: Gate, m: string) => g.cells.find((c) => c.metric === m);
const show = (g: Gate) => g.cells.map((c) => `${c.metric} ${c.verdict} ${median(c.baseline).toPrecision(4)} -> ${median(c.candidate).toPrecision(4)}`).join('\n');

/**
 * The count cells are there (traced on both sides), and the system calls per operation of the
 * roles that served the disk moved as the counts did: QEMU's I/O pool (pread64, the eventfd write,
 * two futex) with aio=threads, the vCPU thread that submits with io_uring_enter with aio=io_uring.
 * The total over every traced thread is logged, not asserted: under TCG the vCPUs' futex calls
 * (the big lock) and the main loop's ppoll follow time, not operations, and swamp it.
 */
function flagsSyscalls(t: import('ava').ExecutionContext, g: Gate): void {
  t.log(show(g));
  for (const m of ['syscalls_per_op', 'io_calls_per_op', 'wakeups_per_op']) t.truthy(cellOf(g, m), `no ${m} cell: both sides traced? ${g.notComparable.join('; ')}`);
  const io = cellOf(g, 'io_roles_syscalls_per_op');
  t.truthy(io, `no io_roles_syscalls_per_op cell: ${g.notComparable.join('; ')}`);
  const [a, b] = [median(io!.baseline), median(io!.candidate)];
  // The reference: the counts themselves differ by more than the count threshold (2 %), and the
  // gate's verdict goes the way they moved (more calls: a regression).
  t.true(Math.abs(Math.log(b / a)) > Math.log(1.02), `the disk's roles' syscalls per op ${a} against ${b}`);
  t.is(io!.verdict, b < a ? 'improvement' : 'regression', `the disk's roles' syscalls per op ${a} -> ${b}`);
}

function flagsNothing(t: import('ava').ExecutionContext, g: Gate, code: number | null): void {
  t.log(show(g));
  for (const m of ['syscalls_per_op', 'io_roles_syscalls_per_op']) t.truthy(cellOf(g, m), `no ${m} cell: ${g.notComparable.join('; ')}`);
  t.is(g.regressions + g.improvements, 0, show(g));
  t.not(code, 1);
}

const B = 'qemu-microvm[aio=threads]';
const C = 'qemu-microvm[aio=io_uring]';
// The A/A's candidate: the same VM, host_cache=none being the default, under a label of its own.
const AA = 'qemu-microvm[aio=threads,host_cache=none]';
const UNPAIRED = ['--unpaired', '--reps', '5'];
// 7 pairs is the fewest that can reach p < 0.01; the budget lets TCG measure them.
const PAIRED = ['--block', '1s', '--block-warmup', '200ms', '--budget', '180s', '--precision', '50%', '--no-screen'];

testIf(skip, test.serial)('ab --run --unpaired --reps 5 --where: aio=threads against aio=io_uring flags the system calls per operation of the disk\'s roles' + why(skip), (t) => {
  flagsSyscalls(t, ab('unpaired-ab', B, C, UNPAIRED).g);
  poolServesDisk(t, 'unpaired-ab');
});

testIf(skip, test.serial)('ab --run --unpaired --reps 5 --where: an A/A of aio=threads flags nothing' + why(skip), (t) => {
  const { g, code } = ab('unpaired-aa', B, AA, UNPAIRED);
  flagsNothing(t, g, code);
});

testIf(skip, test.serial)('ab --run --where in ABBA pairs: aio=threads against aio=io_uring flags the system calls per operation of the disk\'s roles' + why(skip), (t) => {
  const { g } = ab('paired-ab', B, C, PAIRED);
  t.log(`${g.pairs} pairs`);
  t.true((g.pairs ?? 0) >= 7, `${g.pairs} pairs`);
  flagsSyscalls(t, g);
  poolServesDisk(t, 'paired-ab');
});
