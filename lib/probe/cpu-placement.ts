// Where a network workload's client and echo server run when the caller does not say: on
// different CPUs wherever both share a kernel that has two or more (a loopback round trip
// between two threads on one CPU skips the cross-CPU wake-up and reads 3x faster here), the
// client threads on the lower half, the server on the upper. Nothing is pinned where the two ends
// sit on different kernels (a guest's client, the host's server) or the caller chose.
import type { NetInput } from './net-options';

export interface CpuPlacement {
  /** The client threads' CPUs (the probe's --cpus); undefined: not pinned. */
  cpus?: string;
  /** The echo server's CPUs (its --cpus; --server-cpus with --loopback); undefined: not pinned. */
  server_cpus?: string;
  /** The defaults chose them (the caller gave neither). */
  defaulted: boolean;
}

const range = (lo: number, hi: number) => (lo === hi ? String(lo) : `${lo}-${hi}`);

/**
 * `kernelCpus`: the CPUs of the kernel both ends run on, or undefined where they do not share one.
 */
export function cpuPlacement(o: NetInput, kernelCpus: number | undefined): CpuPlacement {
  const given = (v: unknown) => v !== undefined && v !== '' && v !== -1 && v !== '-1';
  if (given(o.cpus) || given(o.cpu) || given(o.server_cpus)) {
    const client = given(o.cpus) ? String(o.cpus) : given(o.cpu) ? String(o.cpu) : undefined;
    return { ...(client ? { cpus: client } : {}), ...(given(o.server_cpus) ? { server_cpus: String(o.server_cpus) } : {}), defaulted: false };
  }
  if (!kernelCpus || kernelCpus < 2) return { defaulted: false };
  const half = Math.floor(kernelCpus / 2);
  return { cpus: range(0, half - 1), server_cpus: range(half, kernelCpus - 1), defaulted: true };
}
