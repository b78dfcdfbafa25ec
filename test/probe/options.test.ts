// Every block option refuses bad values before any I/O, naming the option, the value and what was expected.
import test from 'ava';
import fc from 'fast-check';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { checkBlockOptions, runBlock } from '../../lib/probe/block';
import { native } from '../../lib/probe/native';
import { BLOCK_OPTIONS, type BlockOptions, CLOCKS, ENGINES, normalizeBlockOptions, PATTERNS, toProbeFlags } from '../../lib/probe/options';
import { parseDuration, parseSize } from '../../lib/units';
import { runProbe, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const F = () => join(tmp.dir, 'opts.dat');

// [options, option named, exact message]
const INVALID: [Record<string, unknown>, string, string][] = [
  [{ bs: '4q' }, 'bs', '--bs "4q": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
  [{ bs: -1 }, 'bs', '--bs -1: expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
  [{ bs: 0 }, 'bs', '--bs 0: expected a size of at least 1'],
  [{ bs: '128M' }, 'bs', '--bs "128M": expected a size of at most 64M'],
  [{ size: '1.5' }, 'size', '--size "1.5": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
  [{ offset: 'x' }, 'offset', '--offset "x": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
  [{ engine: 'libaio' }, 'engine', '--engine "libaio": expected one of psync, pvsync2, io_uring, null'],
  [{ pattern: 'rand' }, 'pattern', '--pattern "rand": expected one of read, write, randread, randwrite, randrw'],
  [{ rwmix_read: 101 }, 'rwmix_read', '--rwmix-read 101: expected a number of at most 100'],
  [{ qd: 0 }, 'qd', '--qd 0: expected a number of at least 1'],
  [{ qd: 1.5 }, 'qd', '--qd 1.5: expected a whole number >= 0'],
  [{ qd: 5000 }, 'qd', '--qd 5000: expected a number of at most 4096'],
  [{ direct: 'yes' }, 'direct', '--direct "yes": expected true or false'],
  [{ duration: '5 s' }, 'duration', '--duration "5 s": expected a time with a unit: ns, us, ms, s, m or h'],
  [{ duration: '0.5ns' }, 'duration', '--duration "0.5ns": expected a time with a unit: ns, us, ms, s, m or h'],
  [{ warmup: '1d' }, 'warmup', '--warmup "1d": expected a time with a unit: ns, us, ms, s, m or h'],
  [{ fsync: -2 }, 'fsync', '--fsync -2: expected a whole number >= 0'],
  [{ clock: 'hpet' }, 'clock', '--clock "hpet": expected one of monotonic, tsc, cntvct, auto'],
  [{ cpu: -2 }, 'cpu', '--cpu -2: expected a number of at least -1'],
  [{ seed: 'abc' }, 'seed', '--seed "abc": expected a whole number >= 0'],
  [{ qdepth: 4 }, 'qdepth', 'unknown option "qdepth"; did you mean "qd" (--qd)?'],
  [{ blocksize: 4 }, 'blocksize', 'unknown option "blocksize"'],
  // Cross-field rules, checked by the core before any I/O:
  [{ engine: 'psync', qd: 4 }, 'qd', '--qd 4: psync is synchronous and has one I/O in flight; use --engine io_uring for a deeper queue'],
  [{ size: '4k', bs: '8k' }, 'size', '--size 4096: expected at least one block (--bs 8192)'],
  [{ size: '10k', bs: '4k' }, 'size', '--size 10240: expected a multiple of --bs 4096'],
  [{ pattern: 'randread', fsync: 8 }, 'fsync', '--fsync: flushes follow writes; --pattern randread writes nothing'],
  [{ pattern: 'write', fsync: 1, fdatasync: 1 }, 'fdatasync', '--fdatasync: give either --fsync or --fdatasync, not both'],
  [{ hipri: true }, 'hipri', '--hipri: applies to --engine pvsync2, not psync'],
  [{ sqpoll: true }, 'sqpoll', '--sqpoll: applies to --engine io_uring, not psync'],
  [{ fixed_bufs: true, engine: 'pvsync2' }, 'fixed_bufs', '--fixed-bufs: applies to --engine io_uring, not pvsync2'],
  [{ engine: 'io_uring', iopoll: true }, 'iopoll', '--iopoll: polled completions need --direct'],
  [{ verify: true, engine: 'null' }, 'verify', '--verify: the null engine moves no data'],
  [{ verify: true, bs: 32 }, 'bs', '--bs 32: --verify needs blocks of at least 64 bytes'],
  [{ force: true }, 'force', '--force: only meaningful together with --destructive'],
  [{ engine: 'io_uring', qd: 4, batch: 8 }, 'batch', '--batch 8: expected from 1 to --qd (4)'],
  [{ duration: 0, ops: 0 }, 'duration', '--duration 0: expected a positive time, or give --ops'],
];

for (const [opts, option, message] of INVALID) {
  test(`invalid: ${JSON.stringify(opts)}`, (t) => {
    const e = t.throws(() => checkBlockOptions({ file: F(), ...opts }), { instanceOf: IsoprobeError });
    t.is(e!.code, 'EINVALOPT');
    t.is(e!.option, option);
    t.is(e!.message, message);
    t.false(existsSync(F()), 'nothing was created');
  });
}

test('the file option is required', (t) => {
  const e = t.throws(() => normalizeBlockOptions({}), { instanceOf: IsoprobeError });
  t.is(e!.message, '--file: expected a path to a data file or block device');
});

test('the static probe gives the same messages for the same flags (one core behind both)', (t) => {
  const cases: [string[], string][] = [
    [['--bs', '4q'], '--bs "4q": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
    [['--engine', 'libaio'], '--engine "libaio": expected one of psync, pvsync2, io_uring, null'],
    [['--qd', '4'], '--qd 4: psync is synchronous and has one I/O in flight; use --engine io_uring for a deeper queue'],
    [['--qdepth', '4'], '--qdepth: unknown option (see isoprobe-probe block --help)'],
    [['--duration', '5 s'], '--duration "5 s": expected a time with a unit: ns, us, ms, s, m or h'],
    [['--direct=maybe'], '--direct "maybe": expected true or false'],
  ];
  for (const [args, message] of cases) {
    const r = runProbe(['block', '--file', F(), ...args]);
    t.is(r.code, 2, args.join(' '));
    const err = JSON.parse(r.stdout).error;
    t.is(err.code, 'EINVALOPT');
    t.is(err.message, message);
    t.is(r.stderr.trim(), `isoprobe-probe: ${message}`);
  }
  t.false(existsSync(F()));
});

// A bound as the probe's flag takes it: sizes in bytes, times in ns, numbers as they are.
const flagValue = (kind: string, n: number) => (kind === 'duration' ? `${n}ns` : String(n));

test('the core\'s table enforces each option\'s min and max itself: the probe refuses a value past either bound, naming the option and the bounds', (t) => {
  let checked = 0;
  for (const which of ['block', 'net'] as const) {
    const rows = JSON.parse(native().optionTable(which)) as { name: string; kind: string; min?: number; max?: number }[];
    for (const row of rows) {
      const past = [...(row.min !== undefined && row.min > Number.MIN_SAFE_INTEGER && (row.min > 0 || row.kind === 'int') ? [row.min - 1] : []), ...(row.max !== undefined ? [row.max + 1] : [])];
      for (const v of past) {
        const flag = `--${row.name.replace(/_/g, '-')}`;
        const r = runProbe(which === 'block' ? ['block', '--file', F(), `${flag}=${flagValue(row.kind, v)}`] : ['net', 'rr', '--loopback', `${flag}=${flagValue(row.kind, v)}`]);
        t.is(r.code, 2, `${which} ${flag} ${v}: ${r.stderr}`);
        const err = JSON.parse(r.stdout).error;
        t.is(err.option, row.name, `${which} ${flag} ${v}`);
        const expected = row.min !== undefined && row.max !== undefined ? 'from \\S+ to \\S+' : row.min !== undefined ? 'at least \\S+' : 'at most \\S+';
        t.regex(err.message, new RegExp(`^${flag} \\S+: expected ${expected}$`), `${which} ${flag} ${v}`);
        checked++;
      }
    }
  }
  t.true(checked >= 15, `bounded options checked: ${checked}`);
  t.false(existsSync(F()));
});

// Every option of the BlockOptions type, named here only to check the core's table has each.
const BLOCK_KEYS: (keyof BlockOptions)[] = ['file', 'size', 'offset', 'engine', 'pattern', 'rwmix_read', 'bs', 'qd', 'batch', 'direct', 'dsync', 'fsync', 'fdatasync', 'ops',
  'duration', 'warmup', 'seed', 'verify', 'hipri', 'sqpoll', 'iopoll', 'register_files', 'fixed_bufs', 'invalidate', 'fadvise', 'destructive', 'force', 'clock', 'lock', 'cpu', 'jobs', 'split', 'cpus', 'op_log'];

test('the option table TypeScript uses is the core\'s, with every option of the type', (t) => {
  t.deepEqual(Object.keys(BLOCK_OPTIONS).sort(), [...BLOCK_KEYS].sort());
  t.deepEqual(BLOCK_OPTIONS, JSON.parse(JSON.stringify(BLOCK_OPTIONS)), 'plain data');
  t.deepEqual([...BLOCK_OPTIONS.engine.choices!], [...ENGINES]);
  t.deepEqual([...BLOCK_OPTIONS.pattern.choices!], [...PATTERNS]);
  t.deepEqual([...BLOCK_OPTIONS.clock.choices!], [...CLOCKS]);
  // Defaults are what a default-constructed core struct holds, as the probe uses them.
  t.is(BLOCK_OPTIONS.size.default, 256 * 2 ** 20);
  t.is(BLOCK_OPTIONS.duration.default, 5e9);
  t.is(BLOCK_OPTIONS.invalidate.default, true);
  t.is(BLOCK_OPTIONS.cpu.default, -1);
  t.deepEqual([BLOCK_OPTIONS.qd.min, BLOCK_OPTIONS.qd.max], [1, 4096]);
});

test('--help of the probe lists every option with the default the core uses', (t) => {
  const r = runProbe(['block', '--help']);
  t.is(r.code, 0);
  for (const [name, d] of Object.entries(BLOCK_OPTIONS)) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`  --${name.replace(/_/g, '-')} `));
    t.truthy(line, name);
    if (name !== 'file') t.regex(line!, /\(default [^)]+\)$/, `${name} states its default`);
    t.true(line!.includes(d.help), `${name}: the same help as the table`);
  }
  t.regex(r.stdout, /--size SIZE +region size \(default 256M\)/);
  t.regex(r.stdout, /--duration DURATION +measured time \(default 5s\)/);
  t.regex(r.stdout, /--invalidate +drop the region from the page cache before the run \(default on\)/);
});

test('O_DIRECT alignment is checked against the file system before any I/O', async (t) => {
  const file = join(tmp.dir, 'align.dat');
  const e = await t.throwsAsync(runBlock({ file, direct: true, bs: 1000, size: 1000 * 16, duration: '50ms', warmup: '0ns' }));
  t.is((e as IsoprobeError).option, 'bs');
  t.regex((e as Error).message, /^--bs 1000: expected a multiple of \d+ bytes with --direct \(the O_DIRECT alignment of /);
});

test('a missing directory is a clear error and creates nothing', async (t) => {
  const file = join(tmp.dir, 'no', 'such', 'dir', 'x.dat');
  const e = await t.throwsAsync(runBlock({ file, duration: '50ms' }));
  t.is((e as Error).message, `--file ${file}: directory ${join(tmp.dir, 'no', 'such', 'dir')} does not exist`);
});

test('a read-only file is refused for a write pattern, even with --destructive', async (t) => {
  const file = join(tmp.dir, 'ro.dat');
  writeFileSync(file, Buffer.alloc(65536));
  chmodSync(file, 0o444);
  const e = await t.throwsAsync(runBlock({ file, pattern: 'write', size: '64k', destructive: true, duration: '50ms', warmup: '0ns' }));
  t.is((e as IsoprobeError).code, 'EREFUSED');
  t.regex((e as Error).message, /the file is read-only \(mode 444\); a write pattern needs a writable file/);
});

test('a region larger than an existing file is refused', async (t) => {
  const file = join(tmp.dir, 'small.dat');
  writeFileSync(file, Buffer.alloc(65536));
  const e = await t.throwsAsync(runBlock({ file, size: '1M', duration: '50ms' }));
  t.is((e as IsoprobeError).option, 'size');
  t.regex((e as Error).message, /is 65536 bytes; --offset 0 \+ --size 1048576 needs 1048576 bytes/);
});

test('property: sizes and durations parse exactly and round-trip through the probe flags', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(['', 1], ['k', 1024], ['M', 2 ** 20], ['G', 2 ** 30]), (n, [suf, mult]) => {
        const text = `${n}${suf}`;
        const v = parseSize(text);
        return n * (mult as number) > Number.MAX_SAFE_INTEGER ? v === undefined : v === n * (mult as number);
      }),
    ),
  );
  t.is(parseDuration('1.5s'), 1_500_000_000);
  t.is(parseDuration('250us'), 250_000);
  t.is(parseDuration('2'), 2e9);
  t.is(parseSize('1.5k'), 1536);
  t.is(parseSize('1.3'), undefined);
  t.is(parseSize(' 4k'), undefined);
  t.is(parseSize('-4k'), undefined);
  const o = normalizeBlockOptions({ file: '/x', bs: '64k', duration: '1500ms', cpu: -1 });
  t.true(toProbeFlags(o).includes('--bs=65536'));
  t.true(toProbeFlags(o).includes('--duration=1500000000ns'));
});

test('the TS and core net option tables list the same options', async (t) => {
  const { NET_OPTIONS } = await import('../../lib/probe/net-options');
  t.deepEqual(Object.keys(NET_OPTIONS).sort(), (JSON.parse(native().optionTable('net')) as { name: string }[]).map((s) => s.name).sort());
  t.deepEqual([NET_OPTIONS.conns.min, NET_OPTIONS.conns.max, NET_OPTIONS.timeout.min], [1, 256, 1e6]);
});
