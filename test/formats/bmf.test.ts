// Bencher Metric Format export: valid against Bencher's published schema (bencher.dev/bmf.json),
// a benchmark per workload and target, the summary's bootstrap interval bracketing each value.
import test from 'ava';

import { storedCells } from '../../lib/compare/stored-cells';
import { bmf, measureName } from '../../lib/formats/bmf';
import { measuresOf } from '../../lib/formats/measures';
import { bootstrap } from '../../lib/stats/resample';
import { Store } from '../../lib/store/db';
import { runCli, tempDir } from '../helpers';
import { storedRun } from './stored-run';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** Bencher's schema, draft-07, as published: an object of objects of { value (required), lower_value, upper_value } numbers. */
const SCHEMA = {
  type: 'object',
  patternProperties: { '.+': { type: 'object', patternProperties: { '.+': { type: 'object', properties: { value: { type: 'number' }, lower_value: { type: 'number' }, upper_value: { type: 'number' } }, required: ['value'] } } } },
} as const;

/** The schema's rules, checked as a draft-07 validator would (the subset the schema uses); the problems found. */
function validate(doc: unknown): string[] {
  const bad: string[] = [];
  const isObj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(doc)) return ['top level: expected an object'];
  const measureSchema = SCHEMA.patternProperties['.+'].patternProperties['.+'];
  for (const [b, measures] of Object.entries(doc as object)) {
    if (!isObj(measures)) { bad.push(`${b}: expected an object`); continue; }
    for (const [m, metric] of Object.entries(measures as object)) {
      if (!isObj(metric)) { bad.push(`${b}.${m}: expected an object`); continue; }
      for (const k of measureSchema.required) if (!(k in metric)) bad.push(`${b}.${m}: ${k} required`);
      for (const k of Object.keys(measureSchema.properties)) {
        const v = (metric as Record<string, unknown>)[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) bad.push(`${b}.${m}.${k}: expected a number, got ${JSON.stringify(v)}`);
      }
      if (m.length > 64) bad.push(`${b}.${m}: a measure's slug is at most 64 characters`);
    }
  }
  return bad;
}

test('one repetition has no interval, so no bounds are written; a value of several reps lies within its bounds', (t) => {
  const def = { name: 'p50', unit: 'ns' } as never;
  const one = bmf([{ target: 'host', workload: 'w', metric: def, values: [5], interval: bootstrap([5]) }]);
  t.deepEqual(one, { 'w/host': { p50_ns: { value: 5 } } });
  t.deepEqual(validate(one), []);
  const xs = [10, 12, 11, 30, 9];
  const many = bmf([{ target: 'host', workload: 'w', metric: def, values: xs, interval: bootstrap(xs) }])['w/host']!.p50_ns!;
  t.is(many.value, 11);
  t.true(many.lower_value! <= 11 && 11 <= many.upper_value! && many.lower_value! < many.upper_value!, JSON.stringify(many));
});

test('export --format bmf of a stored run: valid BMF, the compare summary\'s intervals, bracketing each value', (t) => {
  const run = storedRun(tmp.dir);
  t.is(run.code, 0, run.stderr);
  const e = runCli(['export', '--db', run.db, '--format', 'bmf', '1']);
  t.is(e.code, 0, e.stderr);
  const doc = JSON.parse(e.stdout) as Record<string, Record<string, { value: number; lower_value?: number; upper_value?: number }>>;
  t.deepEqual(validate(doc), []);
  t.deepEqual(Object.keys(doc).sort(), ['randread-4k/host', 'tcp-rr-64/host', 'write-4k/host']);
  const store = new Store(run.db);
  const measures = measuresOf(storedCells(store, 1));
  store.close();
  for (const m of measures) {
    const got = doc[`${m.workload}/${m.target}`]![measureName(m.metric.name, m.metric.unit)]!;
    t.truthy(got, `${m.workload} ${m.metric.name}`);
    t.is(got.value, m.interval.estimate);
    t.true(got.lower_value! <= got.value && got.value <= got.upper_value!, `${m.workload} ${m.metric.name}: ${got.lower_value} <= ${got.value} <= ${got.upper_value}`);
    t.true(Math.min(...m.values) <= got.lower_value! && got.upper_value! <= Math.max(...m.values), `${m.workload} ${m.metric.name}: bounds within the repetitions' range`);
  }
  t.true(['p50_ns', 'p99_ns', 'iops'].every((k) => k in doc['randread-4k/host']!), Object.keys(doc['randread-4k/host']!).join(', '));
});
