// The guest-kernel build's progress arithmetic on made-up counts and a made-up clock: which make
// lines count as objects, the share done, the time left from the pace, and the lines said.
import test from 'ava';

import { aboutTime, BuildMeter, DryRunCount, madeObject, objectsInDryRunLine, percentDone, progressLine, timeLeftMs } from '../../lib/image/build-progress';

test('the real build counts the objects kbuild reports made, not the host tools or the steps around them', (t) => {
  for (const l of ['  CC      init/main.o', '  AS      arch/x86/entry/entry_64.o', '  AR      init/built-in.a', '  LD      vmlinux.o'])
    t.true(madeObject(l), l);
  for (const l of ['  HOSTCC  scripts/basic/fixdep', '  GEN     Makefile', '  UPD     include/generated/utsversion.h', 'make[1]: Entering directory', '  DESCEND objtool'])
    t.false(madeObject(l), l);
});

test('a dry run counts each echo of an object, two on one line under -j included', (t) => {
  t.is(objectsInDryRunLine(`set -e;  echo '  CC      init/main.o';    trap 'rm -f init/main.o' HUP; gcc -c init/main.c`), 1);
  t.is(objectsInDryRunLine(`echo '  AR      init/built-in.a'; rm -f init/built-in.a; set -e;  echo '  CC      kernel/fork.o'; gcc`), 2);
  t.is(objectsInDryRunLine(`set -e;  echo '  HOSTCC  scripts/basic/fixdep'; gcc`), 0);
  // objtool's own build runs for real in the dry run and prints as the real build does: not counted twice
  t.is(objectsInDryRunLine('  CC      /tmp/x/tools/objtool/help.o'), 0);
});

test('a dry run\'s count is a total only once the dry run has reached the final link', (t) => {
  const cc = (f: string) => `set -e;  echo '  CC      ${f}';    trap 'rm -f ${f}' HUP; gcc -c`;
  const whole = new DryRunCount();
  for (const l of [cc('init/main.o'), cc('kernel/fork.o'), `set -e;  echo '  AR      vmlinux.a';  rm -f vmlinux.a`, 'make -f ./scripts/Makefile.vmlinux_o']) whole.line(l);
  t.is(whole.total(), 3);
  // 6.12 before make prepare: objtool's folders are not made by a dry run, and make stops there
  const stopped = new DryRunCount();
  for (const l of [cc('scripts/mod/empty.o'), cc('kernel/bounds.s'), `make O=/tmp/k subdir=tools -C ./tools/ objtool`]) stopped.line(l);
  t.is(stopped.total(), undefined);
  const none = new DryRunCount();
  none.line('make -f ./scripts/Makefile.vmlinux_o');
  t.is(none.total(), undefined, 'nothing to make is no total');
});

test('the time left is the pace so far applied to what is left, said only once the pace means something', (t) => {
  // 300 of 1500 objects in 60 s of make: 5 objects/s, 1200 left: 240 s
  t.is(timeLeftMs(300, 1500, 60_000), 240_000);
  t.is(timeLeftMs(50, 1500, 60_000), undefined, 'under 5% done');
  t.is(timeLeftMs(300, 1500, 10_000), undefined, 'under 15 s of make');
  t.is(timeLeftMs(1500, 1500, 300_000), undefined, 'all counted: linking');
  t.is(timeLeftMs(10, 0, 60_000), undefined, 'no total');
});

test('a time left is said about, to 10 s under a minute and a half, else in minutes', (t) => {
  t.is(aboutTime(3_000), 'about 10 s');
  t.is(aboutTime(44_000), 'about 40 s');
  t.is(aboutTime(90_000), 'about 90 s');
  t.is(aboutTime(100_000), 'about 2 min');
  t.is(aboutTime(240_000), 'about 4 min');
  t.is(aboutTime(569_000), 'about 9 min');
});

test('the share done never reads 100% before make has finished', (t) => {
  t.is(percentDone(0, 1700), 0);
  t.is(percentDone(850, 1700), 50);
  t.is(percentDone(1699, 1700), 99);
  t.is(percentDone(1702, 1700), 99);
});

test('a progress line: a total and the share, the time left once known, linking at the end, and an honest count without a total', (t) => {
  const total = { objects: 1500, from: 'counted by make -n' };
  t.is(progressLine('linux-source-6.1', 40, total, 30_000, 10_000), 'building linux-source-6.1: 40 of about 1500 objects (2%), 30 s');
  t.is(progressLine('linux-source-6.1', 300, total, 80_000, 60_000), 'building linux-source-6.1: 300 of about 1500 objects (20%), 80 s, about 4 min left');
  t.is(progressLine('linux-source-6.1', 1450, total, 300_000, 280_000), 'building linux-source-6.1: 1450 of about 1500 objects (96%), 300 s, about 10 s left');
  t.is(progressLine('linux-source-6.1', 1503, total, 310_000, 290_000), 'building linux-source-6.1: 1503 of about 1500 objects (99%), 310 s, linking');
  t.is(progressLine('linux-source-6.1', 1600, total, 330_000, 310_000), 'building linux-source-6.1: 1600 objects, more than the 1500 expected, 330 s');
  t.is(progressLine('linux-source-6.1', 812, undefined, 120_000, 100_000), 'building linux-source-6.1: 812 objects so far, 120 s');
});

test('the meter counts make\'s lines and says on each tick the time since the build began and the pace since make began', (t) => {
  let clock = 1_000_000;
  const said: string[] = [];
  // the build began 20 s before make (unpacking, configuring)
  const meter = new BuildMeter('linux-source-6.12', { objects: 2000, from: 'the last build of linux-source-6.12' }, (l) => said.push(l), clock - 20_000, () => clock);
  for (let s = 1; s <= 40; s++) {
    clock += 1000;
    for (let i = 0; i < 10; i++) meter.line(`  CC      drivers/x/f${s}-${i}.o`);
    meter.line('  HOSTCC  scripts/x');
    if (s % 10 === 0) meter.tick();
  }
  t.is(meter.objects, 400);
  t.deepEqual(said, [
    'building linux-source-6.12: 100 of about 2000 objects (5%), 30 s',
    'building linux-source-6.12: 200 of about 2000 objects (10%), 40 s, about 3 min left',
    'building linux-source-6.12: 300 of about 2000 objects (15%), 50 s, about 3 min left',
    'building linux-source-6.12: 400 of about 2000 objects (20%), 60 s, about 3 min left',
  ]);
});
