// Attribution beyond the host: a runc container's probe, gVisor's Sentry and a QEMU microVM's
// VMM, each followed from the host and checked against what isoprobe does not compute: the
// kernel's own count of the container's system calls against the probe's operation count, the
// Sentry's host calls against runc's, and QEMU's own I/O calls for aio=threads and aio=io_uring.
import test from 'ava';
import { join } from 'node:path';

import type { BlockResult } from '../../lib/probe/types';
import { makeTarget, type TargetName } from '../../lib/targets';
import type { SessionSpec } from '../../lib/targets/types';
import type { Attribution, AttributionField } from '../../lib/trace/attribution';
import { traceUnavailable } from '../../lib/trace/available';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const unavailable = traceUnavailable();
const ENGINES = ['docker', 'podman', 'containerd'] as const;
const skips = targetSkips(['runc', 'runsc', 'qemu-microvm', 'qemu-virt', ...ENGINES]);
const skipOf = (name: string) => unavailable ?? skips.get(name);

const PSYNC = { engine: 'psync', direct: true, size: '16M', duration: '1s', warmup: '200ms' } as const;

/** One traced psync run in `name`: its result and its attribution, which must be a split. */
async function tracedRun(name: TargetName, spec: SessionSpec = {}): Promise<{ r: BlockResult; a: Attribution }> {
  const s = await makeTarget(name).start({ dataFile: join(tmp.dir, `${name}.dat`), dataSize: 16 * 2 ** 20, network: false, attribution: true, ...spec });
  try {
    const r = (await s.run({ kind: 'block', options: { ...PSYNC } })) as BlockResult & { attribution?: AttributionField };
    const a = r.attribution!;
    if ('unavailable' in a) throw new Error(`${name}: ${a.unavailable}`);
    return { r, a };
  } finally {
    await s.stop();
  }
}

/** Each matched operation's latency holds its host call (boundary = probe latency - host call >= 0). */
function boundaryNonNegative(a: Attribution): boolean {
  return a.layers.boundary_ns.p50 >= 0 && Object.values(a.split).every((s) => s.boundary_ns >= 0 && s.host_kernel_ns >= 0);
}

let runcSyscallsPerOp: number | undefined;

/** The container's pread64 calls (sys_enter, by role) against the probe's own operation count. */
async function preadPerOp(t: import('ava').ExecutionContext, name: TargetName): Promise<Attribution> {
  const { r, a } = await tracedRun(name);
  const container = a.by_role.container;
  t.truthy(container, `roles seen: ${Object.keys(a.by_role).join(', ')}`);
  t.is(Math.round(container!.top_syscalls.pread64! * r.ops), r.ops, 'pread64 of the container\'s probe (sys_enter) against the probe\'s own operation count');
  t.is(a.counts.syscalls_by_name.pread64, r.ops);
  t.is(a.window.source, 'probe marks');
  t.is(a.matched, a.ops_logged);
  t.true(boundaryNonNegative(a));
  return a;
}

testIf(skipOf('runc'), test.serial)('runc: the container\'s pread64 calls the kernel saw in the window equal the probe\'s operations, each matched' + why(skipOf('runc')), async (t) => {
  runcSyscallsPerOp = (await preadPerOp(t, 'runc')).by_role.container!.syscalls;
});

// Their probe is started by the engine's daemon and shim, not by this process: followed as the
// shim's descendant (or in the container's cgroup v2), and found by its own mark.
for (const name of ENGINES) {
  const skip = skipOf(name);
  testIf(skip, test.serial)(`${name}: the container's pread64 calls equal the probe's operations, each matched${why(skip)}`, async (t) => {
    await preadPerOp(t, name);
  });
}

testIf(skipOf('runsc') ?? skipOf('runc'), test.serial)('runsc: the Sentry makes more host system calls per operation than runc\'s probe, and its calls are matched by offset or listed unmatched' + why(skipOf('runsc') ?? skipOf('runc')), async (t) => {
  const runc = runcSyscallsPerOp ?? (await tracedRun('runc')).a.by_role.container!.syscalls;
  const { a } = await tracedRun('runsc');
  const sentry = a.by_role.sentry;
  t.truthy(sentry, `roles seen: ${Object.keys(a.by_role).join(', ')}`);
  t.log(`system calls per operation: Sentry ${sentry!.syscalls.toFixed(2)} (${Object.entries(sentry!.top_syscalls).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}), runc's probe ${runc.toFixed(2)}; matched ${a.matched} of ${a.ops_logged}`);
  t.true(sentry!.syscalls > runc, `${sentry!.syscalls} against ${runc}`);
  t.is(a.window.source, 'probe marks', 'opened and closed at the Sentry\'s relay of the probe\'s marks');
  t.is(a.matched + a.unmatched.count, a.ops_logged);
  t.true(a.matched > 0);
  t.true(boundaryNonNegative(a));
});

/** QEMU's pread-family and io_uring_enter calls per operation, over the roles that serve the disk. */
function vmmIo(a: Attribution): { pread: number; uringEnter: number; roles: string } {
  let pread = 0;
  let uringEnter = 0;
  const roles: string[] = [];
  for (const [role, c] of Object.entries(a.by_role)) {
    const p = (c.top_syscalls.pread64 ?? 0) + (c.top_syscalls.preadv ?? 0) + (c.top_syscalls.preadv2 ?? 0);
    const u = c.top_syscalls.io_uring_enter ?? 0;
    if (p || u) roles.push(`${role}: pread family ${p.toFixed(2)}, io_uring_enter ${u.toFixed(2)}`);
    pread += p;
    uringEnter += u;
  }
  return { pread, uringEnter, roles: roles.join('; ') };
}

const qemuSkip = skipOf('qemu-microvm');
testIf(qemuSkip, test.serial)('qemu-microvm: the VMM\'s roles make a pread per operation with aio=threads and io_uring_enter instead with aio=io_uring' + why(qemuSkip), async (t) => {
  const threads = await tracedRun('qemu-microvm', { aio: 'threads' });
  const uring = await tracedRun('qemu-microvm', { aio: 'io_uring' });
  const [a, b] = [vmmIo(threads.a), vmmIo(uring.a)];
  t.log(`aio=threads: ${a.roles}; aio=io_uring: ${b.roles}`);
  // The window follows the guest's marks as relayed: an edge can be late by a frame's delivery.
  t.true(a.pread >= 0.95 && a.pread <= 1.05, `aio=threads: ${a.pread} pread-family calls per operation`);
  t.is(a.uringEnter, 0);
  t.true(b.uringEnter >= 0.5, `aio=io_uring: ${b.uringEnter} io_uring_enter per operation`);
  t.is(b.pread, 0);
  t.truthy(threads.a.by_role['io-pool'], 'aio=threads: QEMU\'s pool workers are a role of their own');
  for (const x of [threads.a, uring.a]) {
    t.is(x.window.source, 'relayed marks');
    // Operations before the relayed start mark arrived are not in the window: a few may go unmatched.
    t.true(x.matched_share >= 0.95, `${x.matched} of ${x.ops_logged} matched by the image offset`);
    t.true(boundaryNonNegative(x));
    t.truthy(x.kvm, 'the KVM counts or why there are none');
  }
});

// Buffered reads of 256 KiB the guest read in its warm-up (64 blocks: hundreds of reads cover them
// all however slow TCG is): its page cache serves them, QEMU makes no call on the image, and nothing
// is estimated in the split's place; the window's counts stay.
testIf(qemuSkip, test.serial)('qemu-microvm: operations the guest serves from its own page cache are not split, and the result says so with the window\'s counts' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ dataFile: join(tmp.dir, 'guest-cache.dat'), dataSize: 4 * 2 ** 20, network: false, attribution: true });
  try {
    const r = (await s.run({ kind: 'block', options: { engine: 'psync', direct: false, size: '256K', duration: '500ms', warmup: '500ms' } })) as BlockResult & { attribution?: AttributionField };
    const a = r.attribution!;
    t.true('unavailable' in a, 'no split');
    if (!('unavailable' in a)) return;
    t.regex(a.unavailable, /served inside the boundary/);
    t.truthy(a.counts, 'the window\'s counts');
    t.is(a.counts!.per_op.io_calls, 0, 'QEMU made no call on the image in the window');
    t.truthy(a.counts!.by_role.vcpu, `roles seen: ${Object.keys(a.counts!.by_role).join(', ')}`);
  } finally {
    await s.stop();
  }
});

// The arm64 virt machine under TCG: the same runner and disk layout as the microVM.
const virtSkip = skipOf('qemu-virt');
testIf(virtSkip, test.serial)('qemu-virt: QEMU\'s calls on the image are matched to the guest probe\'s operations by offset, one I/O call each' + why(virtSkip), async (t) => {
  const { a } = await tracedRun('qemu-virt');
  t.log(`${a.matched} of ${a.ops_logged} matched; ${vmmIo(a).roles}`);
  t.true(a.matched_share >= 0.95, `${a.matched} of ${a.ops_logged} (a relayed window: the first may be unmatched)`);
  t.true(a.per_op.io_calls >= 0.95 && a.per_op.io_calls <= 1.05, `${a.per_op.io_calls} I/O calls per operation`);
  t.truthy(a.by_role.vcpu, `roles seen: ${Object.keys(a.by_role).join(', ')}`);
  t.true(boundaryNonNegative(a));
});
