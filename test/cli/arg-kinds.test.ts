// The command line's argument kinds (percentages, probabilities, durations): each parsed by one
// parser, and a bad value refused with a sentence naming the option, the value and what was
// expected, in the parser and as users meet it (the CLI as its own process).
import test from 'ava';
import { join } from 'node:path';

import { parseArgs, type Table, usageLines } from '../../lib/cli/args';
import { IsoprobeError } from '../../lib/errors';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const TABLE = {
  threshold: { kind: 'percent', default: 0.05, help: 'a threshold' },
  alpha: { kind: 'probability', default: 0.01, help: 'a level' },
  budget: { kind: 'duration', default: 600e9, min: 1e9, help: 'a budget' },
} satisfies Table;

test('good values parse to numbers of the option\'s own type', (t) => {
  const { values } = parseArgs(['--threshold', '7.5%', '--alpha=0.05', '--budget', '90s'], TABLE, 'x');
  // Typed from the table: a number, not unknown (this line does not compile otherwise).
  const sum: number = (values.threshold ?? 0) + (values.alpha ?? 0) + (values.budget ?? 0);
  t.is(values.threshold, 0.075);
  t.is(values.alpha, 0.05);
  t.is(values.budget, 90e9);
  t.is(sum, 0.075 + 0.05 + 90e9);
  t.is(parseArgs(['--threshold', '0.05'], TABLE, 'x').values.threshold, 0.05);
});

test('a bad value of each kind is refused with the option, the value and what was expected', (t) => {
  for (const [args, option, message] of [
    [['--threshold', '5'], 'threshold', '--threshold "5": expected a percentage like 5% (or a fraction like 0.05)'],
    [['--threshold', 'five%'], 'threshold', '--threshold "five%": expected a percentage like 5% (or a fraction like 0.05)'],
    [['--alpha', '1.5'], 'alpha', '--alpha "1.5": expected a number between 0 and 1'],
    [['--alpha', '0'], 'alpha', '--alpha "0": expected a number between 0 and 1'],
    [['--budget', 'soon'], 'budget', '--budget "soon": expected a time with a unit: ns, us, ms, s, m or h'],
    [['--budget', '10ms'], 'budget', '--budget "10ms": expected a time of at least 1s'],
  ] as const) {
    const e = t.throws(() => parseArgs([...args], TABLE, 'x'), { instanceOf: IsoprobeError });
    t.is(e?.message, message);
    t.is(e?.option, option);
  }
});

test('--help shows each kind by its word and its default in the kind\'s own notation', (t) => {
  const lines = usageLines(TABLE);
  t.regex(lines[0]!, /^ {2}--threshold PERCENT +a threshold \(default 5%\)$/);
  t.regex(lines[1]!, /^ {2}--alpha NUMBER +a level \(default 0\.01\)$/);
  t.regex(lines[2]!, /^ {2}--budget DURATION +a budget \(default 600s\)$/);
});

test('the CLI refuses bad --threshold, --alpha and --budget values by name, exit 2, before anything is read', (t) => {
  const db = join(tmp.dir, 'none.db');
  for (const [args, message] of [
    [['ab', '--baseline', '1', '--candidate', '2', '--threshold', '5'], 'isoprobe: --threshold "5": expected a percentage like 5% (or a fraction like 0.05)'],
    [['ab', '--baseline', '1', '--candidate', '2', '--cost-threshold', 'x'], 'isoprobe: --cost-threshold "x": expected a percentage like 5% (or a fraction like 0.05)'],
    [['ab', '--baseline', '1', '--candidate', '2', '--alpha', '2'], 'isoprobe: --alpha "2": expected a number between 0 and 1'],
    [['ab', '--run', '--baseline', 'host', '--candidate', 'runc', '--budget', 'soon'], 'isoprobe: --budget "soon": expected a time with a unit: ns, us, ms, s, m or h'],
    [['report', '--trend', '--alpha', 'high'], 'isoprobe: --alpha "high": expected a number between 0 and 1'],
  ] as const) {
    const r = runCli([...args, '--db', db]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim(), message);
    t.is(r.stdout, '');
  }
  t.false(require('node:fs').existsSync(db), 'refused before the database was opened');
});
