// Who a host thread works for: the roles host CPU and memory are split by, and the mechanism that
// gives a thread or a process its role from the names its software gives it. Each target declares
// its own names (lib/targets: a VMM's thread names, a runtime's process names) and passes them down.

/** The roles host CPU is split by; a result's `by_role` holds those that ran. */
export const ROLES = {
  probe: 'the probe itself (host target)',
  container: "the container's own processes (the probe, its echo server)",
  sentry: "a sandbox's user-space kernel (gVisor's Sentry)",
  gofer: "the file server of a sandbox's user-space kernel (gVisor's Gofer)",
  shim: 'the runtime shim above a container',
  vcpu: "the VMM's vCPU threads (under emulation: the emulator)",
  'vmm-main': "the VMM's main loop (device emulation, event loop)",
  'vmm-api': "the VMM's API thread",
  iothread: "the VMM's I/O threads (iothreads, per-queue device threads)",
  'io-pool': "the VMM's pool of blocking-I/O workers (aio=threads)",
  vhost: 'vhost workers serving the VMM (a thread of it on Linux >= 6.4, a kernel thread before)',
  'vmm-other': "the VMM's other threads (RCU, signal handling, ...)",
  'exited-threads': "threads in the target's cgroup that ended within the window (seen by the cgroup's total only)",
} as const;

export type Role = keyof typeof ROLES;

/** How a VMM names its threads: the first pattern that matches gives the role; a vCPU's pattern
 * captures the vCPU's index. Declared by each VMM target. */
export interface ThreadNames {
  readonly threads: readonly { readonly name: RegExp; readonly role: Role }[];
  /** The role of the process's first thread when no pattern names it. */
  readonly main: Role;
}

/** A process with a role of its own, by its comm or by the last part of its argv[0]. Declared by each container target. */
export interface ProcessName {
  readonly role: Role;
  readonly comm?: RegExp;
  readonly argv0?: RegExp;
}
export type ProcessNames = readonly ProcessName[];

/** A VMM thread's role from its name; `main` when it is the process's first thread. */
export function threadRole(names: ThreadNames, comm: string, main: boolean): Role {
  // Linux names a vhost worker after its owner's pid: whichever VMM opened the device.
  if (/^vhost-\d+$/.test(comm)) return 'vhost';
  for (const t of names.threads) if (t.name.test(comm)) return t.role;
  return main ? names.main : 'vmm-other';
}

/** Which vCPU a VMM thread runs, from its name, or undefined. */
export function vcpuIndex(names: ThreadNames, comm: string): number | undefined {
  for (const t of names.threads) {
    if (t.role !== 'vcpu') continue;
    const m = t.name.exec(comm);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** The role of a whole process from its name, if the target's names give it one. */
export function processRole(names: ProcessNames, comm: string, argv0: string): Role | undefined {
  const base = argv0.split('/').pop() ?? '';
  return names.find((n) => n.comm?.test(comm) || n.argv0?.test(base))?.role;
}
