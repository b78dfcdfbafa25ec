// One vocabulary of result kinds: a stored result spelled the old way (the probe's mode, rr or
// stream, with its protocol) reads as today's kind through one mapping (kinds.ts's storedKind),
// and the kinds' names are spelled in one place per layer.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { loadSide } from '../../lib/compare/ab';
import { RESULT_KINDS, storedKind } from '../../lib/compare/kinds';
import { storedCells } from '../../lib/compare/stored-cells';
import { IsoprobeError } from '../../lib/errors';
import { resultsCsv } from '../../lib/report/csv';
import { Store } from '../../lib/store/db';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const stack = { name: 'host', kind: 'host' };

test('a stored run with old spellings reads as today\'s kinds; today\'s kinds read as they are', (t) => {
  const s = new Store(join(tmp.dir, 'kinds.db'));
  try {
    const run = s.startRun({ suite: 'quick', reps: 1, targets: ['host'], command: 'test' });
    const stored: [string, string, Record<string, unknown>][] = [
      ['udp', 'rr', { proto: 'udp', size: 64 }],
      ['tcp', 'rr', { size: 64 }],
      ['tcp-explicit', 'rr', { proto: 'tcp' }],
      ['stream', 'stream', { size: 131072 }],
      ['new', 'udp_rr', { proto: 'udp' }],
      ['block', 'block', { bs: 4096 }],
    ];
    for (const [w, kind, options] of stored) s.addResult(run, w, 'host', 1, { kind, options, target: stack });
    const kinds = Object.fromEntries(storedCells(s, run).map((c) => [c.workload, c.results[0]!.kind]));
    t.deepEqual(kinds, { udp: 'udp_rr', tcp: 'tcp_rr', 'tcp-explicit': 'tcp_rr', stream: 'tcp_stream', new: 'udp_rr', block: 'block' });
  } finally {
    s.close();
  }
});

test('every reader of a stored result reads an old spelling as today\'s kind: ab\'s sides (a run, an export file) and the CSV export', (t) => {
  const s = new Store(join(tmp.dir, 'readers.db'));
  try {
    const run = s.startRun({ suite: 'quick', reps: 1, targets: ['host'], command: 'test' });
    s.addResult(run, 'rr', 'host', 0, { kind: 'rr', options: { size: 64 }, tps: 12_345, target: stack });
    const side = loadSide(String(run), () => s, 'baseline');
    t.is(side.results.get('rr')!.get('host')![0]!.kind, 'tcp_rr');
    const file = join(tmp.dir, 'old-export.json');
    require('node:fs').writeFileSync(file, JSON.stringify({ results: [{ workload: 'rr', target: 'host', rep: 0, result: { kind: 'stream', options: {}, gbps: 9, target: stack } }] }));
    t.is(loadSide(file, () => s, 'candidate').results.get('rr')!.get('host')![0]!.kind, 'tcp_stream');
    // The CSV's tps column is the rr kind's rate: empty where the old spelling was not read as tcp_rr.
    const [head, line] = resultsCsv(run, s.results(run)).split('\n');
    t.is(line!.split(',')[head!.split(',').indexOf('tps')], '12345', `${head}\n${line}`);
  } finally {
    s.close();
  }
});

test('a stored kind that is neither today\'s nor an old spelling is refused by name', (t) => {
  for (const [kind, options] of [['rx', undefined], ['rr', { proto: 'sctp' }], ['serve', undefined]] as const) {
    const e = t.throws(() => storedKind(kind, options), { instanceOf: IsoprobeError });
    t.is(e?.message, `a stored result of kind "${kind}": expected one of ${RESULT_KINDS.join(', ')} (or rr, stream as older results spell them)`);
  }
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the kinds are spelled in one place per layer: above the store only in kinds.ts, below it in one file a folder', (t) => {
  const root = join(__dirname, '..', '..', '..');
  // The layers that can read the kinds table (test/layering.test.ts: compare and those above it)
  // branch on kinds through it; a lower layer, which may not import it, keeps its own one place.
  const reading = new Set(['compare', 'fleet', 'formats', 'report', 'cli']);
  // 'block' is also a mode, a layer and a word of prose: the network kinds are the telling names.
  const names = RESULT_KINDS.filter((k) => k !== 'block');
  t.true(names.length >= 3, names.join(', '));
  const quoted = new RegExp(`['"\`](${names.join('|')})['"\`]`);
  const spelled = tsFiles(join(root, 'lib')).map((f) => relative(root, f)).filter((f) => quoted.test(readFileSync(join(root, f), 'utf8')));
  const folder = (f: string) => (f.split('/').length > 2 ? f.split('/')[1]! : '(entry)');
  t.deepEqual(spelled.filter((f) => (reading.has(folder(f)) || folder(f) === '(entry)') && f !== 'lib/compare/kinds.ts'), []);
  const below = new Map<string, string[]>();
  for (const f of spelled.filter((x) => !reading.has(folder(x)) && folder(x) !== '(entry)')) below.set(folder(f), [...(below.get(folder(f)) ?? []), f]);
  for (const [dir, files] of below) t.is(files.length, 1, `${dir}: ${files.join(', ')}`);
});
