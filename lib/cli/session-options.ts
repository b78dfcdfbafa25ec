// The options of a target session, declared once for `run`, `compare` and `ab --run`, and turned
// into a SessionSpec in one place.
import { seccompFor } from '../image/seccomp';
import { defaultDataFile } from '../targets/session';
import type { SessionSpec } from '../targets/types';
import type { Table } from './args';

export const SESSION_OPTIONS: Table = {
  runtime: { kind: 'string', default: '', help: 'runtime of docker/podman/containerd, e.g. runsc for gVisor under Docker', defaultText: "the engine's own" },
  storage: { kind: 'enum', default: 'bind', choices: ['bind', 'device'], help: 'block workloads: bind-mounted file, or a loop device (direct I/O) on it' },
  data_file: { kind: 'string', default: '', help: 'host file behind block workloads, created when missing', defaultText: '/var/tmp/isoprobe-data.dat, or $ISOPROBE_DATA_FILE' },
  data_size: { kind: 'size', default: 0, min: 4096, help: 'its size when isoprobe creates it; a block workload without --size then covers it', defaultText: "--offset + --size; 256M when neither is given" },
  kernel: { kind: 'string', default: '', help: "microVMs: guest kernel: 6.1 or 6.12 (built here from Debian's linux-source, cached), cloud (Debian's cloud kernel), or a bzImage/vmlinux file", defaultText: 'cloud' },
  vcpus: { kind: 'uint', default: 2, min: 1, max: 64, help: 'microVMs: vCPUs' },
  mem: { kind: 'size', default: 512 * 2 ** 20, min: 64 * 2 ** 20, help: 'microVMs: guest memory' },
  host_cache: { kind: 'enum', default: '', choices: ['', 'none', 'writeback', 'unsafe'], help: 'microVMs: host cache of the data disk (QEMU cache=, Firecracker cache_type, Cloud Hypervisor direct=)', defaultText: 'none for QEMU and Cloud Hypervisor, Unsafe for Firecracker' },
  aio: { kind: 'enum', default: '', choices: ['', 'threads', 'native', 'io_uring', 'Sync', 'Async'], help: 'microVMs: QEMU aio= or Firecracker io_engine', defaultText: 'QEMU io_uring (threads unless --host-cache none), Firecracker Sync' },
  accel: { kind: 'enum', default: 'auto', choices: ['auto', 'kvm', 'tcg'], help: 'QEMU: KVM, TCG emulation, or KVM when it works' },
  arch: { kind: 'enum', default: '', choices: ['', 'x64', 'arm64'], help: "the probe's architecture: a microVM's is its machine's (qemu-virt: arm64); the host and containers run another only through a binfmt handler", defaultText: "this machine's" },
  seccomp: { kind: 'string', default: 'default', help: 'containers: default, unconfined, or a Docker-format seccomp profile file', defaultText: "default: the runtime's own; for runc, crun and runsc the system's containers default /usr/share/containers/seccomp.json" },
};

/** The SessionSpec for parsed session options; a seccomp profile file is read (and refused) now. */
export function sessionSpecFrom(v: Record<string, unknown>): SessionSpec {
  if (v.seccomp !== undefined) seccompFor(v.seccomp as string);
  const spec: SessionSpec = { dataFile: (v.data_file as string) || defaultDataFile() };
  const set = <K extends keyof SessionSpec>(k: K, x: unknown) => {
    if (x !== undefined && x !== '') spec[k] = x as SessionSpec[K];
  };
  set('dataSize', v.data_size);
  set('storage', v.storage);
  set('runtime', v.runtime);
  set('kernel', v.kernel);
  set('vcpus', v.vcpus);
  if (v.mem !== undefined) spec.memMiB = Math.floor((v.mem as number) / 2 ** 20);
  set('hostCache', v.host_cache);
  set('aio', v.aio);
  set('accel', v.accel);
  set('seccomp', v.seccomp);
  set('arch', v.arch);
  return spec;
}

export type { SessionSpec };
