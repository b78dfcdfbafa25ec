// A default that depends on what a run measures (a stream's message size) is declared once, in the
// core's option table (by_kind): the probe's own command line and the TypeScript side both apply
// that row, so for every network kind of the kinds table they give the same size, the row's.
import test from 'ava';

import { KINDS, RESULT_KINDS } from '../../lib/compare/kinds';
import { coerce } from '../../lib/probe/options';
import { NET_OPTIONS, normalizeNetOptions } from '../../lib/probe/net-options';
import { runProbe } from '../helpers';

const netKinds = RESULT_KINDS.filter((k) => KINDS[k].network);

/** The size the probe's own CLI ran a loopback run of `kind` with (its result's options echo it). */
function probeSize(kind: (typeof netKinds)[number], extra: string[] = []): number {
  const f = KINDS[kind];
  const r = runProbe(['net', f.mode, '--loopback', `--proto=${f.proto}`, '--duration=100ms', '--warmup=0', ...extra]);
  if (r.code !== 0) throw new Error(`probe net ${f.mode} --proto=${f.proto}: exit ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { options: { size: number } }).options.size;
}

test('a kind\'s size default is the core table\'s row for it, the same in the probe\'s CLI and in TypeScript', (t) => {
  const row = NET_OPTIONS.size;
  t.true(Object.keys(row.byKind ?? {}).length > 0, `the size row declares defaults by kind: ${JSON.stringify(row.byKind)}`);
  for (const kind of netKinds) {
    const f = KINDS[kind];
    const declared = row.byKind?.[kind];
    const expected = declared === undefined ? row.default : (coerce('size', row, declared) as number);
    const ts = normalizeNetOptions(f.mode as 'rr' | 'stream', { proto: f.proto, connect: '127.0.0.1:9' }).size;
    t.is(ts, expected, `${kind}: TypeScript's default size (row: ${declared ?? `default ${row.default}`})`);
    t.is(probeSize(kind), expected, `${kind}: the probe's default size`);
  }
});

test('a size given on the command line wins over the kind\'s default, in both', (t) => {
  t.is(normalizeNetOptions('stream', { proto: 'udp', connect: '127.0.0.1:9', size: 2000 }).size, 2000);
  t.is(probeSize('udp_stream', ['--size=2000']), 2000);
  t.is(probeSize('tcp_stream', ['--size', '4k']), 4096, 'the flag and its value as two words');
});
