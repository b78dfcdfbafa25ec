// Target variants: "target[key=value,...]" anywhere a target is accepted, and targets files; the
// label every table shows; each bad input refused with the option (or file, line and field), the
// value and what was expected, before anything runs.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadTargetsFile, parseVariant, parseVariantList } from '../../lib/targets/variant';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test('a variant carries its settings into the session spec; its label is canonical (sorted keys)', (t) => {
  const v = parseVariant('qemu-microvm[kernel=6.12,aio=threads,host_cache=none,vcpus=1]');
  t.is(v.target, 'qemu-microvm');
  t.is(v.label, 'qemu-microvm[aio=threads,host_cache=none,kernel=6.12,vcpus=1]');
  t.deepEqual(v.spec, { kernel: '6.12', aio: 'threads', hostCache: 'none', vcpus: 1 });
  t.deepEqual(parseVariant('qemu-microvm[qemu=/opt/qemu-9/bin/qemu-system-x86_64]').spec, { vmmBinary: '/opt/qemu-9/bin/qemu-system-x86_64' });
  t.deepEqual(parseVariant('docker[runtime=runsc]').spec, { runtime: 'runsc' });
  t.deepEqual(parseVariant('runc[seccomp=unconfined]').spec, { seccomp: 'unconfined' });
  t.is(parseVariant('host').label, 'host');
  const list = parseVariantList('host, qemu-microvm[kernel=6.1,aio=threads],qemu-microvm[kernel=6.12]');
  t.deepEqual(list.map((x) => x.label), ['host', 'qemu-microvm[aio=threads,kernel=6.1]', 'qemu-microvm[kernel=6.12]']);
});

test('bad variants: the option, the value and what was expected', (t) => {
  const cases: [string, RegExp][] = [
    ['qemu-microvm[kernal=6.1]', /^--targets "qemu-microvm\[kernal=6\.1\]": qemu-microvm has no setting "kernal" \(did you mean "kernel"\?\); expected one of probe, data_file, kernel, vcpus/],
    ['runc[kernel=6.1]', /^--targets "runc\[kernel=6\.1\]": runc has no setting "kernel"; expected one of probe, data_file, seccomp, storage, service, relay$/],
    ['qemu-microvm[aio=fast]', /^--targets "qemu-microvm\[aio=fast\]": qemu-microvm\[aio=fast\]: expected one of threads, native, io_uring \(aio: QEMU aio= of the data disk/],
    ['qemu-microvm[vcpus=0]', /^--targets "qemu-microvm\[vcpus=0\]": qemu-microvm\[vcpus=0\]: expected a number of at least 1 \(vcpus: vCPUs\)$/],
    ['qemu-microvm[aio]', /^--targets "qemu-microvm\[aio\]": "aio" is not key=value$/],
    ['qemu-microvm[aio=threads,aio=native]', /"aio" is given twice$/],
    ['qemu[aio=threads]', /^--targets "qemu\[aio=threads\]": unknown target "qemu"; expected one of host, runc/],
    ['QEMU microvm', /^--targets "QEMU microvm": expected a target, or a target with settings like qemu-microvm\[kernel=6\.12,aio=threads\]$/],
  ];
  for (const [text, re] of cases) t.throws(() => parseVariantList(text), { message: re }, text);
  t.throws(() => parseVariantList('host,host'), { message: '--targets: "host" is named twice' });
  // The CLI: exit 2 and the same line, before anything runs.
  const r = runCli(['compare', '--targets', 'host,qemu-microvm[kernal=6.1]']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^isoprobe: --targets "qemu-microvm\[kernal=6\.1\]": qemu-microvm has no setting "kernal"/);
  const run = runCli(['run', '--target', 'runc[vcpus=2]', 'block']);
  t.is(run.code, 2);
  t.regex(run.stderr, /^isoprobe: --target "runc\[vcpus=2\]": runc has no setting "vcpus"/);
});

test('a targets file names variants; every error names the file, the line and the field', (t) => {
  const good = join(tmp.dir, 'targets.yaml');
  writeFileSync(good, 'targets:\n  - name: kernel-6.1\n    target: qemu-microvm\n    settings: {kernel: "6.1", aio: io_uring}\n  - target: qemu-microvm\n    settings:\n      kernel: "6.12"\n');
  const vs = loadTargetsFile(good);
  t.deepEqual(vs.map((v) => v.label), ['kernel-6.1', 'qemu-microvm[kernel=6.12]']);
  t.deepEqual(vs[0]!.spec, { kernel: '6.1', aio: 'io_uring' });
  t.deepEqual(parseVariantList(`@${good}`).map((v) => v.label), ['kernel-6.1', 'qemu-microvm[kernel=6.12]']);
  const bad = (name: string, text: string) => {
    const f = join(tmp.dir, name);
    writeFileSync(f, text);
    return f;
  };
  const f1 = bad('t1.yaml', 'targets:\n  - target: qemu-microvm\n    settings:\n      aio: threads\n      kernal: "6.1"\n');
  t.throws(() => loadTargetsFile(f1), { message: new RegExp(`^targets file ${f1}, line 5, targets\\[0\\]\\.settings\\.kernal: qemu-microvm has no setting "kernal"`) });
  const f2 = bad('t2.yaml', 'targets:\n  - target: qemu-microvm\n    setings: {}\n');
  t.throws(() => loadTargetsFile(f2), { message: `targets file ${f2}, line 3, targets[0].setings: unknown field "setings" (expected name, target, settings)` });
  const f3 = bad('t3.yaml', 'targets: []\n');
  t.throws(() => loadTargetsFile(f3), { message: `targets file ${f3}, line 1, targets: expected a non-empty list "targets"` });
  const f4 = bad('t4.yaml', 'targets:\n  - target: qemu-microvm\n    settings: {vcpus: lots}\n');
  t.throws(() => loadTargetsFile(f4), { message: new RegExp(`^targets file ${f4}, line 3, targets\\[0\\]\\.settings\\.vcpus: qemu-microvm\\[vcpus=lots\\]: expected a whole number >= 0 \\(vcpus: vCPUs\\)$`) });
  t.throws(() => loadTargetsFile(join(tmp.dir, 'none.yaml')), { message: /^--targets @.*none\.yaml: cannot read it \(ENOENT\); expected a YAML or JSON targets file$/ });
});
