// Whether the host can trace, decided from the facts the kernel shows (under `root`, so a test
// can make them up): the build's tracer, the kernel's BTF, the capabilities bpf() needs, lockdown.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { traceAddon } from './native';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * undefined when tracing can start here, else the exact reason. `built` is the addon's own answer
 * ('' when it has the tracer); `root` is where /sys and /proc are read.
 */
export function traceUnavailable(root = '/', built: string = traceAddon().traceBuilt): string | undefined {
  if (built) return built;
  const btf = join(root, 'sys/kernel/btf/vmlinux');
  if (!existsSync(btf)) return `no kernel BTF: ${btf} is missing (a kernel built without CONFIG_DEBUG_INFO_BTF)`;
  const status = read(join(root, 'proc/self/status'));
  const capEff = status && /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff !== undefined) {
    const caps = BigInt(`0x${capEff}`);
    const has = (c: bigint) => (caps >> c) & 1n;
    if (!has(CAP_SYS_ADMIN) && !(has(CAP_BPF) && has(CAP_PERFMON)))
      return `tracing needs root, or CAP_BPF with CAP_PERFMON: this process has neither (CapEff ${capEff})`;
  }
  const lockdown = read(join(root, 'sys/kernel/security/lockdown'));
  if (lockdown?.includes('[confidentiality]'))
    return 'kernel lockdown is in confidentiality mode: eBPF programs may not read kernel memory';
  return undefined;
}
