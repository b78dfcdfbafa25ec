// A target is "unavailable" only when its software is not here; when isoprobe's own step fails
// (here: the probe it would place is missing, so no image or bundle can be built), the check
// fails loudly, `isoprobe targets` says ERROR and exits 1, and a required target never skips.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTarget, type TargetName } from '../../lib/targets';
import { releaseDaemons } from '../../lib/targets/daemons';
import { pvmReason } from '../../lib/targets/kvm';
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

(isRoot ? test.serial : test.serial.skip)('isoprobe targets: an availability check that fails is ERROR with exit 1' + (isRoot ? '' : ' [skipped: needs root]'), (t) => {
  const r = require('node:child_process').spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'targets'],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ISOPROBE_PROBE: join(tmp.dir, 'no-such-probe') } });
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^runc +container +ERROR +isoprobe failed checking it: .*no-such-probe/m);
  t.regex(r.stdout, /^firecracker +vm +unavailable /m, 'software that is not here stays "unavailable"');
  const ok = runCli(['targets']);
  t.is(ok.code, 0, ok.stdout);
});

test('a required target that is unavailable fails its test file instead of skipping', (t) => {
  const saved = process.env.ISOPROBE_REQUIRE_TARGETS;
  process.env.ISOPROBE_REQUIRE_TARGETS = 'host,firecracker';
  try {
    if (isRoot) t.throws(() => targetSkips(['firecracker']), { message: /^target firecracker must work on this machine \(ISOPROBE_REQUIRE_TARGETS\), but: firecracker is not installed/ });
    else t.throws(() => targetSkips(['firecracker']), { message: /need root/ });
    process.env.ISOPROBE_REQUIRE_TARGETS = 'host';
    if (isRoot) t.regex(targetSkips(['firecracker']).get('firecracker')!, /is not installed/, 'not required: a skip with its reason');
  } finally {
    if (saved === undefined) delete process.env.ISOPROBE_REQUIRE_TARGETS;
    else process.env.ISOPROBE_REQUIRE_TARGETS = saved;
  }
});

test('KVM served by PVM is named as such: the module, the missing svm/vmx flag, and what it runs', (t) => {
  const dir = tempDir();
  try {
    const noFlags = 'processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae\n';
    t.is(pvmReason(dir.dir, noFlags), undefined, 'no kvm_pvm module: nothing to say');
    mkdirSync(join(dir.dir, 'kvm_pvm'));
    t.is(pvmReason(dir.dir, noFlags), '/dev/kvm is served by kvm_pvm (PVM: this CPU shows no svm or vmx flag in /proc/cpuinfo, so there is no AMD-V/VT-x); PVM runs only guest kernels built for PVM, and this guest kernel is not one');
    t.notRegex(pvmReason(dir.dir, `${noFlags.replace('pae', 'pae svm')}`)!, /no svm/);
  } finally {
    dir.cleanup();
  }
});

// This machine: where /sys/module/kvm_pvm is there, `isoprobe targets` says so for the KVM-only VMMs.
const pvmHere = existsSync('/sys/module/kvm_pvm') && !/\b(svm|vmx)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
const pvmSkip = !isRoot ? 'targets checks need root' : pvmHere ? undefined : 'this machine\'s /dev/kvm is not served by kvm_pvm';
testIf(pvmSkip, test)(`isoprobe targets names kvm_pvm as the reason KVM cannot run a guest here${why(pvmSkip)}`, (t) => {
  const r = runCli(['targets', '--json']);
  t.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; reason?: string; version?: string }[];
  const fc = rows.find((x) => x.name === 'firecracker')!;
  t.regex(fc.reason!, /\/dev\/kvm is served by kvm_pvm \(PVM: this CPU shows no svm or vmx flag/);
});
