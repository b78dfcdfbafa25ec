// The target interface shared by the host, containers and microVMs.
import type { BlockInput } from '../probe/options';
import type { NetInput } from '../probe/net-options';
import type { BlockResult, NetResult } from '../probe/types';
import type { RunControl } from '../probe/block';
import type { HostMemory } from '../cost/memory';
import type { Startup } from '../cost/meter';
import type { HostCpu } from '../cost/sample';
import type { HostPlacement } from '../cost/placement';
import type { AttributionField } from '../trace/attribution';
import type { NetAttributionField } from '../trace/net-attribution';

export type TargetKind = 'host' | 'container' | 'vm';

export interface Availability {
  ok: boolean;
  /** Why not, exactly (binary missing, no /dev/kvm, daemon refused, ...). */
  reason?: string;
  version?: string;
}

/** Where the echo server and the client run for a network workload. */
export type Placement = 'client-inside' | 'server-inside' | 'loopback';

export type Workload =
  | { kind: 'block'; options: Omit<BlockInput, 'file'> & { file?: string } }
  | { kind: 'rr' | 'stream'; options: NetInput; placement?: Placement };

/** Everything between the probe and the hardware that a reader needs to judge a number. */
export interface StackInfo {
  target: string;
  kind: TargetKind;
  runtime: string;
  runtime_version: string;
  platform?: string;
  /** How the data file reaches the probe: bind mount, loop device, gVisor gofer, virtio-blk ... */
  storage: string;
  /** How probe traffic travels: veth pair between namespaces isoprobe made, loopback, tap ... */
  network: string;
  cgroup_limits: string;
  /** The seccomp profile the probe ran under (containers), or why there is none. */
  seccomp?: string;
  probe_sha256: string;
  /** Numbers from software emulation (QEMU TCG): never comparable to hardware virtualization. */
  emulated: boolean;
  /** The runtime or VMM invocation, for the record. */
  command?: string[];
  /** A variant's label and settings (qemu-microvm[kernel=6.12]), when the target was one. */
  variant?: string;
  settings?: Record<string, string>;
  /** What exactly ran, for a VM: the VMM binary and the guest kernel, with their SHA-256. */
  resolved?: { vmm_path: string; vmm_sha256: string; kernel_path: string; kernel_sha256: string; kernel_source: string };
  /** A VM pinned with pin=on: which host CPU each vCPU thread and the VMM's other threads were given. */
  pinned?: { vcpus: number[]; vmm: number[]; shared: boolean };
}

export interface HostPageCache {
  mode: 'bypassed' | 'used';
  file: string;
  size_bytes: number;
  resident_bytes_before: number;
  resident_bytes_after: number;
}

export interface GuestDevices {
  block: { dev: string; queues: number }[];
  net: { dev: string; rx_queues: number; tx_queues: number; channels?: { combined: number; max_combined: number } }[];
}

export interface GuestQueues {
  /** What was counted for the disks: each queue's completion interrupts (/proc/interrupts;
   * virtio-pci's MSI-X; absent on virtio-mmio, one interrupt per device). */
  counter?: string;
  block?: Record<string, number[]>;
  /** What was counted for the interfaces: packets per queue from the driver (ETHTOOL_GSTATS). */
  net_counter?: string;
  net?: Record<string, { rx_packets: number[]; tx_packets: number[] }>;
}

export type TargetResult = (BlockResult | NetResult) & {
  target: StackInfo;
  workload: Workload;
  /** Block workloads: what the host's page cache held of the backing file after the run. */
  host_page_cache?: HostPageCache;
  placement?: Placement;
  /** MicroVMs: the boot this workload ran in (its times, its position among the boot's workloads). */
  boot?: BootTimes;
  /** MicroVMs: the VMM's configuration as sent (Firecracker, Cloud Hypervisor). */
  vmm_config?: unknown;
  /** MicroVMs: the queues the guest itself saw on its virtio devices (from its sysfs). */
  guest_devices?: GuestDevices;
  /** MicroVMs: the completion interrupts each queue of the data disk took in this workload,
   * counted by the guest (virtio-pci, where each queue has its own MSI-X vector). */
  guest_queues?: GuestQueues;
  /** Host CPU the boundary spent over exactly the measured window, by role (lib/cost). */
  host_cpu?: HostCpu;
  /** MicroVMs: the host CPUs each VMM thread (vCPUs, main loop, I/O) ran on in the measured window. */
  host_placement?: HostPlacement;
  /** The boundary's host memory at the end of the workload. */
  host_memory?: HostMemory;
  /** The session's (a container's) or the boot's (a VM's) start-up and its host CPU. */
  startup?: Startup;
  /** Block and RR workloads of a session started with attribution: where the time went, or why not known. */
  attribution?: AttributionField | NetAttributionField;
};

export interface BootTimes {
  /** VMM started -> the probe runs as /init in the guest. */
  vmm_start_to_probe_ns: number;
  /** VMM started -> first result received. */
  vmm_start_to_first_result_ns: number;
  /** VMM started -> VMM exited. */
  vmm_start_to_exit_ns: number;
  /** The VMM's host CPU over the whole boot (its cgroup's total after it exited), ns. */
  vmm_host_cpu_ns?: number;
  /** Who ended the VM: the guest (power-off or reboot the VMM honoured), or isoprobe once the
   * guest's DONE frame was in and the VMM did not exit by itself within exitGraceMs. */
  ended_by: 'guest' | 'isoprobe after DONE';
  /** 2 when the first boot never reached /init (a rare early-boot hang under TCG) and was retried. */
  attempts: number;
  first_attempt?: string;
  workloads_in_boot: number;
  /** This workload's place in the boot's plan. */
  position: number;
}

export interface SessionSpec {
  /** Host file backing block workloads (created and laid out by isoprobe when missing). */
  dataFile?: string;
  /** Its size when isoprobe creates it (default 256M). */
  dataSize?: number;
  /** 'bind' (default): the file is bind-mounted; 'device': a loop device with direct I/O on it. */
  storage?: 'bind' | 'device';
  /** Create a veth pair to a peer namespace (default true). */
  network?: boolean;
  /**
   * Trace each block workload on the host with eBPF (needs root and kernel BTF) and give its result
   * `attribution`: per operation the device, the host kernel and the boundary, and the window's
   * mechanism counts by role; or `{unavailable: reason}`. Every target whose session passes it
   * (host, the containers, the VMs: docs/attribution.md).
   */
  attribution?: boolean;
  /** A planted service time (ns) of the echo server isoprobe starts for client-inside RR (variant setting `service`). */
  echoService?: number;
  /** client-inside RR: the path of a relay of the user's between the client and isoprobe's echo
   * server, in isoprobe's peer namespace (variant setting `relay`; lib/targets/relay.ts). */
  relay?: string;
  /** Runtime choice where a target has several (docker --runtime, ctr --runtime). */
  runtime?: string;
  /** gVisor platform (default ptrace). */
  platform?: string;
  /** Containers: "default" (the runtime's default profile; for runc, crun and runsc the system's
   * containers default), "unconfined", or the path of a Docker-format profile. */
  seccomp?: string;
  /** The static probe to place in the target (default: the one this package built). Its results
   * carry the hash it computes of itself there. */
  probe?: string;
  /** The probe's architecture (default this machine's): a microVM's must be its machine's; the host
   * and containers run another one through a binfmt handler only. */
  arch?: 'x64' | 'arm64';

  // MicroVMs only (ignored by the host and containers).
  /** Guest kernel: "6.1" / "6.12" (built from Debian's linux-source), "cloud" (Debian's cloud
   * kernel, the default) or a kernel file (bzImage, vmlinux or arm64 Image). */
  kernel?: string;
  modulesDir?: string;
  vcpus?: number;
  memMiB?: number;
  /** Queues per virtio device: virtio-blk num-queues and virtio-net queue pairs on a multi-queue
   * tap (QEMU), num_queues (Cloud Hypervisor); Firecracker's devices have one. Default 1. */
  queues?: number;
  /** QEMU: vhost-net for the tap (on|off; default: on under KVM where /dev/vhost-net exists). */
  vhost?: 'on' | 'off';
  /** QEMU: the data disk served by its own iothread instead of the main loop. */
  iothread?: boolean;
  /** Pin vCPU i to the i-th host CPU isoprobe may use and the VMM's other threads to the rest
   * (Firecracker's performance-test layout); refused where there are fewer host CPUs than vCPUs. */
  pin?: boolean;
  /** Host cache of the data disk (QEMU cache=, Firecracker cache_type, Cloud Hypervisor direct=):
   * the values each VMM declares it accepts (its host_cache setting). */
  hostCache?: string;
  /** The data disk's I/O engine (QEMU aio=, Firecracker io_engine): the values each VMM declares (aio). */
  aio?: string;
  /** QEMU: kvm, tcg or auto (kvm when it works). */
  accel?: 'kvm' | 'tcg' | 'auto';
  /** Seconds a guest may take to start /init (default 60), and beyond its workload's own time after that. */
  bootTimeoutS?: number;
  /** Plan lines run before the workloads' (fault tests: "exit" makes PID 1 leave, "hold N" hangs). */
  planPrefix?: string[];
  /** QEMU only, to show the guest what other VMMs show it: virtio over PCI (Cloud Hypervisor's
   * transport) instead of virtio-mmio, and no ACPI (no power-off handler, as in Firecracker). */
  transport?: 'mmio' | 'pci';
  acpi?: boolean;
  /** How long a VMM may take to exit by itself after the guest's DONE frame before isoprobe ends it (ms). */
  exitGraceMs?: number;
  /** The VMM's executable (a variant's qemu=...), instead of the one on PATH. */
  vmmBinary?: string;
}

/** The session options of a microVM: the same type (kept as a name for the library's users). */
export type VmSpec = SessionSpec;

export interface Session {
  readonly stack: StackInfo;
  run(w: Workload, ctl?: RunControl): Promise<TargetResult>;
  /**
   * Several workloads in the order given, each its own result or error (one failing does not stop
   * the others; a cancellation does). A microVM runs them all in one boot.
   */
  runSuite(ws: Workload[], ctl?: RunControl, onEach?: (i: number, r: TargetResult | Error) => void,
    /** Told as each workload has measured (a microVM's at its result frame, before the boot ends). */
    onMeasured?: (i: number) => void): Promise<(TargetResult | Error)[]>;
  stop(): Promise<void>;
}

export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly description: string;
  available(): Promise<Availability>;
  start(spec?: SessionSpec): Promise<Session>;
}
