// Fleets: runs exported on other machines come into one store with their host identity; a run
// already there is refused; a foreign, corrupt or too-new file is refused with one line and left
// byte for byte as it was.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DB_SCHEMA, Store } from '../../lib/store/db';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

const EDGE = { hostname: 'edge-7', kernel: '6.1.0-rpi', cpu: 'Cortex-A76', cpus: 4, mem_bytes: 8e9, machine_id_sha256: '0123456789abcdef' };

function exportOf(started: string): string {
  const result = { kind: 'block', options: { engine: 'psync' }, iops: 5000, probe: { sha256: 'e'.repeat(64) }, latency_ns: { mean: 1, percentiles: { '50': 1 } }, target: { target: 'host', probe_sha256: 'e'.repeat(64), emulated: false } };
  return JSON.stringify({
    run: { id: 12, started_at: started, finished_at: started, status: 'complete', suite: 'quick', reps: 1, targets: 'host', machine: EDGE, command: 'isoprobe compare --targets host', note: null },
    results: [{ workload: 'randread', target: 'host', rep: 0, result }],
    failures: [{ workload: 'uring', target: 'host', rep: 0, code: 'ENOSYS', message: 'io_uring is blocked' }],
  });
}

test.serial('an export from another machine is imported with its host identity and probe hash; a second import is refused', (t) => {
  const db = join(tmp.dir, 'fleet.db');
  const file = join(tmp.dir, 'edge-7.json');
  writeFileSync(file, exportOf('2026-11-20T10:00:00.000Z'));
  const r = runCli(['import', file, '--db', db]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^imported .*edge-7\.json: run 1$/m);
  const store = new Store(db);
  try {
    const run = store.run(1);
    t.deepEqual(JSON.parse(run.machine), EDGE, 'the host identity as measured there');
    t.is(run.started_at, '2026-11-20T10:00:00.000Z');
    t.is(store.results(1)[0]!.probe_sha256, 'e'.repeat(64));
    t.deepEqual(store.failures(1).map((f) => f.code), ['ENOSYS']);
  } finally {
    store.close();
  }
  t.regex(runCli(['history', '--db', db]).stdout, /^\s+1 +2026-11-20T10:00:00\.000Z +complete +edge-7 .* imported$/m);
  const again = runCli(['import', file, '--db', db]);
  t.is(again.code, 1);
  t.regex(again.stdout, /^refused .*edge-7\.json: run [0-9a-f]{16} \(2026-11-20T10:00:00\.000Z on edge-7\) is already in .* as run 1$/m);
});

test.serial('another isoprobe database is imported run by run, and stays byte for byte as it was', (t) => {
  const other = join(tmp.dir, 'other.db');
  const s = new Store(other);
  const id = s.startRun({ suite: 'quick', reps: 1, targets: ['runc'], command: 'isoprobe compare --targets runc' });
  s.addResult(id, 'rr', 'runc', 0, { kind: 'tcp_rr', tps: 1, probe: { sha256: 'f'.repeat(64) }, target: { probe_sha256: 'f'.repeat(64) } });
  s.finishRun(id, 'complete');
  s.close();
  const before = sha(other);
  const db = join(tmp.dir, 'fleet2.db');
  const r = runCli(['import', other, '--db', db]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /imported .*other\.db: run 1/);
  t.is(sha(other), before, 'the imported database is untouched');
  t.is(runCli(['import', other, '--db', db]).code, 1, 'the same run twice is refused');
  t.is(sha(other), before);
});

test('foreign, corrupt and too-new files are refused with one line, and left untouched', (t) => {
  const db = join(tmp.dir, 'fleet3.db');
  const foreign = join(tmp.dir, 'foreign.db');
  const Sqlite = require('better-sqlite3');
  const f = new Sqlite(foreign);
  f.exec('CREATE TABLE photos (id INTEGER)');
  f.close();
  const newer = join(tmp.dir, 'newer.db');
  const n = new Sqlite(newer);
  n.exec("CREATE TABLE isoprobe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO isoprobe_meta VALUES ('schema', '99');");
  n.close();
  const corrupt = join(tmp.dir, 'corrupt.db');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0x5a)]));
  const json = join(tmp.dir, 'notes.json');
  writeFileSync(json, '{"hello": "world"}');
  const cases: [string, RegExp][] = [
    [foreign, /^isoprobe: .*foreign\.db: a SQLite file that is not an isoprobe database \(tables photos\); nothing imported$/],
    [newer, new RegExp(`^isoprobe: .*newer\\.db: isoprobe database schema 99, this isoprobe knows 1 to ${DB_SCHEMA}; nothing imported$`)],
    [corrupt, /^isoprobe: .*corrupt\.db: a corrupt SQLite file \(.*\); nothing imported$/],
    [json, /^isoprobe: .*notes\.json: not an isoprobe export \(expected "run" and "results" as written by isoprobe export --format json\); nothing imported$/],
  ];
  for (const [file, re] of cases) {
    const before = sha(file);
    const r = runCli(['import', file, '--db', db]);
    t.is(r.code, 2, file);
    t.is(r.stderr.trim().split('\n').length, 1, 'one line');
    t.regex(r.stderr.trim(), re);
    t.is(sha(file), before, `${file} untouched`);
  }
});

test.serial('import --node: exports from CI jobs land as nodes of one fleet, reported by node and gated node against node', (t) => {
  const db = join(tmp.dir, 'ci-fleet.db');
  for (const [node, started] of [['pi4', '2026-11-21T10:00:00.000Z'], ['nuc', '2026-11-21T10:05:00.000Z']]) {
    const file = join(tmp.dir, `${node}.json`);
    writeFileSync(file, exportOf(started!));
    const r = runCli(['import', '--node', node!, '--node-groups', node === 'pi4' ? 'arm' : 'x86', '--fleet', 'ci-4711', file, '--db', db]);
    t.is(r.code, 0, r.stderr);
  }
  const store = new Store(db);
  try {
    t.deepEqual(store.runs(5).map((r) => JSON.parse(r.machine)).map((m) => [m.node, m.node_groups, m.fleet, m.hostname]).reverse(),
      [['pi4', ['arm'], 'ci-4711', 'edge-7'], ['nuc', ['x86'], 'ci-4711', 'edge-7']], 'the node beside the identity the machine measured');
  } finally {
    store.close();
  }
  // history names each node run by its node and fleet, not by the one machine both measured on.
  const hist = runCli(['history', '--db', db]).stdout;
  t.regex(hist, /^\s+\d+ +2026-11-21T10:00:00\.000Z +complete +pi4 \(fleet ci-4711\) /m);
  t.regex(hist, /^\s+\d+ +2026-11-21T10:05:00\.000Z +complete +nuc \(fleet ci-4711\) /m);
  const rep = runCli(['report', '--fleet', 'ci-4711', '--db', db, '-o', join(tmp.dir, 'ci.html')]);
  t.is(rep.code, 0, rep.stderr);
  t.regex(rep.stdout, /^ {2}pi4 \* +5,000 IOPS p50 1 ns \(baseline\)$/m);
  t.regex(rep.stdout, /^ {2}nuc +5,000 IOPS p50 1 ns 1\.00x \[no interval: one repetition\]$/m);
  const bad = runCli(['import', '--fleet', 'x', join(tmp.dir, 'pi4.json'), '--db', db]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--fleet goes with --node NAME/);
  const ab = runCli(['ab', '--baseline-node', 'group:arm', '--candidate-node', 'nuc', '--fleet', 'ci-4711', '--db', db]);
  t.is(ab.code, 125, 'one repetition a side: the gate cannot tell, and says why');
  t.regex(ab.stdout, /^isoprobe ab: baseline group:arm \(fleet ci-4711\), candidate nuc \(fleet ci-4711\)$/m);
  t.regex(ab.stdout, /not comparable: randread on host iops: fewer than 3 repetitions on a side \(1 and 1\)/);
  const none = runCli(['ab', '--baseline-node', 'group:mips', '--candidate-node', 'nuc', '--fleet', 'ci-4711', '--db', db]);
  t.is(none.code, 2);
  t.regex(none.stderr, /--baseline-node group:mips: no node of fleet ci-4711 is in group "mips"; expected a node \(pi4, nuc\) or group:NAME \(arm, x86\)/);
});
