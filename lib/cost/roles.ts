// Who a host thread works for: the role of each thread a boundary runs, from the names its
// software gives them (QEMU with debug-threads=on, Firecracker, Cloud Hypervisor, gVisor, shims).

/** The roles host CPU is split by; a result's `by_role` holds those that ran. */
export const ROLES = {
  probe: 'the probe itself (host target)',
  container: "the container's own processes (the probe, its echo server)",
  sentry: "gVisor's Sentry (runsc-sandbox: the guest kernel in user space)",
  gofer: "gVisor's Gofer (runsc-gofer: file access for the Sentry)",
  shim: 'the runtime shim (containerd-shim, conmon)',
  vcpu: "the VMM's vCPU threads (under TCG: emulation)",
  'vmm-main': "the VMM's main loop (device emulation, event loop)",
  'vmm-api': "the VMM's API thread",
  iothread: "the VMM's I/O threads (QEMU iothreads, Cloud Hypervisor queue threads)",
  'io-pool': "QEMU's thread pool (aio=threads workers)",
  vhost: 'vhost workers serving the VMM (a thread of it on Linux >= 6.4, a kernel thread before)',
  'vmm-other': "the VMM's other threads (RCU, signal handling, ...)",
  'exited-threads': "threads in the target's cgroup that ended within the window (seen by the cgroup's total only)",
} as const;

export type Role = keyof typeof ROLES;

export type Vmm = 'qemu' | 'firecracker' | 'cloud-hypervisor';

/** A VMM thread's role from its name; `main` when it is the process's first thread. */
export function vmmThreadRole(vmm: Vmm, comm: string, main: boolean): Role {
  if (/^vhost-\d+$/.test(comm)) return 'vhost';
  if (vmm === 'qemu') {
    if (/^CPU \d+\/(TCG|KVM|HVF)$/.test(comm)) return 'vcpu';
    if (/^IO /.test(comm)) return 'iothread';
    if (comm === 'worker') return 'io-pool';
    return main ? 'vmm-main' : 'vmm-other';
  }
  if (vmm === 'firecracker') {
    if (/^fc_vcpu ?\d+$/.test(comm)) return 'vcpu';
    if (comm === 'fc_api') return 'vmm-api';
    if (comm === 'firecracker' || main) return 'vmm-main';
    return 'vmm-other';
  }
  if (/^vcpu\d+$/.test(comm)) return 'vcpu';
  if (comm === 'vmm') return 'vmm-main';
  if (comm === 'http-server') return 'vmm-api';
  if (/_q\d+$|_qp\d+$/.test(comm)) return 'iothread';
  return 'vmm-other';
}

/** Which vCPU a VMM thread runs, from its name ("CPU 1/TCG", "fc_vcpu 1", "vcpu1"), or undefined. */
export function vcpuIndex(vmm: Vmm, comm: string): number | undefined {
  const re = vmm === 'qemu' ? /^CPU (\d+)\/(TCG|KVM|HVF)$/ : vmm === 'firecracker' ? /^fc_vcpu ?(\d+)$/ : /^vcpu(\d+)$/;
  const m = re.exec(comm);
  return m ? Number(m[1]) : undefined;
}

/** The role of a whole process a container runtime runs, from its name, if it has one of its own. */
export function processRole(comm: string, argv0: string): Role | undefined {
  const name = argv0.split('/').pop() ?? '';
  if (name === 'runsc-sandbox') return 'sentry';
  if (name === 'runsc-gofer') return 'gofer';
  if (/^containerd-shim/.test(comm) || /^containerd-shim/.test(name) || comm === 'conmon') return 'shim';
  return undefined;
}
