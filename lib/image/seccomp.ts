// Seccomp for containers isoprobe starts itself (runc, crun, runsc bundles), where the runtime
// has no default of its own: by default the system's containers default profile (the allowlist
// Podman, Buildah and CRI-O apply, from Debian's golang-github-containers-common), converted to
// the OCI form for this container (no capabilities, this architecture, this kernel). Docker,
// Podman and containerd apply their own defaults; every stack records which profile was used.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

import { optionError } from '../errors';


/**
 * runc and crun apply no seccomp profile of their own (Docker and Podman do). Bundles carry the
 * system's containers default profile (below); where that is missing, this denylist: it
 * refuses, with EPERM, what a measurement probe never needs: module loading, mounts, kexec and
 * reboot, BPF and perf, ptrace, keyrings, namespace and root changes, clock changes.
 */
export const PROBE_SECCOMP_DENY = [
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'reboot',
  'mount', 'umount2', 'pivot_root', 'chroot', 'swapon', 'swapoff', 'bpf', 'perf_event_open',
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'keyctl', 'add_key', 'request_key',
  'setns', 'unshare', 'open_by_handle_at', 'name_to_handle_at', 'userfaultfd', 'acct',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'syslog', 'quotactl',
  'lookup_dcookie', 'fanotify_init', 'iopl', 'ioperm', 'create_module', 'get_kernel_syms',
  'query_module', 'nfsservctl', 'uselib', 'vhangup', 'sethostname', 'setdomainname',
] as const;

export function probeSeccomp(): Record<string, unknown> {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: [...PROBE_SECCOMP_DENY], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}

export const CONTAINERS_DEFAULT_PROFILE = '/usr/share/containers/seccomp.json';

/** A profile in the Docker / containers format (what `--security-opt seccomp=` takes). */
interface DockerProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  architectures?: string[];
  syscalls?: {
    name?: string;
    names?: string[];
    action: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
    includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
    excludes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  }[];
}

export interface SeccompChoice {
  /** The OCI linux.seccomp object, or undefined for unconfined. */
  oci?: Record<string, unknown>;
  /** For the record: which profile, from where, with a digest. */
  description: string;
  /** For engines: what to pass as --security-opt seccomp= (undefined: the engine's own default). */
  engineOpt?: string;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
const SCMP_ARCH: Record<string, string> = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64' };

function kernelAtLeast(min: string, have = release()): boolean {
  const v = (s: string) => s.split(/[.-]/).slice(0, 2).map((x) => Number.parseInt(x, 10) || 0);
  const [a, b] = v(have);
  const [c, d] = v(min);
  return a! > c! || (a === c && b! >= d!);
}

/**
 * Converts a Docker-format profile to OCI linux.seccomp for a process holding `caps` on this
 * machine: rules are kept or dropped by their includes/excludes (capabilities, architectures,
 * minimum kernel), the architecture map is narrowed to this machine's, names lists are kept.
 */
export function toOciSeccomp(p: DockerProfile, caps: readonly string[] = [], arch = process.arch, kernel = release()): Record<string, unknown> {
  if (typeof p.defaultAction !== 'string' || !Array.isArray(p.syscalls ?? [])) throw new Error('expected a defaultAction and a syscalls list');
  const native = SCMP_ARCH[arch];
  const goArch = GO_ARCH[arch] ?? arch;
  const mapped = p.archMap?.find((a) => a.architecture === native);
  const architectures = mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : (p.architectures ?? (native ? [native] : []));
  const syscalls: Record<string, unknown>[] = [];
  for (const r of p.syscalls ?? []) {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(goArch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel, kernel)) continue;
    if (exc.arches?.includes(goArch)) continue;
    if (exc.caps?.some((c) => caps.includes(c))) continue;
    if (exc.minKernel && kernelAtLeast(exc.minKernel, kernel)) continue;
    const names = r.names ?? (r.name ? [r.name] : []);
    if (!names.length) continue;
    const rule: Record<string, unknown> = { names, action: r.action };
    if (r.errnoRet !== undefined) rule.errnoRet = r.errnoRet;
    if (r.args?.length) rule.args = r.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    syscalls.push(rule);
  }
  const out: Record<string, unknown> = { defaultAction: p.defaultAction, architectures, syscalls };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  return out;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function loadProfile(path: string, option: string): { oci: Record<string, unknown>; sha: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw optionError(option, `--${option} ${path}: cannot read the profile (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected default, unconfined or a seccomp profile file`);
  }
  try {
    return { oci: toOciSeccomp(JSON.parse(text) as DockerProfile), sha: digest(text) };
  } catch (e) {
    throw optionError(option, `--${option} ${path}: not a seccomp profile (${(e as Error).message}); expected the Docker/containers JSON format`);
  }
}

/**
 * The profile for a container isoprobe configures itself. `choice`: "default" (or undefined),
 * "unconfined", or the path of a Docker-format profile.
 */
export function seccompFor(choice: string | undefined, option = 'seccomp'): SeccompChoice {
  if (choice === 'unconfined') return { description: 'unconfined (no seccomp filter: measures what the filter itself costs)', engineOpt: 'unconfined' };
  if (choice === undefined || choice === null || choice === 'default') {
    if (existsSync(CONTAINERS_DEFAULT_PROFILE)) {
      const p = loadProfile(CONTAINERS_DEFAULT_PROFILE, option);
      return { oci: p.oci, description: `the system's containers default profile ${CONTAINERS_DEFAULT_PROFILE} (containers-common: what Podman, Buildah and CRI-O apply), sha256 ${p.sha}` };
    }
    return { oci: probeSeccomp(), description: `isoprobe's denylist of ${PROBE_SECCOMP_DENY.length} calls (no system default profile: ${CONTAINERS_DEFAULT_PROFILE} is missing; Debian package golang-github-containers-common)` };
  }
  if (choice === '') throw optionError(option, `--${option} "": expected default, unconfined or a seccomp profile file`);
  const p = loadProfile(choice, option);
  return { oci: p.oci, description: `the profile ${choice}, sha256 ${p.sha}`, engineOpt: choice };
}
