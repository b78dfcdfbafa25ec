// Suite files: valid ones load, every error names the file, the line and the field.
import test from 'ava';

import { kindOfWorkload } from '../../lib/compare/kinds';
import { loadSuite, parseSuite, PAPER, QUICK, SCALING } from '../../lib/compare/suites';
import { checkNetOptions } from '../../lib/probe/net';
import { checkBlockOptions } from '../../lib/probe/block';
import { IsoprobeError } from '../../lib/errors';

test('built-in suites load and are valid', (t) => {
  t.is(loadSuite('quick'), QUICK);
  t.is(loadSuite('paper'), PAPER);
  t.is(loadSuite('scaling'), SCALING);
  for (const w of SCALING.workloads) if (w.workload.kind === 'block') t.notThrows(() => checkBlockOptions({ ...w.workload.options, file: '/tmp/x' }), w.name);
  t.true(SCALING.workloads.some((w) => (w.workload.options as { jobs?: number }).jobs === 2), 'two jobs');
  t.true(QUICK.workloads.length >= 5);
  t.true(PAPER.workloads.some((w) => w.workload.kind === 'stream' && (w.workload.options as { reverse?: boolean }).reverse === true), 'both directions');
});

test('quick+udp-stream-1472 adds quick\'s optional UDP stream after its own workloads; a name quick lacks is refused with those it has', (t) => {
  const s = loadSuite('quick+udp-stream-1472');
  t.deepEqual(s.workloads.map((w) => w.name), [...QUICK.workloads.map((w) => w.name), 'udp-stream-1472']);
  const w = s.workloads.at(-1)!.workload;
  t.is(kindOfWorkload(w), 'udp_stream');
  t.notThrows(() => checkNetOptions('stream', { ...(w.options as Record<string, unknown>), connect: '127.0.0.1:9' }), 'valid options');
  t.false(loadSuite('quick').workloads.some((x) => x.name === 'udp-stream-1472'), 'optional: not in quick itself');
  t.throws(() => loadSuite('quick+udp-stream-9000'), { message: '--suite "quick+udp-stream-9000": "udp-stream-9000" is not an optional workload of quick; expected udp-stream-1472' });
});

test('a YAML suite with defaults', (t) => {
  const s = parseSuite(`name: mine
duration: 1s
warmup: 100ms
workloads:
  - name: rr
    kind: rr
    options: {size: 64}
  - name: seq
    kind: block
    options:
      pattern: read
      bs: 64k
`, 'mine.yaml');
  t.is(s.name, 'mine');
  t.deepEqual(s.workloads.map((w) => w.name), ['rr', 'seq']);
  t.is((s.workloads[1]!.workload.options as { duration?: string }).duration, '1s');
});

const BAD: [string, string][] = [
  ['workloads:\n  - name: a\n    kind: block\n    options:\n      bs: 4q\n', 'suite f.yaml, line 5, workloads[0].options.bs: --bs "4q": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
  ['workloads:\n  - name: a\n    kind: disk\n', 'suite f.yaml, line 3, workloads[0].kind: expected block, rr or stream'],
  ['workloads:\n  - name: a\n    kind: rr\n  - name: a\n    kind: rr\n', 'suite f.yaml, line 4, workloads[1].name: "a" is used twice'],
  ['workloads:\n  - name: a\n    kind: rr\n    colour: red\n', 'suite f.yaml, line 4, workloads[0].colour: unknown field "colour" (expected name, kind, options, placement)'],
  ['workloads: []\n', 'suite f.yaml, line 1, workloads: expected a non-empty list of workloads'],
  ['workloads:\n  - name: a\n    kind: block\n    options: {file: /etc/passwd}\n', 'suite f.yaml, line 4, workloads[0].options.file: "file" is chosen by the comparison (the data file), not by the suite'],
  ['workloads:\n  - name: a\n   kind: rr\n', 'suite f.yaml, line 3: '],
];
for (const [text, message] of BAD) {
  test(`suite error: ${message.slice(0, 60)}`, (t) => {
    const e = t.throws(() => parseSuite(text, 'f.yaml'), { instanceOf: IsoprobeError });
    t.true(e!.message.startsWith(message), e!.message);
    t.is(e!.code, 'EINVALOPT');
  });
}

test('a JSON suite is read the same way, with line numbers', (t) => {
  const e = t.throws(() => parseSuite('{\n "workloads": [\n  {"name": "x", "kind": "rr", "options": {"size": 0}}\n ]\n}\n', 's.json'));
  t.is(e!.message, 'suite s.json, line 3, workloads[0].options.size: --size 0: expected a size of at least 1');
});
