// The aarch64 probe's generic timer under user-mode emulation, in the timing phase: whether it is
// used depends on a measurement (its offsets on each CPU, paired with CLOCK_MONOTONIC_RAW, must agree
// within 1000 ns), and an emulated pair of reads is slow and easily split by other load. The main
// phase checks that each verdict follows the skew the probe measured (test/probe/arm64.test.ts);
// here, run alone, the timer must actually be chosen.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { probeBinaryPath } from '../../lib/paths';
import { tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const ARM = probeBinaryPath('arm64');
const QEMU_USER = '/usr/bin/qemu-aarch64-static';
const skip = !existsSync(QEMU_USER) ? `${QEMU_USER} is not installed (Debian package qemu-user-static; scripts/setup.sh arm64 installs it)`
  : process.arch === 'arm64' ? 'this machine is arm64: the probe runs natively, not emulated' : undefined;

interface Clock { source: string; max_cpu_skew_ns?: number; fallback_reason?: string; tsc_hz?: number; nominal_hz?: number }

// Each try calibrates afresh (a new process); a fallback is a skew measured above the limit, so
// three tries in a row fail only if the machine splits every pair of reads of three processes.
testIf(skip, test.serial)('under emulation, --clock auto picks the generic timer (one of three tries), calibrated within 1 % of CNTFRQ_EL0' + why(skip), (t) => {
  const tries: Clock[] = [];
  for (let i = 0; i < 3 && tries[tries.length - 1]?.source !== 'cntvct'; i++) {
    const r = spawnSync(QEMU_USER, [ARM, 'block', `--file=${join(tmp.dir, 'c.dat')}`, '--size=1M', '--engine=null', '--clock=auto', '--duration=100ms', '--warmup=0ns'], { encoding: 'utf8', timeout: 120_000 });
    t.is(r.status, 0, r.stderr);
    tries.push((JSON.parse(r.stdout.trim().split('\n').pop()!) as { clock: Clock }).clock);
  }
  t.log(tries.map((c) => (c.source === 'cntvct' ? `cntvct (skew ${c.max_cpu_skew_ns} ns)` : `fell back: ${c.fallback_reason}`)).join('; '));
  const last = tries[tries.length - 1]!;
  t.is(last.source, 'cntvct', 'auto picks the generic timer on arm64');
  if (last.source === 'cntvct') t.true(Math.abs(last.tsc_hz! / last.nominal_hz! - 1) < 0.01, `calibrated ${last.tsc_hz} vs stated ${last.nominal_hz}`);
});
