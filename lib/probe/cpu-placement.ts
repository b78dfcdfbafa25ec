// Where a network workload's client and echo server run when the caller does not say: on
// different CPUs wherever both share a kernel (a loopback round trip between two threads on one
// CPU skips the cross-CPU wake-up and reads 3x faster here). "auto" lets the probe choose from
// the CPUs it may use where it runs (a guest's, a container's): the client threads the lower
// half, the server the upper half, nothing pinned where there are fewer than two. Where the two
// ends sit on different kernels (a guest's client, the host's server) only the client is placed
// (the lower half of the guest's vCPUs), so its repetitions run alike; the caller's choice wins.
import type { NetInput } from './net-options';

export interface CpuPlacement {
  /** The client threads' CPUs (the probe's --cpus); undefined: not pinned. */
  cpus?: string;
  /** The echo server's CPUs (its --cpus; --server-cpus with --loopback); undefined: not pinned. */
  server_cpus?: string;
  /** The defaults chose them (the caller gave neither). */
  defaulted: boolean;
}

/** `ends`: both on one kernel (its CPUs are theirs to share), or only the client's to place. */
export function cpuPlacement(o: NetInput, ends: 'shared' | 'client'): CpuPlacement {
  const given = (v: unknown) => v !== undefined && v !== '' && v !== -1 && v !== '-1';
  if (given(o.cpus) || given(o.cpu) || given(o.server_cpus)) {
    const client = given(o.cpus) ? String(o.cpus) : given(o.cpu) ? String(o.cpu) : undefined;
    return { ...(client ? { cpus: client } : {}), ...(given(o.server_cpus) ? { server_cpus: String(o.server_cpus) } : {}), defaulted: false };
  }
  return ends === 'shared' ? { cpus: 'auto', server_cpus: 'auto', defaulted: true } : { cpus: 'auto', defaulted: true };
}
