// `isoprobe system check` decides from the facts it reads: each rule is run on a made-up /sys and
// /proc (never on this machine's facts), and the command is run as users run it.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { formatCheck, judge, LIMITS, systemCheck } from '../../lib/system/check';
import { type Counters, readCounters, readStaticFacts } from '../../lib/system/facts';
import { runCli, tempDir } from '../helpers';

/** A made-up root: files given by path relative to it. */
function fakeRoot(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const d = tempDir();
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d.dir, p)), { recursive: true });
    writeFileSync(join(d.dir, p), text);
  }
  return d;
}

const STAT = (busy: number, idle: number, steal: number) =>
  `cpu  0 0 0 0 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 ${steal} 0 0\ncpu1 ${busy} 0 0 ${idle} 0 0 0 ${steal} 0 0\n`;
const INTERRUPTS = (n: number) => `           CPU0       CPU1\n 24:   ${n}   0   IO-APIC   5-edge   ACPI:Ged\nLOC:   ${n * 100}   ${n * 100}   Local timer interrupts\n`;
const BASE = {
  'sys/devices/system/cpu/cpu0/uevent': '',
  'sys/devices/system/cpu/cpu1/uevent': '',
  'sys/devices/system/clocksource/clocksource0/current_clocksource': 'tsc\n',
  'sys/devices/system/clocksource/clocksource0/available_clocksource': 'tsc hpet acpi_pm\n',
  'sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
  'proc/sys/kernel/randomize_va_space': '2\n',
  'proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu tsc\n',
  'proc/cmdline': 'console=ttyS0\n',
  'proc/stat': STAT(100, 100, 0),
  'proc/interrupts': INTERRUPTS(10),
  'proc/self/stat': '1 (node) R 0 0 0 0 0 0 0 0 0 0 5 5 0 0\n',
};

const line = (c: ReturnType<typeof judge>, name: string) => c.lines.find((l) => l.name === name)!;
const counters = (root: string, at: number): Counters => readCounters(root, () => at);

test('governor: performance is ok, another is a warning with the command to fix it, none says why', (t) => {
  for (const [gov, verdict, re] of [['performance', 'ok', /^performance$/], ['powersave', 'warn', /^powersave$/]] as const) {
    const r = fakeRoot({ ...BASE, 'sys/devices/system/cpu/cpu0/cpufreq/scaling_governor': `${gov}\n`, 'sys/devices/system/cpu/cpu1/cpufreq/scaling_governor': `${gov}\n` });
    try {
      const c = judge(readStaticFacts(r.dir), counters(r.dir, 0), counters(r.dir, 1e9), [0, 1]);
      t.is(line(c, 'governor').verdict, verdict);
      t.regex(line(c, 'governor').value, re);
      if (verdict === 'warn') t.is(line(c, 'governor').advice, 'the frequency follows the load: cpupower frequency-set -g performance');
    } finally {
      r.cleanup();
    }
  }
  for (const [flags, advice] of [['fpu tsc', 'no cpufreq: a fixed frequency, or no driver'], ['fpu tsc hypervisor', 'no cpufreq in this VM: the host sets the frequency']]) {
    const r = fakeRoot({ ...BASE, 'proc/cpuinfo': `flags\t\t: ${flags}\n` });
    try {
      const c = judge(readStaticFacts(r.dir), counters(r.dir, 0), counters(r.dir, 1e9), [0, 1]);
      t.deepEqual(line(c, 'governor'), { name: 'governor', verdict: 'unknown', value: 'not visible', advice });
      t.is(c.lines.some((l) => l.name === 'hypervisor'), flags.includes('hypervisor'));
    } finally {
      r.cleanup();
    }
  }
});

test('clocksource, turbo, THP, irqbalance and isolated CPUs are judged from what the files say', (t) => {
  const r = fakeRoot({
    ...BASE,
    'sys/devices/system/clocksource/clocksource0/current_clocksource': 'hpet\n',
    'sys/devices/system/cpu/intel_pstate/no_turbo': '0\n',
    'sys/kernel/mm/transparent_hugepage/enabled': '[always] madvise never\n',
    'sys/devices/system/cpu/isolated': '1\n',
    'proc/4242/comm': 'irqbalance\n',
  });
  try {
    const c = judge(readStaticFacts(r.dir), counters(r.dir, 0), counters(r.dir, 1e9), [1]);
    t.deepEqual(line(c, 'clocksource'), { name: 'clocksource', verdict: 'warn', value: 'hpet', advice: 'each clock read costs the kernel microseconds (available: tsc hpet acpi_pm); prefer tsc' });
    t.is(line(c, 'turbo').verdict, 'warn');
    t.is(line(c, 'THP').verdict, 'warn');
    t.is(line(c, 'irqbalance').value, 'running (pid 4242)');
    t.deepEqual(line(c, 'isolated CPUs'), { name: 'isolated CPUs', verdict: 'ok', value: 'isolated 1' });
  } finally {
    r.cleanup();
  }
  const calm = fakeRoot(BASE);
  try {
    const c = judge(readStaticFacts(calm.dir), counters(calm.dir, 0), counters(calm.dir, 1e9), [0, 1]);
    t.deepEqual(c.lines.map((l) => `${l.name}=${l.verdict}`), ['clocksource=ok', 'governor=unknown', 'turbo=unknown', 'isolated CPUs=info', 'irqbalance=ok', 'THP=ok', 'ASLR=info', 'other load=ok', 'steal=ok', 'IRQs on CPUs=ok']);
  } finally {
    calm.cleanup();
  }
});

test('over the window: other processes\' load, steal and device IRQs per second, from the counters\' differences', (t) => {
  const r = fakeRoot(BASE);
  try {
    const f = readStaticFacts(r.dir);
    const a = counters(r.dir, 0);
    // One second later: 60 ticks busy on each CPU (1.2 CPUs), of which this process's own 10; 4 %
    // steal on each; 2500 device IRQs on CPU 0 (the local timer's 250,000 do not count).
    writeFileSync(join(r.dir, 'proc/stat'), STAT(160, 136, 4));
    writeFileSync(join(r.dir, 'proc/interrupts'), INTERRUPTS(2510));
    writeFileSync(join(r.dir, 'proc/self/stat'), '1 (node) R 0 0 0 0 0 0 0 0 0 0 10 10 0 0\n');
    const c = judge(f, a, counters(r.dir, 1e9), [0, 1]);
    t.deepEqual(line(c, 'other load'), { name: 'other load', verdict: 'warn', value: '110.0 % of a CPU', advice: 'other processes ran during the check: keep the machine idle' });
    t.is(line(c, 'steal').value, '4.0 %');
    t.is(line(c, 'steal').verdict, 'warn');
    t.is(line(c, 'IRQs on CPUs').value, '2500 device IRQs/s');
    t.is(line(c, 'IRQs on CPUs').verdict, 2500 > LIMITS.irqPerS ? 'warn' : 'ok');
    // Only the CPUs judged count for IRQs: CPU 1 took none.
    t.is(line(judge(f, a, counters(r.dir, 1e9), [1]), 'IRQs on CPUs').value, '0 device IRQs/s on the busiest measuring CPU');
    for (const l of formatCheck(c)) t.true(l.length <= 120, l);
  } finally {
    r.cleanup();
  }
});

test('a CPU that is not here is refused by name, with the CPUs there are', async (t) => {
  const r = fakeRoot(BASE);
  try {
    const e = await t.throwsAsync(systemCheck({ root: r.dir, windowMs: 10, cpus: [0, 7] }));
    t.is(e!.message, '--cpus 0,7: no CPU 7 here (CPUs 0,1)');
  } finally {
    r.cleanup();
  }
});

test('isoprobe system check, as users run it: --help, the lines, JSON, and bad input', (t) => {
  const help = runCli(['system', 'check', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--cpus STRING +the measuring CPUs .* \(default every CPU\)/);
  const text = runCli(['system', 'check', '--window', '100ms']);
  t.is(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  t.regex(lines[0]!, /^system check: CPUs [\d,]+, over \d+ ms$/);
  for (const name of ['clocksource', 'governor', 'turbo', 'isolated CPUs', 'irqbalance', 'THP', 'ASLR', 'other load', 'steal', 'IRQs on CPUs']) {
    t.true(lines.some((l) => new RegExp(`^  (ok|warn|unknown|info) +${name} `).test(l)), name);
  }
  // What follows from the facts the product reads: the clocksource line names this kernel's.
  const cs = readStaticFacts('/').clocksource;
  if (cs) t.true(lines.some((l) => l.includes(`clocksource    ${cs}`)), cs);
  const json = runCli(['system', 'check', '--window', '100ms', '--cpus', '0', '--json']);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(JSON.parse(json.stdout).cpus, [0]);
  for (const [args, msg] of [
    [['system', 'check', '--cpus', 'two'], 'isoprobe: --cpus "two": expected a CPU list such as 0,2-3'],
    [['system', 'check', '--cpus', '3-1'], 'isoprobe: --cpus "3-1": the range 3-1 runs backwards'],
    [['system', 'check', '--window', '1ms'], undefined],
    [['system', 'show'], 'isoprobe: system "show": expected the subcommand check (isoprobe system check --help)'],
  ] as const) {
    const r = runCli([...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    if (msg) t.is(r.stderr.trim(), msg);
    else t.regex(r.stderr, /^isoprobe: --window/);
  }
});

test('every comparison keeps the system check in its run\'s record', (t) => {
  const d = tempDir();
  try {
    writeFileSync(join(d.dir, 'suite.yaml'), 'workloads:\n  - name: null-1\n    kind: block\n    options: { engine: "null", size: 1M, duration: 100ms, warmup: 10ms }\n');
    const env = { ...process.env, ISOPROBE_DATA_FILE: join(d.dir, 'data') };
    const r = require('node:child_process').spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'compare', '--targets', 'host', '--suite', join(d.dir, 'suite.yaml'), '--reps', '1', '--db', join(d.dir, 'db')], { encoding: 'utf8', env, timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    const h = runCli(['history', '--json', '--db', join(d.dir, 'db')]);
    const run = JSON.parse(h.stdout)[0];
    const sc = JSON.parse(run.machine).system_check;
    t.truthy(sc, run.machine);
    t.deepEqual(sc.lines.map((l: { name: string }) => l.name).slice(0, 3), ['clocksource', 'governor', 'turbo']);
  } finally {
    d.cleanup();
  }
});
