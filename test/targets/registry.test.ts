// The target registry is the one list: every target's work folders are found by the leftover scan
// (Cloud Hypervisor's were not: its folders are isoprobe-cloud-hypervisor-*, the scan looked for
// "ch"), and the CLI's choices and `isoprobe targets` show exactly its entries.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { findLeftovers } from '../../lib/targets/leftovers';
import { makeTarget, REGISTRY, TARGET_NAMES } from '../../lib/targets';
import { tempWorkDir, workDirPrefix } from '../../lib/targets/session';
import { runCli } from '../helpers';

test.serial('a work folder of every target is found by the leftover scan, and gone once removed', async (t) => {
  t.true(TARGET_NAMES.includes('cloud-hypervisor'));
  const made = TARGET_NAMES.map((name) => ({ name, w: tempWorkDir(workDirPrefix(name)) }));
  try {
    const left = (await findLeftovers(process.pid)).tempDirs;
    for (const { name, w } of made) t.true(left.some((d) => w.dir.endsWith(d)), `${name}: ${w.dir} is listed`);
  } finally {
    for (const { w } of made) w.remove();
  }
  const after = (await findLeftovers(process.pid)).tempDirs;
  for (const { name, w } of made) t.false(after.some((d) => w.dir.endsWith(d)), `${name}: no longer listed`);
});

test('every entry makes a target of its name, kind and description', (t) => {
  for (const name of TARGET_NAMES) {
    const target = makeTarget(name);
    t.is(target.name, name);
    t.is(target.kind, REGISTRY[name].kind, name);
    t.is(target.description, REGISTRY[name].description, name);
  }
});

test("each description is written once, in the target's own file, and the entry reads it from there", (t) => {
  const dir = join(__dirname, '..', '..', '..', 'lib', 'targets');
  const sources = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => ({ f, text: readFileSync(join(dir, f), 'utf8') }));
  for (const name of TARGET_NAMES) {
    // The description's text up to its first interpolated part (containerd's names its runtime).
    const head = REGISTRY[name].description.slice(0, 24);
    const where = sources.filter((s) => s.text.includes(head.replace(/io\.containerd.*$/, '')));
    t.is(where.length, 1, `${name}: "${head}" in ${where.map((s) => s.f).join(', ')}`);
    t.not(where[0]?.f, 'registry.ts', `${name}: declared by its target's file`);
  }
});

test('the CLI offers exactly the registry\'s targets', (t) => {
  const help = runCli(['run', '--help']).stdout;
  const choices = /where the probe runs: one of ([a-z|-]+),/.exec(help)![1]!.split('|');
  t.deepEqual(choices, TARGET_NAMES);
  const bad = runCli(['compare', '--targets', 'host,chv']);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim(), `isoprobe: --targets "chv": unknown target "chv"; expected one of ${TARGET_NAMES.join(', ')}`);
});
