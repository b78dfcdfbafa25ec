// A target is "unavailable" only when its software is not here; when isoprobe's own step fails
// (here: the probe it would place is missing, so no image or bundle can be built), the check
// fails loudly, `isoprobe targets` says ERROR and exits 1, and a required target never skips.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTarget, type TargetName } from '../../lib/targets';
import { releaseDaemons } from '../../lib/targets/daemons';
import { type KvmFacts, kvmGuestVerdict, kvmServedBy, kvmVerdict, readKvmFacts } from '../../lib/targets/kvm';
import { isRoot, runCli, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(async () => {
  await releaseDaemons();
  tmp.cleanup();
});

const ENGINES: TargetName[] = ['runc', 'docker', 'podman', 'containerd'];
const here = targetSkips(ENGINES);

for (const name of ENGINES) {
  const skip = here.get(name);
  (skip ? test.serial.skip : test.serial)(`${name}: a failure of isoprobe's own image or bundle step is an error, not "unavailable"${skip ? ` [skipped: ${skip}]` : ''}`, async (t) => {
    const missing = join(tmp.dir, 'no-such-probe');
    const saved = process.env.ISOPROBE_PROBE;
    process.env.ISOPROBE_PROBE = missing;
    try {
      const e = await t.throwsAsync(makeTarget(name).available());
      t.regex((e as Error).message, /no-such-probe/, 'the error names what isoprobe could not do');
    } finally {
      if (saved === undefined) delete process.env.ISOPROBE_PROBE;
      else process.env.ISOPROBE_PROBE = saved;
    }
  });
}

// The engine whose check is broken on purpose: one that works here (its own check says which).
const checked = ENGINES.find((n) => !here.get(n));
const errorSkip = !isRoot ? 'needs root' : checked ? undefined : `no container engine works here (${ENGINES.map((n) => `${n}: ${here.get(n)}`).join('; ')})`;
const rows = (out: string) => new Map(out.split('\n').map((l) => /^(\S+) +\S+ +(available|unavailable|ERROR) +(.*)$/.exec(l)).filter((m) => m !== null).map((m) => [m![1]!, { state: m![2]!, why: m![3]! }]));
testIf(errorSkip, test.serial)(`isoprobe targets: an availability check that fails is ERROR with exit 1${why(errorSkip)}`, (t) => {
  const ok = runCli(['targets']);
  t.is(ok.code, 0, ok.stdout);
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'targets'],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ISOPROBE_PROBE: join(tmp.dir, 'no-such-probe') } });
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, new RegExp(`^${checked} +container +ERROR +isoprobe failed checking it: .*no-such-probe`, 'm'));
  // Software that is not installed stays "unavailable", for the same reason, whatever this machine
  // lacks (a check that gets as far as isoprobe's own step is ERROR, as above).
  const before = rows(ok.stdout);
  const after = rows(r.stdout);
  t.true(before.size > 5, ok.stdout);
  for (const [name, row] of before) if (row.state === 'unavailable' && / is not installed /.test(row.why)) t.deepEqual(after.get(name), row, name);
});

test('a required target that is unavailable fails its test file instead of skipping', (t) => {
  // A PATH with no firecracker on it: the target is missing on any machine (the check and the
  // ISOPROBE_REQUIRE_TARGETS rule run in a child, synchronously, before PATH is put back).
  const saved = { require: process.env.ISOPROBE_REQUIRE_TARGETS, path: process.env.PATH };
  const empty = join(tmp.dir, 'empty-path');
  mkdirSync(empty, { recursive: true });
  process.env.PATH = empty;
  process.env.ISOPROBE_REQUIRE_TARGETS = 'host,firecracker';
  try {
    if (isRoot) t.throws(() => targetSkips(['firecracker']), { message: /^target firecracker must work on this machine \(ISOPROBE_REQUIRE_TARGETS\), but: firecracker is not installed/ });
    else t.throws(() => targetSkips(['firecracker']), { message: /need root/ });
    process.env.ISOPROBE_REQUIRE_TARGETS = 'host';
    if (isRoot) t.regex(targetSkips(['firecracker']).get('firecracker')!, /is not installed/, 'not required: a skip with its reason');
  } finally {
    process.env.PATH = saved.path;
    if (saved.require === undefined) delete process.env.ISOPROBE_REQUIRE_TARGETS;
    else process.env.ISOPROBE_REQUIRE_TARGETS = saved.require;
  }
});

// KVM's verdict: one rule (kvmVerdict) over facts (readKvmFacts). First the rule on made-up facts,
// a sentence for each case; then the reader on a made-up root; then this machine, where only what
// follows from the facts the product read is asserted.
const NONE = { kvm_intel: 'absent', kvm_amd: 'absent', kvm_pvm: 'absent' } as const;
const NO_FLAGS = { svm: false, vmx: false };
const facts = (f: Partial<KvmFacts>): KvmFacts => ({ open: { stage: 'ok' }, misc: 232, modules: { ...NONE }, cpu: NO_FLAGS, ...f });
const PVM_BOOT = '/dev/kvm is served by kvm_pvm (PVM: this CPU shows no svm or vmx flag in /proc/cpuinfo, so there is no AMD-V/VT-x); PVM runs only guest kernels built for PVM, and this guest kernel is not one: a guest did not reach /init within 20 s under KVM; QEMU: qemu-system-x86_64: warning: host doesn\'t support requested feature (a symptom of that)';
const NO_DEV = '/dev/kvm does not exist (no hardware virtualization here, or the kvm module is not loaded)';
const failedBoot = { reachedInit: false, timeoutS: 20, warning: 'qemu-system-x86_64: warning: host doesn\'t support requested feature' };
const pvmOnly = { ...NONE, kvm_pvm: 'built-in' } as const;

const CASES: [string, KvmFacts, string | undefined][] = [
  ['no /dev/kvm, no kvm device registered', facts({ open: { stage: 'open', code: 'ENOENT', message: 'No such file or directory' }, misc: null }), NO_DEV],
  ['no /dev/kvm though kvm_pvm is in the kernel and the CPU has no svm/vmx (the machine of issue 30): PVM is not named', facts({ open: { stage: 'open', code: 'ENOENT', message: 'No such file or directory' }, misc: null, modules: pvmOnly }), NO_DEV],
  ['no /dev/kvm node, but the kernel registered the device', facts({ open: { stage: 'open', code: 'ENOENT', message: 'No such file or directory' }, misc: 232, modules: pvmOnly }),
    '/dev/kvm does not exist, though the kernel registered the kvm device (misc minor 232 in /proc/misc): create the node (mknod /dev/kvm c 10 232), or pass the device into this container'],
  ['no permission, a group may open it', facts({ open: { stage: 'open', code: 'EACCES', message: 'Permission denied' }, node: { mode: 0o660, uid: 0, gid: 108, group: 'kvm' } }),
    'no permission to open /dev/kvm (mode 0660, group kvm): Permission denied (EACCES); run as root, or add this user to the group kvm that owns it'],
  ['no permission, only root may open it', facts({ open: { stage: 'open', code: 'EACCES', message: 'Permission denied' }, node: { mode: 0o600, uid: 0, gid: 0, group: 'root' } }),
    'no permission to open /dev/kvm (mode 0600, group root): Permission denied (EACCES); run as root, or give /dev/kvm to the kvm group (mode 0660, as Debian\'s udev rule does) and add this user to it'],
  ['no permission, owned by the kvm group but mode 0600: only root may open it', facts({ open: { stage: 'open', code: 'EACCES', message: 'Permission denied' }, node: { mode: 0o600, uid: 0, gid: 108, group: 'kvm' } }),
    'no permission to open /dev/kvm (mode 0600, group kvm): Permission denied (EACCES); run as root, or give /dev/kvm to the kvm group (mode 0660, as Debian\'s udev rule does) and add this user to it'],
  ['not permitted (a device cgroup)', facts({ open: { stage: 'open', code: 'EPERM', message: 'Operation not permitted' }, node: { mode: 0o660, uid: 0, gid: 108, group: 'kvm' } }),
    'no permission to open /dev/kvm (mode 0660, group kvm): Operation not permitted (EPERM); run as root, or add this user to the group kvm that owns it; in a container, a device cgroup that does not allow c 10:232 refuses it too'],
  ['a node with no driver behind it', facts({ open: { stage: 'open', code: 'ENXIO', message: 'No such device or address' }, misc: null }),
    '/dev/kvm exists but no kvm device is behind it (No such device or address, ENXIO): the kvm module is not loaded, or did not start'],
  ['not a KVM device', facts({ open: { stage: 'version', code: 'ENOTTY', message: 'Inappropriate ioctl for device', api: -1, expected: 12 } }),
    '/dev/kvm does not answer KVM_GET_API_VERSION (Inappropriate ioctl for device, ENOTTY): it is not a KVM device'],
  ['another API version', facts({ open: { stage: 'version', api: 11, expected: 12 } }), '/dev/kvm answers API version 11, expected 12'],
  ['creating a VM refused under PVM', facts({ open: { stage: 'create', code: 'EINVAL', message: 'Invalid argument' }, modules: pvmOnly }),
    '/dev/kvm refuses to create a VM: Invalid argument (EINVAL); it is served by kvm_pvm'],
  ['a VM created, no boot self-test: works as far as checked', facts({ modules: pvmOnly }), undefined],
  ['PVM, and a guest reached /init: works', facts({ modules: pvmOnly, boot: { reachedInit: true, timeoutS: 20 } }), undefined],
  ['PVM, and the boot self-test failed', facts({ modules: pvmOnly, boot: failedBoot }), PVM_BOOT],
  ['kvm_pvm loaded as a module (initstate live) and the boot failed', facts({ modules: { ...NONE, kvm_pvm: 'live' }, boot: failedBoot }), PVM_BOOT],
  ['kvm_amd loaded, the boot failed: nested virtualization, not PVM', facts({ modules: { ...NONE, kvm_amd: 'live', kvm_pvm: 'built-in' }, cpu: { svm: true, vmx: false }, boot: { reachedInit: false, timeoutS: 20 } }),
    '/dev/kvm creates VMs (served by kvm_amd), but a guest did not reach /init within 20 s under KVM (nested virtualization that cannot run this kernel)'],
  ['kvm_intel and kvm_pvm built in, the CPU shows vmx: kvm_intel serves it', facts({ modules: { ...NONE, kvm_intel: 'built-in', kvm_pvm: 'built-in' }, cpu: { svm: false, vmx: true }, boot: failedBoot }),
    `/dev/kvm creates VMs (served by kvm_intel), but a guest did not reach /init within 20 s under KVM (nested virtualization that cannot run this kernel; QEMU: ${failedBoot.warning})`],
  ['no vendor module in /sys/module, the boot failed', facts({ boot: { reachedInit: false, timeoutS: 20 } }),
    '/dev/kvm creates VMs, but a guest did not reach /init within 20 s under KVM (nested virtualization that cannot run this kernel)'],
];

for (const [what, f, sentence] of CASES) {
  test(`KVM verdict on made-up facts: ${what}`, (t) => {
    t.is(kvmVerdict(f), sentence);
  });
}

test('which module serves /dev/kvm: a live module; a built-in hardware module only with its CPU flag; else a built-in kvm_pvm', (t) => {
  t.is(kvmServedBy({ modules: pvmOnly, cpu: NO_FLAGS }), 'kvm_pvm');
  t.is(kvmServedBy({ modules: { ...NONE, kvm_amd: 'built-in', kvm_pvm: 'built-in' }, cpu: NO_FLAGS }), 'kvm_pvm', 'kvm_amd cannot start without svm');
  t.is(kvmServedBy({ modules: { ...NONE, kvm_amd: 'built-in', kvm_pvm: 'built-in' }, cpu: { svm: true, vmx: false } }), 'kvm_amd');
  t.is(kvmServedBy({ modules: { ...NONE, kvm_intel: 'live' }, cpu: { svm: false, vmx: true } }), 'kvm_intel');
  t.is(kvmServedBy({ modules: { ...NONE, kvm_pvm: 'live', kvm_intel: 'built-in' }, cpu: { svm: false, vmx: true } }), 'kvm_pvm', 'a loaded module is the one that registered');
  t.is(kvmServedBy({ modules: { ...NONE, kvm_pvm: 'coming' }, cpu: NO_FLAGS }), undefined, 'a module still starting serves nothing yet');
  t.is(kvmServedBy({ modules: NONE, cpu: { svm: true, vmx: false } }), undefined);
});

/** A made-up root: sys/module's vendor modules, proc/cpuinfo, proc/misc, etc/group, and dev/kvm if given. */
function fakeRoot(dir: string, o: { modules?: Record<string, string | undefined>; flags?: string; misc?: string; dev?: 'file' }): string {
  const root = join(dir, `root-${Math.random().toString(36).slice(2)}`);
  for (const [m, init] of Object.entries(o.modules ?? {})) {
    mkdirSync(join(root, 'sys', 'module', m, 'parameters'), { recursive: true });
    if (init) writeFileSync(join(root, 'sys', 'module', m, 'initstate'), `${init}\n`);
  }
  mkdirSync(join(root, 'proc'), { recursive: true });
  writeFileSync(join(root, 'proc', 'cpuinfo'), `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr pae ${o.flags ?? ''}\n`);
  if (o.misc !== undefined) writeFileSync(join(root, 'proc', 'misc'), o.misc);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nkvm:x:108:\n');
  mkdirSync(join(root, 'dev'), { recursive: true });
  if (o.dev === 'file') writeFileSync(join(root, 'dev', 'kvm'), '', { mode: 0o600 });
  return root;
}

test('the fact reader on a made-up root: the module states, the CPU flags, /proc/misc, and a real open of its dev/kvm', (t) => {
  const r1 = readKvmFacts(fakeRoot(tmp.dir, { modules: { kvm_pvm: undefined }, misc: '200 tun\n' }));
  t.deepEqual(r1, { open: { stage: 'open', code: 'ENOENT', message: 'No such file or directory' }, node: undefined, misc: null, modules: { ...NONE, kvm_pvm: 'built-in' }, cpu: NO_FLAGS });
  t.is(kvmVerdict(r1), NO_DEV, 'kvm_pvm in the kernel, but no /dev/kvm: PVM is not named');
  const r2 = readKvmFacts(fakeRoot(tmp.dir, { modules: { kvm_amd: 'live', kvm_pvm: undefined }, flags: 'svm lm', misc: ' 62 hw_random\n232 kvm\n' }));
  t.deepEqual([r2.modules, r2.cpu, r2.misc], [{ ...NONE, kvm_amd: 'live', kvm_pvm: 'built-in' }, { svm: true, vmx: false }, 232]);
  t.regex(kvmVerdict(r2)!, /^\/dev\/kvm does not exist, though the kernel registered the kvm device \(misc minor 232/);
  // A plain file stands for a node that opens but is no KVM device: KVM_GET_API_VERSION fails.
  const r3 = readKvmFacts(fakeRoot(tmp.dir, { modules: { kvm_intel: 'live' }, flags: 'vmx', dev: 'file' }));
  t.deepEqual(r3.open, { stage: 'version', code: 'ENOTTY', message: 'Inappropriate ioctl for device', api: -1, expected: 12 });
  t.deepEqual(r3.node, { mode: 0o600, uid: 0, gid: 0, group: 'root' });
  t.is(r3.misc, undefined, 'no proc/misc: not read');
});

const asOtherUser = isRoot ? undefined : 'needs root, to run the check as another user';
testIf(asOtherUser, test)(`no permission: a user that is not root opening a dev/kvm of mode 0600 gets the permission sentence${why(asOtherUser)}`, (t) => {
  const root = fakeRoot(tmp.dir, { modules: { kvm_pvm: undefined }, misc: '232 kvm\n', dev: 'file' });
  for (const d of [tmp.dir, root, join(root, 'dev')]) chmodSync(d, 0o755);
  const script = `const k = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'targets', 'kvm'))}); const f = k.readKvmFacts(${JSON.stringify(root)});
    process.stdout.write(JSON.stringify({ open: f.open, why: k.kvmVerdict(f) }));`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { open: KvmFacts['open']; why: string };
  t.deepEqual(got.open, { stage: 'open', code: 'EACCES', message: 'Permission denied' });
  t.is(got.why, 'no permission to open /dev/kvm (mode 0600, group root): Permission denied (EACCES); run as root, or give /dev/kvm to the kvm group (mode 0660, as Debian\'s udev rule does) and add this user to it');
});

// This machine: whatever it is, `isoprobe targets` gives the KVM-only VMMs the verdict of the facts
// it reads, and names PVM exactly where /dev/kvm exists and kvm_pvm serves it.
test('isoprobe targets gives Firecracker the KVM verdict of this machine\'s facts; PVM named only where /dev/kvm exists and kvm_pvm serves it', (t) => {
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'targets', '--json'], { encoding: 'utf8', timeout: 300_000 });
  t.is(r.status, 0, r.stderr);
  const fc = (JSON.parse(r.stdout) as { name: string; reason?: string }[]).find((x) => x.name === 'firecracker')!;
  // The same rule on the same facts, read again here (the boot self-test's outcome is the one the
  // command cached): its sentence is the one the command gave.
  const { facts: f, verdict } = kvmGuestVerdict();
  t.log(`facts: ${JSON.stringify(f)}; verdict: ${verdict ?? 'KVM runs a guest'}`);
  if (verdict) t.true(fc.reason!.endsWith(verdict), `firecracker: ${fc.reason}`);
  else t.true(fc.reason === undefined || fc.reason.endsWith('KVM works here'), `firecracker: ${fc.reason}`);
  const servedByPvm = f !== undefined && f.open.stage !== 'open' && kvmServedBy(f) === 'kvm_pvm';
  t.is(/kvm_pvm/.test(fc.reason ?? ''), servedByPvm && verdict !== undefined, 'PVM named exactly when /dev/kvm exists, kvm_pvm serves it and KVM cannot run a guest');
  if (!existsSync('/dev/kvm')) t.is(fc.reason?.includes('kvm_pvm'), false, 'no /dev/kvm: never PVM');
});
