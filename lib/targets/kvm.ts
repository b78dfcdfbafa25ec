// Whether KVM can run a guest here, as one rule over facts: what opening /dev/kvm got to, which
// module serves it (/sys/module), the CPU's flags, and the boot self-test's outcome.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';

import { writeInitramfs } from '../image/guest';
import { cacheDir, debianCloudKernel, type GuestKernel } from '../image/kernel';
import { withLockSync } from '../probe/lock';
import { native } from '../probe/native';

/** The x86-64 QEMU: the VMM of the boot self-test (and of the qemu-microvm target). */
export const QEMU = 'qemu-system-x86_64';

/** KVM's vendor modules: one of them registers /dev/kvm's backend. */
export const KVM_VENDORS = ['kvm_intel', 'kvm_amd', 'kvm_pvm'] as const;
export type KvmVendor = (typeof KVM_VENDORS)[number];

/**
 * A module as /sys/module shows it: absent; built into the kernel (its directory holds only its
 * parameters, and says nothing of whether its init succeeded); or loaded, with the module's own
 * initstate ("live" once its init succeeded; a loadable module whose init failed is unloaded).
 */
export type ModuleState = 'absent' | 'built-in' | 'live' | 'coming' | 'going';

export interface KvmFacts {
  /** How far a VMM's first steps got on /dev/kvm: open, KVM_GET_API_VERSION, KVM_CREATE_VM. */
  open: { stage: 'open' | 'version' | 'create' | 'ok'; code?: string; message?: string; api?: number; expected?: number };
  /** /dev/kvm's owner and mode, where it exists. */
  node?: { mode: number; uid: number; gid: number; group?: string };
  /** The kvm misc device's minor in /proc/misc; null: not registered; undefined: /proc/misc not read. */
  misc?: number | null;
  modules: Record<KvmVendor, ModuleState>;
  /** Hardware virtualization in /proc/cpuinfo: AMD-V's svm, VT-x's vmx. */
  cpu: { svm: boolean; vmx: boolean };
  /** The boot self-test, where one ran: did the guest reach /init, and QEMU's first warning. */
  boot?: KvmBoot;
}

export interface KvmBoot {
  reachedInit: boolean;
  timeoutS: number;
  warning?: string;
}

const DEVICE_SENTENCE = '/dev/kvm does not exist (no hardware virtualization here, or the kvm module is not loaded)';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function moduleState(sysModule: string, name: string): ModuleState {
  if (!existsSync(join(sysModule, name))) return 'absent';
  const init = read(join(sysModule, name, 'initstate'))?.trim();
  return init === 'live' || init === 'coming' || init === 'going' ? init : 'built-in';
}

function groupName(etcGroup: string | undefined, gid: number): string | undefined {
  for (const line of (etcGroup ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && Number(f[2]) === gid && f[2] !== '') return f[0];
  }
  return undefined;
}

/**
 * The facts the verdict is made from, read under `root` ('/' for this machine; a temp dir holding
 * dev/kvm, proc/misc, proc/cpuinfo, sys/module and etc/group for a made-up one). The device is
 * really opened (natively, as a VMM would); the boot self-test is not run here (see kvmBootCheck).
 */
export function readKvmFacts(root = '/'): KvmFacts {
  const device = join(root, 'dev', 'kvm');
  const o = native().kvmOpen(device);
  const open: KvmFacts['open'] = { stage: o.stage };
  if (o.errno) Object.assign(open, { code: getSystemErrorName(-o.errno), message: o.message });
  if (o.stage === 'version') Object.assign(open, { api: o.api, expected: o.expected });
  let node: KvmFacts['node'];
  try {
    const st = statSync(device);
    node = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, group: groupName(read(join(root, 'etc', 'group')), st.gid) };
  } catch {
    node = undefined;
  }
  const misc = read(join(root, 'proc', 'misc'));
  const minor = misc === undefined ? undefined : /^\s*(\d+) kvm$/m.exec(misc)?.[1];
  const cpuinfo = read(join(root, 'proc', 'cpuinfo')) ?? '';
  const flags = (f: string) => new RegExp(`^flags\\s*:.*\\b${f}\\b`, 'm').test(cpuinfo);
  const sysModule = join(root, 'sys', 'module');
  return {
    open, node, misc: minor === undefined ? (misc === undefined ? undefined : null) : Number(minor),
    modules: Object.fromEntries(KVM_VENDORS.map((m) => [m, moduleState(sysModule, m)])) as Record<KvmVendor, ModuleState>,
    cpu: { svm: flags('svm'), vmx: flags('vmx') },
  };
}

/**
 * Which vendor module serves /dev/kvm, or undefined when the facts do not say. Only one registers
 * (kvm refuses a second vendor), so a loaded ("live") one is it. A built-in module's directory is
 * there whether or not its init succeeded: a built-in kvm_intel or kvm_amd can only have started
 * where the CPU shows its flag (vmx, svm); where neither hardware module can, a kvm_pvm in the
 * kernel is the one.
 */
export function kvmServedBy(f: Pick<KvmFacts, 'modules' | 'cpu'>): KvmVendor | undefined {
  const live = KVM_VENDORS.filter((m) => f.modules[m] === 'live');
  if (live.length === 1) return live[0];
  if (live.length > 1) return undefined;
  const hw = ([['kvm_intel', f.cpu.vmx], ['kvm_amd', f.cpu.svm]] as const).filter(([m, flag]) => f.modules[m] === 'built-in' && flag).map(([m]) => m);
  if (hw.length) return hw[0];
  return f.modules.kvm_pvm === 'built-in' ? 'kvm_pvm' : undefined;
}

/** What PVM means for a guest, where kvm_pvm serves /dev/kvm. */
function pvmSentence(f: KvmFacts): string {
  const hw = f.cpu.svm || f.cpu.vmx;
  return `/dev/kvm is served by kvm_pvm (PVM${hw ? '' : ': this CPU shows no svm or vmx flag in /proc/cpuinfo, so there is no AMD-V/VT-x'}); PVM runs only guest kernels built for PVM, and this guest kernel is not one`;
}

/** Why opening /dev/kvm failed, in the machine's terms and with the fix. */
function openSentence(f: KvmFacts): string {
  const { code, message } = f.open;
  if (code === 'ENOENT') {
    // The kernel has the device but this /dev has no node for it (a container, a minimal /dev).
    if (typeof f.misc === 'number') return `/dev/kvm does not exist, though the kernel registered the kvm device (misc minor ${f.misc} in /proc/misc): create the node (mknod /dev/kvm c 10 ${f.misc}), or pass the device into this container`;
    return DEVICE_SENTENCE;
  }
  if (code === 'EACCES' || code === 'EPERM') {
    const n = f.node;
    const mode = n ? ` (mode ${n.mode.toString(8).padStart(4, '0')}, group ${n.group ?? n.gid})` : '';
    const byGroup = n && (n.mode & 0o060) === 0o060 && n.gid !== 0;
    const fix = byGroup
      ? `run as root, or add this user to the group ${n.group ?? n.gid} that owns it`
      : 'run as root, or give /dev/kvm to the kvm group (mode 0660, as Debian\'s udev rule does) and add this user to it';
    const cgroup = code === 'EPERM' ? '; in a container, a device cgroup that does not allow c 10:232 refuses it too' : '';
    return `no permission to open /dev/kvm${mode}: ${message} (${code}); ${fix}${cgroup}`;
  }
  if (code === 'ENXIO' || code === 'ENODEV') return `/dev/kvm exists but no kvm device is behind it (${message}, ${code}): the kvm module is not loaded, or did not start`;
  return `/dev/kvm cannot be opened: ${message} (${code})`;
}

/**
 * The verdict: why KVM cannot run a guest here, or undefined when it can (as far as the facts go:
 * without a boot self-test, a VM that can be created is enough). PVM is named only where /dev/kvm
 * exists and kvm_pvm serves it.
 */
export function kvmVerdict(f: KvmFacts): string | undefined {
  const served = f.open.stage === 'open' ? undefined : kvmServedBy(f);
  switch (f.open.stage) {
    case 'open':
      return openSentence(f);
    case 'version':
      return f.open.code
        ? `/dev/kvm does not answer KVM_GET_API_VERSION (${f.open.message}, ${f.open.code}): it is not a KVM device`
        : `/dev/kvm answers API version ${f.open.api}, expected ${f.open.expected}`;
    case 'create':
      return `/dev/kvm refuses to create a VM: ${f.open.message} (${f.open.code})${served ? `; it is served by ${served}` : ''}`;
    case 'ok':
      break;
  }
  if (!f.boot || f.boot.reachedInit) return undefined;
  const b = f.boot;
  const pvm = served === 'kvm_pvm';
  const symptom = b.warning ? `; QEMU: ${b.warning}${pvm ? ' (a symptom of that)' : ''}` : '';
  return pvm
    ? `${pvmSentence(f)}: a guest did not reach /init within ${b.timeoutS} s under KVM${symptom}`
    : `/dev/kvm creates VMs${served ? ` (served by ${served})` : ''}, but a guest did not reach /init within ${b.timeoutS} s under KVM (nested virtualization that cannot run this kernel${symptom})`;
}

/** Why /dev/kvm cannot create a VM here, or undefined when it can (no boot self-test). */
export function kvmUnavailable(root = '/'): string | undefined {
  return kvmVerdict(readKvmFacts(root));
}

/** Bumped when what the cache holds changes: an older record is checked again. */
const KVM_CHECK_FORMAT = 'v3';

/**
 * Whether KVM can really run a guest here, not just create a VM: nested virtualization (or PVM) may
 * stop a Linux guest before its first line of output. Boots the guest image once with an empty
 * plan and caches the outcome (a fact, not a sentence) per host kernel, QEMU and guest kernel.
 */
export function kvmBootCheck(kernel: GuestKernel, timeoutS = 20): string | undefined {
  return kvmVerdict(kvmBootFacts(kernel, timeoutS));
}

/** The facts of this machine with the boot self-test's outcome, where /dev/kvm creates VMs. */
export function kvmBootFacts(kernel: GuestKernel, timeoutS = 20): KvmFacts {
  const facts = readKvmFacts();
  if (facts.open.stage !== 'ok') return facts;
  const qv = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '';
  const key = `${KVM_CHECK_FORMAT}|${release()}|${qv}|${kernel.version}|${timeoutS}`.replace(/[^A-Za-z0-9.|-]/g, '_');
  const dir = join(cacheDir(), 'kvm-check');
  const file = join(dir, `${Buffer.from(key).toString('base64url')}.json`);
  // One boot decides for every run: the others wait for its outcome rather than boot too.
  const boot = readBoot(file) ?? withLockSync(`cache:${file}`, { what: 'the KVM boot self-test' }, () => readBoot(file) ?? bootOnce(kernel, timeoutS, dir, file, key));
  return { ...facts, boot };
}

function readBoot(file: string): KvmBoot | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { boot: KvmBoot }).boot;
  } catch {
    return undefined;  // a record cut short: checked again
  }
}

function bootOnce(kernel: GuestKernel, timeoutS: number, dir: string, file: string, key: string): KvmBoot {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const initrd = join(dir, `initramfs-${process.pid}`);
  writeInitramfs(initrd, kernel, []);
  const r = spawnSync(QEMU, ['-M', 'microvm', '-accel', 'kvm', '-cpu', 'host', '-smp', '1', '-m', '256M', '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-kernel', kernel.bzImage, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1 reboot=t'],
  { encoding: 'latin1', timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
  rmSync(initrd, { force: true });
  const warning = (r.stderr ?? '').split('\n').find((l) => /warning|error/i.test(l))?.trim();
  const boot: KvmBoot = { reachedInit: /ISOPROBE READY/.test(r.stdout ?? ''), timeoutS, ...(warning ? { warning } : {}) };
  writeFileSync(`${file}.${process.pid}`, JSON.stringify({ boot, checked: new Date().toISOString(), key }));
  renameSync(`${file}.${process.pid}`, file);
  return boot;
}

/**
 * Why KVM cannot run a Linux guest here, or undefined: /dev/kvm must create VMs and, where QEMU is
 * installed, a guest must really boot under it. The KVM-only VMMs (Firecracker, Cloud Hypervisor)
 * use it.
 */
export function kvmGuestUnavailable(): string | undefined {
  return kvmGuestVerdict().verdict;
}

/** kvmGuestUnavailable with the facts it was made from (for a check of the rule on this machine). */
export function kvmGuestVerdict(): { facts?: KvmFacts; verdict: string | undefined } {
  const basic = readKvmFacts();
  if (basic.open.stage !== 'ok') return { facts: basic, verdict: kvmVerdict(basic) };
  if (spawnSync(QEMU, ['--version']).status !== 0) return { facts: basic, verdict: undefined };  // nothing to boot it with: /dev/kvm's own answer stands
  try {
    const facts = kvmBootFacts(debianCloudKernel());
    return { facts, verdict: kvmVerdict(facts) };
  } catch (e) {
    return { verdict: `KVM not checked: ${(e as Error).message}` };
  }
}
