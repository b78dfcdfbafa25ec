// The suite-wide A/B gate as a user runs it: two stored runs (here written as export files), one
// verdict over every workload x target x metric, the exit code for git bisect run, and the CI
// outputs (JUnit validated against a schema by xmllint, Markdown, JSON).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Side } from '../../lib/compare/ab';
import { gateExitCode, suiteGate } from '../../lib/compare/gate';
import { METRICS } from '../../lib/compare/metrics';
import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import { rng } from '../../lib/stats/resample';
import type { TargetResult } from '../../lib/targets/types';
import { settingKeys } from '../../lib/targets/variant';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** A block or rr result whose latency distribution is scaled by `lat` and whose rate by `rate`. */
function result(kind: 'block' | 'tcp_rr', lat: number, rate: number, r: () => number): TargetResult {
  const values = Array.from({ length: 3000 }, (_, i) => Math.round(lat * (20_000 + (i % 101) * 120 + Math.abs(normal(r)) * 800)));
  const latency = summarizeHistogram(histogramOf(values));
  const options = kind === 'block' ? { engine: 'psync', pattern: 'randread', bs: 4096, qd: 1, direct: true, size: 1 << 24 } : { mode: 'rr', proto: 'tcp', size: 64 };
  return { kind, options, latency_ns: latency, ...(kind === 'block' ? { iops: rate } : { tps: rate }), target: { emulated: false } } as unknown as TargetResult;
}

/** An export file of a run: workloads x targets x reps, noise cv, and one cell made slower. */
function exportFile(name: string, seed: number, o: { slow?: { workload: string; target: string; p99: number }; reps?: number; targets?: string[]; cv?: number } = {}): string {
  const r = rng(seed);
  const results = [];
  for (let rep = 0; rep < (o.reps ?? 5); rep++) {
    for (const [w, kind] of [['randread', 'block'], ['randwrite', 'block'], ['tcp-rr', 'tcp_rr']] as const) {
      for (const target of o.targets ?? ['host', 'runc', 'qemu-microvm']) {
        const noise = Math.exp((o.cv ?? 0.02) * normal(r));
        const slow = o.slow && o.slow.workload === w && o.slow.target === target ? o.slow.p99 : 1;
        results.push({ workload: w, target, rep, result: result(kind, noise * slow, 30_000 / (noise * slow), r) });
      }
    }
  }
  const file = join(tmp.dir, name);
  writeFileSync(file, JSON.stringify({ run: { id: seed }, results }));
  return file;
}

test('an A/A comparison over the suite: no regression, exit 0, every cell listed', (t) => {
  const a = exportFile('a1.json', 1, { cv: 0.005 });
  const b = exportFile('a2.json', 2, { cv: 0.005 });
  const r = runCli(['ab', '--baseline', a, '--candidate', b]);
  t.is(r.code, 0, r.stdout + r.stderr);
  // 3 targets x (2 block workloads x 3 metrics + 1 rr workload x 3 metrics)
  t.is(r.stdout.split('\n').filter((l) => /(no significant change|below the noise threshold|improvement|regression)$/.test(l)).length, 27);
  t.regex(r.stdout, /^NO REGRESSION in 27 cells/m);
  t.regex(r.stdout, /max-T permutation test \(Westfall-Young\) over 27 cells, all 252 relabellings/);
});

test('an A/A too noisy to have found a 5 % change is INCONCLUSIVE, exit 125, each cell with the change it could have found', (t) => {
  const a = exportFile('n1.json', 1, { cv: 0.06 });
  const b = exportFile('n2.json', 2, { cv: 0.06 });
  const r = runCli(['ab', '--baseline', a, '--candidate', b, '--json']);
  t.is(r.code, 125, r.stderr);
  const j = JSON.parse(r.stdout) as { verdict: string; regressions: number; inconclusive: number; cells: { verdict: string; detectable: number }[] };
  t.is(j.verdict, 'inconclusive');
  t.is(j.regressions, 0);
  t.true(j.inconclusive > 0);
  for (const c of j.cells.filter((x) => x.verdict === 'inconclusive')) t.true(c.detectable > 0.05, `could find ${c.detectable}`);
  for (const c of j.cells.filter((x) => x.verdict === 'no significant change')) t.true(c.detectable <= 0.05, `could find ${c.detectable}`);
  const text = runCli(['ab', '--baseline', a, '--candidate', b]);
  t.is(text.code, 125);
  t.regex(text.stdout, /could find/);
  t.regex(text.stdout, /^INCONCLUSIVE: \d+ of 27 cells could not have found a 5\.0 % change .*measure more repetitions \(--reps\), or in block pairs \(ab --run\)/m);
});

test('a 25 % slower tail in one cell is the one regression: exit 1, named with its numbers', (t) => {
  const a = exportFile('b1.json', 3, { cv: 0.005 });
  const b = exportFile('b2.json', 4, { cv: 0.005, slow: { workload: 'randwrite', target: 'qemu-microvm', p99: 1.25 } });
  const r = runCli(['ab', '--baseline', a, '--candidate', b]);
  t.is(r.code, 1, r.stdout + r.stderr);
  const bad = r.stdout.split('\n').filter((l) => /regression$/.test(l));
  t.true(bad.length >= 1 && bad.every((l) => /^randwrite +qemu-microvm /.test(l)), bad.join('\n'));
  t.regex(r.stdout, /^randwrite +qemu-microvm +p99 +.* \+2\d\.\d % \[.*\] +0\.00\d+ +[\d.]+ % +regression$/m);
  t.regex(r.stdout, /^REGRESSION: \d+ of 27 cells regressed/m);
  // Narrowing to other cells leaves the regression out.
  const other = runCli(['ab', '--baseline', a, '--candidate', b, '--target', 'host,runc']);
  t.is(other.code, 0, other.stdout);
  t.regex(other.stdout, /^NO REGRESSION in 18 cells/m);
  const one = runCli(['ab', '--baseline', a, '--candidate', b, '--workload', 'randwrite', '--target', 'qemu-microvm', '--metric', 'p99']);
  t.is(one.code, 1);
  t.regex(one.stdout, /over 1 cells/);
});

test('cells on one side only are listed, not silent; nothing comparable is exit 125 for git bisect', (t) => {
  const a = exportFile('c1.json', 5, { cv: 0.005, targets: ['host', 'runc'] });
  const b = exportFile('c2.json', 6, { cv: 0.005, targets: ['host', 'kata'] });
  const r = runCli(['ab', '--baseline', a, '--candidate', b]);
  t.is(r.code, 0, r.stdout);
  t.regex(r.stdout, /^only in the baseline: randread on runc$/m);
  t.regex(r.stdout, /^only in the candidate: tcp-rr on kata$/m);
  const none = runCli(['ab', '--baseline', a, '--candidate', b, '--target', 'runc']);
  t.is(none.code, 125, none.stdout);
  t.regex(none.stdout, /^NO VERDICT: nothing comparable/m);
  const missing = runCli(['ab', '--baseline', a, '--candidate', join(tmp.dir, 'nope.json')]);
  t.is(missing.code, 2, 'a bad argument is bad input, not "cannot tell"');
});

test('bad input: each option named with its value and what was expected, exit 2', (t) => {
  const a = exportFile('d1.json', 7);
  const cases: [string[], string][] = [
    [['--metric', 'p42'], `isoprobe: --metric "p42": expected one of ${METRICS.join(', ')}`],
    [['--threshold', 'five'], 'isoprobe: --threshold "five": expected a percentage like 5% (or a fraction like 0.05)'],
    [['--alpha', '2'], 'isoprobe: --alpha "2": expected a number between 0 and 1'],
  ];
  for (const [args, msg] of cases) {
    const r = runCli(['ab', '--baseline', a, '--candidate', a, ...args]);
    t.is(r.code, 2, args.join(' '));
    t.is(r.stderr.trim(), msg);
  }
  const run = runCli(['ab', '--run', '--baseline', 'qemu-microvm[kernel=6.1]', '--candidate', 'qemu-microvm[kernel=6.1]']);
  t.is(run.code, 2);
  t.is(run.stderr.trim(), 'isoprobe: --candidate "qemu-microvm[kernel=6.1]": the same as the baseline; name two different targets or settings');
  const unknown = runCli(['ab', '--run', '--baseline', 'qemu-microvm[kernal=6.1]', '--candidate', 'qemu-microvm']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr.trim(), `isoprobe: --baseline "qemu-microvm[kernal=6.1]": qemu-microvm has no setting "kernal" (did you mean "kernel"?); expected one of ${settingKeys('qemu-microvm').join(', ')}`);
});

const xmllint = spawnSync('xmllint', ['--version']).status === 0 ? undefined : 'xmllint is not installed (Debian package libxml2-utils; scripts/setup.sh installs it)';

// The JUnit structure CI systems read (the subset isoprobe writes), as an XML Schema.
const JUNIT_XSD = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="testsuites"><xs:complexType><xs:sequence>
    <xs:element name="testsuite" maxOccurs="unbounded"><xs:complexType><xs:sequence>
      <xs:element name="testcase" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:choice minOccurs="0">
        <xs:element name="failure"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">
          <xs:attribute name="message" type="xs:string" use="required"/><xs:attribute name="type" type="xs:string"/>
        </xs:extension></xs:simpleContent></xs:complexType></xs:element>
        <xs:element name="skipped"><xs:complexType><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
        <xs:element name="system-out" type="xs:string"/>
      </xs:choice>
        <xs:attribute name="classname" type="xs:string" use="required"/><xs:attribute name="name" type="xs:string" use="required"/>
      </xs:complexType></xs:element>
    </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/><xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger" use="required"/><xs:attribute name="errors" type="xs:nonNegativeInteger"/>
      <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
    </xs:complexType></xs:element>
  </xs:sequence>
    <xs:attribute name="name" type="xs:string"/><xs:attribute name="tests" type="xs:nonNegativeInteger"/><xs:attribute name="failures" type="xs:nonNegativeInteger"/>
  </xs:complexType></xs:element>
</xs:schema>`;

(xmllint ? test.skip : test)(`--junit writes a valid JUnit file: a testcase per cell, the regression a failure with its numbers; --markdown and --json agree${xmllint ? ` [skipped: ${xmllint}]` : ''}`, (t) => {
  const a = exportFile('e1.json', 8);
  const b = exportFile('e2.json', 9, { slow: { workload: 'randread', target: 'runc', p99: 1.3 } });
  const junit = join(tmp.dir, 'ab.xml');
  const md = join(tmp.dir, 'ab.md');
  const r = runCli(['ab', '--baseline', a, '--candidate', b, '--junit', junit, '--markdown', md]);
  t.is(r.code, 1);
  const xsd = join(tmp.dir, 'junit.xsd');
  writeFileSync(xsd, JUNIT_XSD);
  const v = spawnSync('xmllint', ['--noout', '--schema', xsd, junit], { encoding: 'utf8' });
  t.is(v.status, 0, v.stderr);
  const xml = readFileSync(junit, 'utf8');
  t.is((xml.match(/<testcase /g) ?? []).length, 27);
  const failures = xml.match(/<failure type="regression" message="([^"]*)"/g) ?? [];
  t.true(failures.length >= 1);
  t.regex(xml, /<testcase classname="randread" name="runc p99"><failure type="regression" message="p99 [^"]+ -&gt; [^"]+ \(\+\d+\.\d % \[/);
  t.regex(xml, /<testsuites name="isoprobe ab" tests="27" failures="\d+">/);
  const mdText = readFileSync(md, 'utf8');
  t.regex(mdText, /^\*\*REGRESSION: \d+ of 27 cells regressed/m);
  t.regex(mdText, /^\| randread \| runc \| p99 \| .* \| \*\*regression\*\* \|$/m);
  const j = JSON.parse(runCli(['ab', '--baseline', a, '--candidate', b, '--json']).stdout);
  t.is(j.verdict, 'regression');
  t.is(j.cells.length, 27);
  t.is(j.cells.filter((c: { verdict: string }) => c.verdict === 'regression').length, failures.length);
});

test('the gate on sides built in code: the JSON verdict and the exit code agree', (t) => {
  const side = (label: string, scale: number): Side => {
    const r = rng(label.length);
    const results = new Map([['w', new Map([['host', [0, 1, 2, 3, 4].map(() => result('block', scale * Math.exp(0.01 * normal(r)), 30_000, r))]])]]);
    return { label, results };
  };
  const g = suiteGate(side('a', 1), side('bb', 1.5), { alpha: 0.01, threshold: 0.05, metrics: ['p50'] });
  t.is(g.cells.length, 1);
  t.is(g.cells[0]!.verdict, 'regression');
  t.is(gateExitCode(g), 1);
  t.is(gateExitCode(suiteGate(side('a', 1), side('bb', 1.5), { alpha: 0.01, threshold: 0.05, metrics: ['p50'], targets: ['none'] })), 125);
});

test('a gate that cannot fail is refused: 4 vs 4 at alpha 0.01 (smallest p 1/70) exits 125 and says how many repetitions it needs', (t) => {
  const a = exportFile('a4.json', 41, { reps: 4, targets: ['host'] });
  // Every candidate repetition 50 % slower: fully separated, still never flaggable with 70 relabellings.
  const b = exportFile('b4.json', 42, { reps: 4, targets: ['host'], slow: { workload: 'randread', target: 'host', p99: 1.5 } });
  const r = runCli(['ab', '--baseline', a, '--candidate', b]);
  t.is(r.code, 125, r.stdout);
  t.is(r.stderr.trim(), 'isoprobe: the gate cannot decide: with 4 and 4 repetitions the smallest p the permutation test can reach is 1/70 = 0.014, above alpha 0.01: no change, however large, could be flagged; at alpha 0.01 it needs at least 5 repetitions a side');
  t.is(runCli(['ab', '--baseline', a, '--candidate', b, '--alpha', '0.05']).code, 1, 'at alpha 0.05, 4 a side can decide, and this one regressed');
  const run = runCli(['ab', '--run', '--unpaired', '--baseline', 'host', '--candidate', 'runc', '--reps', '3']);
  t.is(run.code, 2);
  t.is(run.stderr.trim(), 'isoprobe: --reps 3: with 3 and 3 repetitions the smallest p the permutation test can reach is 1/20 = 0.050, above alpha 0.01: no change, however large, could be flagged; at alpha 0.01 it needs at least 5 repetitions a side');
});

test('every table prints the p of the direction the cell moved, also where that move is not significant', (t) => {
  const a = exportFile('pa.json', 51, { targets: ['host'] });
  // The candidate 3 % faster in one cell: its p99 moved the better way, by too little to be flagged.
  const b = exportFile('pb.json', 52, { targets: ['host'], slow: { workload: 'randwrite', target: 'host', p99: 0.97 } });
  const md = join(tmp.dir, 'p.md');
  const junit = join(tmp.dir, 'p.xml');
  const j = JSON.parse(runCli(['ab', '--baseline', a, '--candidate', b, '--metric', 'p99', '--json']).stdout);
  const cell = j.cells.find((c: { workload: string }) => c.workload === 'randwrite');
  t.true(cell.change.estimate < 1, 'the p99 moved the better way');
  t.is(cell.p, cell.pBetter);
  t.true(cell.pBetter < 0.5 && cell.pWorse > 0.9, `pBetter ${cell.pBetter}, pWorse ${cell.pWorse}: printing pWorse would say "nothing moved"`);
  const printed = cell.p.toPrecision(2);
  const r = runCli(['ab', '--baseline', a, '--candidate', b, '--markdown', md, '--junit', junit, '--metric', 'p99']);
  t.not(r.code, 1, r.stderr);
  const line = r.stdout.split('\n').find((l) => /^randwrite +host +p99/.test(l))!;
  t.regex(line, new RegExp(` ${printed.replace('.', '\\.')} +[0-9.]+ % +(no significant change|improvement|inconclusive)$`), line);
  t.true(readFileSync(md, 'utf8').includes(`| ${printed} |`));
  t.regex(readFileSync(junit, 'utf8'), new RegExp(`p99 [^<]*adjusted p ${printed.replace('.', '\\.')}`));
});

test('a repetition that measured 0 is a failed cell, not a -100 % change', (t) => {
  const side = (label: string, tps: number[]): Side => {
    const r = rng(label.length);
    return { label, results: new Map([['rr', new Map([['host', tps.map((x) => result('tcp_rr', 1, x, r))]])]]) };
  };
  const g = suiteGate(side('a', [3000, 2990, 3010, 3005, 2995]), side('bb', [0, 0, 0, 2990, 3001]), { alpha: 0.01, threshold: 0.05, metrics: ['tps'] });
  t.deepEqual(g.cells, []);
  t.deepEqual(g.notComparable, ['rr on host tps: failed: 0 baseline and 3 candidate repetitions measured 0 (a failed measurement, not a change)']);
  t.is(gateExitCode(g), 125);
});

test('--step-down: the verdicts by step-down max-T, said in the method line; the slower cell still the regression', (t) => {
  const a = exportFile('sd-a.json', 61);
  const b = exportFile('sd-b.json', 62, { slow: { workload: 'randwrite', target: 'qemu-microvm', p99: 1.25 } });
  const r = runCli(['ab', '--baseline', a, '--candidate', b, '--step-down']);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /verdicts and p by step-down max-T, the intervals single-step/);
  const bad = r.stdout.split('\n').filter((l) => /regression$/.test(l));
  t.true(bad.length >= 1 && bad.every((l) => /^randwrite +qemu-microvm /.test(l)), bad.join('\n'));
});
