// `run --where`'s text: the counts per operation of each role that served the operations (the
// probe, a VMM's vCPUs and I/O pool, gVisor's Sentry), a line each, within 120 columns.
import test from 'ava';

import { roleLines, whereLines } from '../../lib/report/where-text';
import type { TargetResult } from '../../lib/targets/types';
import type { Attribution } from '../../lib/trace/attribution';
import type { RoleCounts } from '../../lib/trace/by-role';
import { withWhere } from '../trace/where-fixture';

function role(o: Partial<RoleCounts>): RoleCounts {
  return { syscalls: 0, csw_voluntary: 0, csw_preempted: 0, wakeups: 0, irq: 0, softirq: 0, io_calls: 0, uring_reqs: 0, kvm_exits: 0, kvm_inj_virq: 0, rq_file: 0, threads: 1, top_syscalls: {}, ...o };
}

// A QEMU guest with aio=threads as lib/trace counts it (figures of docs/attribution.md's run).
const BY_ROLE: Attribution['by_role'] = {
  vcpu: role({ syscalls: 7.15, top_syscalls: { futex: 6.44, rt_sigprocmask: 0.27, mprotect: 0.16, ppoll: 0.1, read: 0.05 }, csw_voluntary: 3.9, csw_preempted: 0.05, wakeups: 2.75, threads: 2 }),
  'io-pool': role({ syscalls: 3.99, top_syscalls: { futex: 2, pread64: 1, write: 0.99 }, csw_voluntary: 2.3, csw_preempted: 0.1, wakeups: 1.99, io_calls: 1, threads: 36 }),
  'vmm-main': role({ syscalls: 4.63, top_syscalls: { futex: 2.09, ppoll: 1.54, read: 1 }, csw_voluntary: 2.7, csw_preempted: 0.06, wakeups: 1.48 }),
  other: role({ threads: 3 }),  // seen, did nothing in the window
};

function traced(byRole: Attribution['by_role']): string[] {
  const r = withWhere({ kind: 'block' } as unknown as TargetResult, { p50: [80e3, 20e3, 340e3], slow: [90e3, 100e3, 26e6] });
  const a = (r as { attribution: Attribution }).attribution;
  return whereLines({ ...a, by_role: byRole });
}

test('run --where: a line per role that did something, the busiest first, with its system calls, context switches, wake-ups and I/O calls', (t) => {
  const lines = traced(BY_ROLE);
  const roles = lines.slice(lines.findIndex((l) => l.startsWith('  by role')));
  t.deepEqual(roles, [
    // vcpu's third name (mprotect 0.16) would make 121 columns: it gives way.
    '  by role     vcpu: 7.15 syscalls (futex 6.44, rt_sigprocmask 0.27), 3.95 csw, 2.75 wakeups, 0.00 I/O calls',
    '              vmm-main: 4.63 syscalls (futex 2.09, ppoll 1.54, read 1.00), 2.76 csw, 1.48 wakeups, 0.00 I/O calls',
    '              io-pool: 3.99 syscalls (futex 2.00, pread64 1.00, write 0.99), 2.40 csw, 1.99 wakeups, 1.00 I/O calls',
  ]);
  t.is(lines.findIndex((l) => l.startsWith('  by role')), lines.findIndex((l) => l.startsWith('  per op')) + 2, 'after the totals per operation');
  for (const l of lines) t.true(l.length <= 120, `${l.length} columns: ${l}`);
});

test('io_uring requests show beside the I/O calls, and long system call names give way before the line passes 120 columns', (t) => {
  const long = role({ syscalls: 6.96, top_syscalls: { io_uring_enter: 1, rt_sigtimedwait_time64: 0.9, clock_nanosleep_time64: 0.8, futex: 4.87 }, csw_voluntary: 4.33, wakeups: 1.92, io_calls: 0, uring_reqs: 1, threads: 2 });
  const [l] = roleLines({ 'vmm-other': long });
  // Two names would make 128 columns: only the busiest is left.
  t.is(l, '  by role     vmm-other: 6.96 syscalls (futex 4.87), 4.33 csw, 1.92 wakeups, 1.00 I/O calls (io_uring 1.00)');
  // Without the lead the second name fits; the third would not.
  const [bare] = roleLines({ 'vmm-other': long }, '');
  t.is(bare, 'vmm-other: 6.96 syscalls (futex 4.87, io_uring_enter 1.00), 4.33 csw, 1.92 wakeups, 1.00 I/O calls (io_uring 1.00)');
  t.true(l!.length <= 120, `${l!.length} columns`);
});

test('a trace without roles adds no role line', (t) => {
  t.false(traced({}).some((l) => /by role/.test(l)));
});

test('a trace with nothing to split still shows the window\'s counts by role under the reason', (t) => {
  const r = withWhere({ kind: 'block' } as unknown as TargetResult, { p50: [1, 1, 1], slow: [1, 1, 1] });
  const { method, window, per_op, counts, kvm, not_traced, tracer } = (r as { attribution: Attribution }).attribution;
  const lines = whereLines({ unavailable: 'none of the 300 logged operations met a host I/O call', counts: { method, window, per_op, counts, by_role: { vcpu: BY_ROLE.vcpu }, kvm, not_traced, tracer } });
  t.deepEqual(lines, [
    '  where       unavailable: none of the 300 logged operations met a host I/O call',
    '  by role     vcpu: 7.15 syscalls (futex 6.44, rt_sigprocmask 0.27), 3.95 csw, 2.75 wakeups, 0.00 I/O calls',
  ]);
  t.deepEqual(whereLines({ unavailable: 'no BTF' }), ['  where       unavailable: no BTF']);
});
