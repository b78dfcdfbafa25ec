// What /dev/kvm can do here, in the terms of the machine: the native check (open, API version,
// create a VM) and, where the module behind it is PVM, why a guest still cannot boot under it.
import { existsSync, readFileSync } from 'node:fs';

import { native } from '../probe/native';

/** Why /dev/kvm cannot create a VM here, or undefined when it can. */
export function kvmUnavailable(): string | undefined {
  const why = native().kvmUnavailable();
  return why === '' ? undefined : why;
}

/** Whether the CPU shows hardware virtualization (AMD-V's svm or VT-x's vmx flag). */
function hardwareVirtualization(cpuinfo: string): boolean {
  return /^flags\s*:.*\b(svm|vmx)\b/m.test(cpuinfo);
}

/**
 * Where /dev/kvm is served by PVM (the kvm_pvm module: KVM without AMD-V/VT-x, for guests that are
 * themselves VMs), what that means for a guest: only kernels built for PVM run. Undefined elsewhere.
 */
export function pvmReason(sysModule = '/sys/module', cpuinfo = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
})()): string | undefined {
  if (!existsSync(`${sysModule}/kvm_pvm`)) return undefined;
  const hw = hardwareVirtualization(cpuinfo);
  return `/dev/kvm is served by kvm_pvm (PVM${hw ? '' : ': this CPU shows no svm or vmx flag in /proc/cpuinfo, so there is no AMD-V/VT-x'}); PVM runs only guest kernels built for PVM, and this guest kernel is not one`;
}
