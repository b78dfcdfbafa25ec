// pin=on, the layout of Firecracker's performance tests: vCPU i on the i-th host CPU isoprobe may
// use, the VMM's other threads (main loop, API, I/O, vhost workers of it) on the CPUs after those.
// The VMM is started with the VMM CPUs as its affinity (every thread it makes inherits it); each
// vCPU thread is moved to its own CPU as soon as it appears, before the guest reaches /init, and
// the kernel's Cpus_allowed_list is read back. A VM that reaches /init with a vCPU unpinned fails.
import { spawnSync } from 'node:child_process';

import { IsoprobeError } from '../errors';
import { threadAllowedCpus, threadTimes, tidsOf } from '../cost/proc';
import { type ThreadNames, vcpuIndex } from '../cost/roles';

export interface PinLayout {
  /** vCPU i's host CPU. */
  vcpus: number[];
  /** The host CPUs of the VMM's other threads. */
  vmm: number[];
  /** No CPU was left after the vCPUs': the VMM's threads share the vCPUs' CPUs. */
  shared: boolean;
}

/** The layout for `vcpus` vCPUs over the CPUs isoprobe may use; refused where they are fewer. */
export function pinLayout(vcpus: number, allowed: number[]): PinLayout {
  if (allowed.length < vcpus)
    throw new IsoprobeError('EINVALOPT', `pin=on: ${vcpus} vCPUs need ${vcpus} host CPUs to pin one each, and isoprobe may use ${allowed.length} (${allowed.join(',') || 'none'}); expected vcpus=${allowed.length} or fewer, or pin=off`, { option: 'targets' });
  const rest = allowed.slice(vcpus);
  return { vcpus: allowed.slice(0, vcpus), vmm: rest.length ? rest : allowed, shared: rest.length === 0 };
}

/** The VMM's command line started with the VMM CPUs as its affinity (taskset execs it: the pid stays the VMM's). */
export function pinnedArgv(layout: PinLayout, argv: string[]): string[] {
  return ['taskset', '--cpu-list', layout.vmm.join(','), ...argv];
}

/** What the stack records of a pinned VM. */
export function pinText(layout: PinLayout): string {
  const v = layout.vcpus.map((c, i) => `vCPU ${i} -> host CPU ${c}`).join(', ');
  return `pinned (pin=on): ${v}; the VMM's other threads -> ${layout.vmm.join(',')}${layout.shared ? ' (shared with the vCPUs: no host CPU left for them alone)' : ''}`;
}

/** Moves each vCPU thread of a starting VMM to its CPU as it appears. */
export class VcpuPinner {
  private readonly pinned = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  error?: IsoprobeError;

  constructor(private readonly pid: number, private readonly vmm: ThreadNames, private readonly layout: PinLayout, private readonly fail: () => void) {}

  start(): this {
    this.timer = setInterval(() => this.poll(), 2);
    return this;
  }

  get complete(): boolean {
    return this.pinned.size === this.layout.vcpus.length;
  }

  private poll(): void {
    for (const tid of tidsOf(this.pid)) {
      if (this.pinned.has(tid) || this.error) continue;
      const t = threadTimes(this.pid, tid);
      const i = t ? vcpuIndex(this.vmm, t.comm) : undefined;
      if (i === undefined) continue;
      const cpu = this.layout.vcpus[i];
      if (cpu === undefined) return this.stopWith(`pin=on: the VMM started vCPU thread "${t!.comm}", beyond the ${this.layout.vcpus.length} it was given`);
      const r = spawnSync('taskset', ['--pid', '--cpu-list', String(cpu), String(tid)], { encoding: 'utf8' });
      const now = threadAllowedCpus(this.pid, tid);
      if (now === undefined) continue;  // the thread has gone
      if (r.status !== 0 || now.length !== 1 || now[0] !== cpu)
        return this.stopWith(`pin=on: "${t!.comm}" (thread ${tid}) could not be pinned to host CPU ${cpu}: ${(r.stderr || r.error?.message || `allowed ${now.join(',')}`).trim()}`);
      this.pinned.set(tid, cpu);
    }
    if (this.complete) clearInterval(this.timer);
  }

  /** The guest reached /init: every vCPU must be pinned by now. */
  ready(): void {
    this.poll();
    if (!this.complete && !this.error)
      this.stopWith(`pin=on: ${this.pinned.size} of ${this.layout.vcpus.length} vCPU threads were found and pinned by the time the guest reached /init`);
  }

  private stopWith(message: string): void {
    this.error = new IsoprobeError('EUNAVAILABLE', message, { option: 'targets' });
    this.stop();
    this.fail();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
