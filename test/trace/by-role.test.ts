// The counts by role: made-up traced threads classified as the product classifies them (lib/cost's
// scope and a VMM's thread names), and summed per role per operation.
import test from 'ava';

import { countsByRole, roleOfThread, type RoleScope } from '../../lib/trace/by-role';
import { THREAD_COUNTERS } from '../../lib/trace/native';
import { syscallNumber } from '../../lib/trace/syscalls';
import { QEMU_THREADS } from '../../lib/targets/qemu';

const n = (syscalls: number, io = 0) => THREAD_COUNTERS.map((c) => (c === 'syscalls' ? syscalls : c === 'io_calls' ? io : 0));
const thread = (tid: number, tgid: number, comm: string, syscalls = 0, io = 0, cgroup = 0) => ({ tid, tgid, cgroup, comm, n: n(syscalls, io) });

test('each traced thread gets its role from its process in the scope, its VMM thread name, the probe\'s mark, or its cgroup; else other', (t) => {
  const scope: RoleScope = { processes: [{ pid: 100, threads: QEMU_THREADS }, { pid: 200, role: 'sentry' }, { pid: 300, role: 'shim' }], cgroup: { id: 77, role: 'container' }, probeRole: 'container' };
  t.is(roleOfThread(thread(100, 100, 'qemu-system-x86'), scope), 'vmm-main');
  t.is(roleOfThread(thread(101, 100, 'worker'), scope), 'io-pool');
  t.is(roleOfThread(thread(102, 100, 'CPU 0/TCG'), scope), 'vcpu');
  t.is(roleOfThread(thread(103, 100, 'IO iothread0'), scope), 'iothread');
  t.is(roleOfThread(thread(104, 100, 'call_rcu'), scope), 'vmm-other');
  t.is(roleOfThread(thread(201, 200, 'exe'), scope), 'sentry');
  t.is(roleOfThread(thread(301, 300, 'containerd-shim'), scope), 'shim');
  t.is(roleOfThread(thread(400, 400, 'isoprobe-probe'), scope, 400), 'container', 'the process that wrote the window\'s mark is the probe');
  t.is(roleOfThread(thread(500, 500, 'echo', 0, 0, 77), scope), 'container', 'in the target\'s cgroup v2');
  t.is(roleOfThread(thread(600, 600, 'runc'), scope, 400), 'other');
  t.is(roleOfThread(thread(700, 700, 'isoprobe-probe'), undefined, 700), 'probe', 'no scope: the host probe');
});

test('counts by role are summed over the role\'s threads, per operation, with its top system calls by name', (t) => {
  const scope: RoleScope = { processes: [{ pid: 100, threads: QEMU_THREADS }], probeRole: 'probe' };
  const preadv = syscallNumber('preadv')!;
  const futex = syscallNumber('futex')!;
  const threads = [thread(101, 100, 'worker', 300, 100), thread(102, 100, 'worker', 100, 100), thread(100, 100, 'qemu-system-x86', 50)];
  const calls: [number, number, number][] = [[101, preadv, 100], [101, futex, 200], [102, preadv, 100], [100, futex, 50]];
  const by = countsByRole(threads, calls, scope, 200);
  t.deepEqual(Object.keys(by).sort(), ['io-pool', 'vmm-main']);
  t.is(by['io-pool']!.threads, 2);
  t.is(by['io-pool']!.syscalls, 2);
  t.is(by['io-pool']!.io_calls, 1);
  t.deepEqual(by['io-pool']!.top_syscalls, { futex: 1, preadv: 1 });
  t.deepEqual(by['vmm-main']!.top_syscalls, { futex: 0.25 });
});
